"""Posts and pages in WordPress's shape, and what `_embed` adds, loaded in bulk.

`Loaded.for_posts()` fetches everything a page of posts shows or embeds in a fixed
number of queries (media in bodies, replies, parents), so 100 posts with `_embed`
cost what 10 do.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.html import escape

from blog import services
from blog.models import Comment, Post
from media_library.models import MediaItem
from media_library.render import media_expand, media_ids_in
from wordpress.api import shapes
from wordpress.api.routing import Call

_POST_EMBED = (
    "id", "date", "slug", "type", "link", "title", "excerpt", "author", "featured_media",
    "parent", "menu_order", "_links",
)  # fmt: skip
REPLIES_PER_POST = 10


@dataclass
class Loaded:
    media: dict[int, MediaItem] = field(default_factory=dict)
    replies: dict[int, list[Comment]] = field(default_factory=dict)
    parents: dict[int, Post] = field(default_factory=dict)

    @classmethod
    def for_posts(cls, posts: list[Post], embeds: set[str]) -> Loaded:
        loaded = cls()
        ids = set()
        for post in posts:
            ids |= media_ids_in(post.body_html)
        if ids:
            loaded.media = MediaItem.objects.in_bulk(ids)
        if "replies" in embeds and posts:
            public = [p.pk for p in posts if p.is_public and not p.password]
            rows = (
                Comment.objects.approved()
                .filter(post_id__in=public)
                .select_related("post")
                .order_by("-created_at", "-id")
            )
            for comment in rows:
                bucket = loaded.replies.setdefault(comment.post_id, [])
                if len(bucket) < REPLIES_PER_POST:
                    bucket.append(comment)
        if "up" in embeds:
            parent_ids = {p.parent_id for p in posts if p.parent_id}
            if parent_ids:
                loaded.parents = Post.objects.published().in_bulk(parent_ids)
        return loaded


def _content_visible(post: Post, call: Call, *, can_edit: bool) -> bool:
    if not post.password:
        return True
    return can_edit or call.args.get("password") == post.password


def _links(post: Post, call: Call) -> dict:
    rest = "pages" if post.is_page else "posts"
    links = {
        "self": [{"href": call.link(f"wp/v2/{rest}/{post.pk}")}],
        "collection": [{"href": call.link(f"wp/v2/{rest}")}],
        "about": [{"href": call.link(f"wp/v2/types/{post.kind}")}],
        "author": [{"embeddable": True, "href": call.link(f"wp/v2/users/{post.author_id}")}],
        "replies": [{"embeddable": True, "href": call.link("wp/v2/comments", post=post.pk)}],
    }
    if post.featured_image_id:
        links["wp:featuredmedia"] = [
            {"embeddable": True, "href": call.link(f"wp/v2/media/{post.featured_image_id}")}
        ]
    links["wp:attachment"] = [{"href": call.link("wp/v2/media", parent=post.pk)}]
    if post.is_page:
        if post.parent_id:
            links["up"] = [{"embeddable": True, "href": call.link(f"wp/v2/pages/{post.parent_id}")}]
    else:
        links["wp:term"] = [
            {
                "taxonomy": "category",
                "embeddable": True,
                "href": call.link("wp/v2/categories", post=post.pk),
            },
            {
                "taxonomy": "post_tag",
                "embeddable": True,
                "href": call.link("wp/v2/tags", post=post.pk),
            },
        ]
    links["curies"] = shapes.CURIES
    return links


def wp_status(post: Post) -> str:
    if post.status == Post.Status.FUTURE and post.is_public:
        return Post.Status.PUBLISHED.value
    return post.status


def post_shape(post: Post, call: Call, loaded: Loaded, *, context: str, can_edit: bool) -> dict:
    visible = _content_visible(post, call, can_edit=can_edit)
    date = post.published_at or post.created_at
    content = media_expand(post.body_html, loaded.media) if visible else ""
    excerpt = f"<p>{escape(post.get_excerpt())}</p>\n" if visible else ""
    data = {
        "id": post.pk,
        "date": shapes.wp_date(date),
        "date_gmt": shapes.wp_date_gmt(post.published_at),
        "guid": {"rendered": call.absolute(f"/?p={post.pk}")},
        "modified": shapes.wp_date(post.updated_at),
        "modified_gmt": shapes.wp_date_gmt(post.updated_at),
        "slug": post.slug,
        "status": wp_status(post),
        "type": post.kind,
        "link": call.absolute(post.get_absolute_url()),
        "title": shapes.rendered_text(post.title),
        "content": {"rendered": content, "protected": bool(post.password)},
        "excerpt": {"rendered": excerpt, "protected": bool(post.password)},
        "author": post.author_id,
        "featured_media": post.featured_image_id or 0,
        "comment_status": post.comment_status,
        "ping_status": "closed",
    }
    if post.is_page:
        data["parent"] = post.parent_id or 0
        data["menu_order"] = post.menu_order
        data["template"] = ""
        data["meta"] = []
    else:
        data.update(
            {
                "sticky": post.sticky,
                "template": "",
                "format": "standard",
                "meta": [],
                "categories": [c.pk for c in post.categories.all()],
                "tags": [t.pk for t in post.tags.all()],
            }
        )
    data["_links"] = _links(post, call)
    if context == "embed":
        return shapes.only(data, _POST_EMBED)
    if context == "edit" and can_edit:
        data["title"]["raw"] = post.title
        data["content"]["raw"] = post.body
        data["excerpt"]["raw"] = post.excerpt
        data["guid"]["raw"] = data["guid"]["rendered"]
        data["password"] = post.password
        data["permalink_template"] = data["link"]
        data["generated_slug"] = post.slug
    return data


def embedded(post: Post, call: Call, loaded: Loaded, embeds: set[str]) -> dict:
    """`_embedded` for one post: each wanted, embeddable link's target in `embed` context."""
    out: dict = {}
    if "author" in embeds and post.author_id:
        out["author"] = [shapes.user_shape(post.author, call, context="embed")]
    if "wp:featuredmedia" in embeds and post.featured_image_id and post.featured_image:
        out["wp:featuredmedia"] = [shapes.media_shape(post.featured_image, call, context="embed")]
    if "wp:term" in embeds and not post.is_page:
        out["wp:term"] = [
            [shapes.term_shape(c, call, context="embed") for c in post.categories.all()],
            [shapes.term_shape(t, call, context="embed") for t in post.tags.all()],
        ]
    if "replies" in embeds and post.pk in loaded.replies:
        out["replies"] = [
            [shapes.comment_shape(c, call, context="embed") for c in loaded.replies[post.pk]]
        ]
    if "up" in embeds and post.parent_id in loaded.parents:
        parent = loaded.parents[post.parent_id]
        out["up"] = [post_shape(parent, call, loaded, context="embed", can_edit=False)]
    return out


def shape_posts(posts: list[Post], call: Call, embeds: set[str]) -> list[dict]:
    loaded = Loaded.for_posts(posts, embeds)
    context = call.context
    items = []
    for post in posts:
        can_edit = services.post_can_edit(user=call.user, post=post)
        data = post_shape(post, call, loaded, context=context, can_edit=can_edit)
        if embeds:
            extra = embedded(post, call, loaded, embeds)
            if extra:
                data["_embedded"] = extra
        items.append(data)
    return items
