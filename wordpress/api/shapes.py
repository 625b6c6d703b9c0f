"""cloudblog's rows in WordPress's field names and shapes (users, terms, comments, media).

Pure functions of a row, what was loaded with it, and the Call (for links and context):
no function here queries the database, so a collection costs what its loader costs.
Posts and pages are in wordpress/api/post_shapes.py.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape, linebreaks
from django.utils.text import slugify

from blog import roles
from blog.models import Category, Comment, Tag
from blog.site_settings import site_zone
from media_library.models import MediaItem
from wordpress.api.routing import Call

CURIES = [{"name": "wp", "href": "https://api.w.org/{rel}", "templated": True}]
COMMENT_STATUS = {
    Comment.Status.APPROVED: "approved",
    Comment.Status.PENDING: "hold",
    Comment.Status.SPAM: "spam",
    Comment.Status.TRASH: "trash",
}


def wp_date(value: datetime | None) -> str | None:
    """WordPress's `date`: the site's local time, no offset."""
    if value is None:
        return None
    local = timezone.localtime(value, site_zone())
    return local.replace(tzinfo=None, microsecond=0).isoformat()


def wp_date_gmt(value: datetime | None) -> str | None:
    if value is None:
        return None
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def rendered_text(text: str) -> dict:
    return {"rendered": escape(text)}


def avatar_urls(email: str) -> dict:
    # Gravatar, as WordPress: a hash of the address, never the address.
    digest = hashlib.md5(email.strip().lower().encode(), usedforsecurity=False).hexdigest()
    return {
        size: f"https://secure.gravatar.com/avatar/{digest}?s={size}&d=mm&r=g"
        for size in ("24", "48", "96")
    }


def only(data: dict, names: tuple[str, ...]) -> dict:
    return {k: data[k] for k in names if k in data}


# --- Users --------------------------------------------------------------------

_USER_EMBED = (
    "id", "name", "url", "description", "link", "slug", "avatar_urls", "_links",
)  # fmt: skip


def user_shape(user, call: Call, *, context: str = "view") -> dict:
    data = {
        "id": user.pk,
        "name": user.get_full_name() or user.get_username(),
        "url": "",
        "description": "",
        "link": call.absolute(reverse("blog:author", kwargs={"username": user.get_username()})),
        "slug": user.get_username(),
        "avatar_urls": avatar_urls(user.email or ""),
        "meta": [],
        "_links": {
            "self": [{"href": call.link(f"wp/v2/users/{user.pk}")}],
            "collection": [{"href": call.link("wp/v2/users")}],
        },
    }
    if context == "embed":
        return only(data, _USER_EMBED)
    if context == "edit":
        role = roles.user_role(user)
        data.update(
            {
                "username": user.get_username(),
                "first_name": user.first_name,
                "last_name": user.last_name,
                "email": user.email,
                "nickname": user.get_username(),
                "locale": "en_US",
                "registered_date": wp_date_gmt(user.date_joined)
                and wp_date_gmt(user.date_joined) + "+00:00",
                "roles": [role.lower()] if role else [],
                "capabilities": {
                    p.split(".", 1)[1]: True for p in sorted(user.get_all_permissions())
                },
                "extra_capabilities": {role.lower(): True} if role else {},
            }
        )
    return data


# --- Terms --------------------------------------------------------------------

_TERM_EMBED = (
    "id", "link", "name", "slug", "taxonomy", "_links",
)  # fmt: skip


def term_shape(term: Category | Tag, call: Call, *, context: str = "view", count: int = 0) -> dict:
    is_category = isinstance(term, Category)
    rest = "categories" if is_category else "tags"
    taxonomy = "category" if is_category else "post_tag"
    links = {
        "self": [{"href": call.link(f"wp/v2/{rest}/{term.pk}")}],
        "collection": [{"href": call.link(f"wp/v2/{rest}")}],
        "about": [{"href": call.link(f"wp/v2/taxonomies/{taxonomy}")}],
        "wp:post_type": [{"href": call.link("wp/v2/posts", **{rest: term.pk})}],
        "curies": CURIES,
    }
    data = {
        "id": term.pk,
        "count": count,
        "description": term.description,
        "link": call.absolute(term.get_absolute_url()),
        "name": term.name,
        "slug": term.slug,
        "taxonomy": taxonomy,
    }
    if is_category:
        data["parent"] = term.parent_id or 0
        if term.parent_id:
            links["up"] = [
                {"embeddable": True, "href": call.link(f"wp/v2/categories/{term.parent_id}")}
            ]
    data["meta"] = []
    data["_links"] = links
    return only(data, _TERM_EMBED) if context == "embed" else data


# --- Comments -----------------------------------------------------------------

_COMMENT_EMBED = (
    "id", "author", "author_name", "author_url", "date", "content", "link", "parent",
    "type", "author_avatar_urls", "_links",
)  # fmt: skip


def comment_shape(comment: Comment, call: Call, *, context: str = "view") -> dict:
    links = {
        "self": [{"href": call.link(f"wp/v2/comments/{comment.pk}")}],
        "collection": [{"href": call.link("wp/v2/comments")}],
        "up": [
            {
                "embeddable": True,
                "post_type": "post",
                "href": call.link(f"wp/v2/posts/{comment.post_id}"),
            }
        ],
    }
    if comment.user_id:
        links["author"] = [
            {"embeddable": True, "href": call.link(f"wp/v2/users/{comment.user_id}")}
        ]
    if comment.parent_id:
        links["in-reply-to"] = [
            {"embeddable": True, "href": call.link(f"wp/v2/comments/{comment.parent_id}")}
        ]
    data = {
        "id": comment.pk,
        "post": comment.post_id,
        "parent": comment.parent_id or 0,
        "author": comment.user_id or 0,
        "author_name": comment.author_name,
        "author_url": comment.author_url,
        "date": wp_date(comment.created_at),
        "date_gmt": wp_date_gmt(comment.created_at),
        "content": {"rendered": comment.body_html},
        "link": call.absolute(f"{comment.post.get_absolute_url()}#comment-{comment.pk}"),
        "status": COMMENT_STATUS.get(comment.status, comment.status),
        "type": "comment",
        "author_avatar_urls": avatar_urls(comment.author_email),
        "meta": [],
        "_links": links,
    }
    if context == "embed":
        return only(data, _COMMENT_EMBED)
    if context == "edit":
        data["content"]["raw"] = comment.body
        data["author_email"] = comment.author_email
        data["author_ip"] = comment.ip_address or ""
        data["author_user_agent"] = comment.user_agent
    return data


# --- Media --------------------------------------------------------------------

_MEDIA_EMBED = (
    "id", "date", "slug", "type", "link", "title", "author", "featured_media", "caption",
    "alt_text", "media_type", "mime_type", "media_details", "source_url", "_links",
)  # fmt: skip


def media_shape(
    item: MediaItem, call: Call, *, context: str = "view", post_id: int | None = None
) -> dict:
    source_url = call.absolute(item.url(item.file.name)) if item.file.name else ""
    sizes = {}
    for entry in item.renditions:
        if entry["name"].endswith("-webp"):
            continue
        sizes[entry["name"]] = {
            "file": entry["file"].rsplit("/", 1)[-1],
            "width": entry["width"],
            "height": entry["height"],
            "filesize": entry.get("bytes", 0),
            "mime_type": entry["mime_type"],
            "source_url": call.absolute(item.url(entry["file"])),
        }
    links = {
        "self": [{"href": call.link(f"wp/v2/media/{item.pk}")}],
        "collection": [{"href": call.link("wp/v2/media")}],
        "about": [{"href": call.link("wp/v2/types/attachment")}],
    }
    if item.uploaded_by_id:
        links["author"] = [
            {"embeddable": True, "href": call.link(f"wp/v2/users/{item.uploaded_by_id}")}
        ]
    data = {
        "id": item.pk,
        "date": wp_date(item.created_at),
        "date_gmt": wp_date_gmt(item.created_at),
        "guid": {"rendered": source_url},
        "modified": wp_date(item.created_at),
        "modified_gmt": wp_date_gmt(item.created_at),
        "slug": slugify(item.title) or f"media-{item.pk}",
        "status": "inherit",
        "type": "attachment",
        "link": source_url,
        "title": rendered_text(item.title),
        "author": item.uploaded_by_id or 0,
        "featured_media": 0,
        "comment_status": "closed",
        "ping_status": "closed",
        "template": "",
        "meta": [],
        "description": {"rendered": ""},
        "caption": {"rendered": linebreaks(escape(item.caption)) if item.caption else ""},
        "alt_text": item.alt_text,
        "media_type": "image",
        "mime_type": item.mime_type,
        "media_details": {
            "width": item.width or 0,
            "height": item.height or 0,
            "file": item.file.name,
            "filesize": item.byte_size,
            "sizes": sizes,
            "image_meta": {},
        },
        "post": post_id,
        "source_url": source_url,
        "_links": links,
    }
    if context == "embed":
        return only(data, _MEDIA_EMBED)
    if context == "edit":
        data["title"]["raw"] = item.title
        data["caption"]["raw"] = item.caption
        data["description"]["raw"] = ""
    return data
