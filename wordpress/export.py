"""The site as a WordPress export (WXR 1.2) that WordPress's importer, and ours, accept.

Streamed: `wxr_export()` yields the file in pieces, reading posts in chunks, so a large
site never sits in memory. Content is each post's rendered, sanitized HTML wrapped in a
Custom HTML block (`<!-- wp:html -->`), so WordPress shows it as it looked here and
neither importer adds paragraphs to it; library images become WordPress images of their
attachment (`<img class="wp-image-N" src=...>`). Ids: posts and pages keep theirs;
attachments are numbered after the highest post id (WordPress shares one id space).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC
from xml.sax.saxutils import escape, quoteattr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Max, Prefetch
from django.utils import timezone

from blog.models import Category, Comment, Post, Tag
from blog.site_settings import site_settings
from media_library.models import MediaItem
from wordpress.models import ImportedItem

_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_PLACEHOLDER = re.compile(r'<img\b[^>]*?\bdata-media-id="(\d+)"[^>]*>')
_ALT = re.compile(r'\balt="([^"]*)"')
CHUNK = 200


def _text(value) -> str:
    return escape(_XML_ILLEGAL.sub("", str(value)))


def _cdata(value: str) -> str:
    value = _XML_ILLEGAL.sub("", value or "")
    return "<![CDATA[" + value.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _el(name: str, value, cdata: bool = False) -> str:
    return f"<{name}>{_cdata(str(value)) if cdata else _text(value)}</{name}>"


def _dates(when) -> tuple[str, str]:
    if when is None:
        return "0000-00-00 00:00:00", "0000-00-00 00:00:00"
    local = timezone.localtime(when).strftime("%Y-%m-%d %H:%M:%S")
    return local, when.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def _meta(key: str, value) -> str:
    return (
        f"<wp:postmeta>{_el('wp:meta_key', key)}{_el('wp:meta_value', value, True)}</wp:postmeta>"
    )


def _absolute(url: str, base: str) -> str:
    return url if "://" in url else base + url


def _channel_head(base: str) -> str:
    now = timezone.now()
    return (
        '<?xml version="1.0" encoding="UTF-8" ?>\n'
        '<!-- generator="cloudblog" -->\n'
        '<rss version="2.0"\n'
        '\txmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"\n'
        '\txmlns:content="http://purl.org/rss/1.0/modules/content/"\n'
        '\txmlns:wfw="http://wellformedweb.org/CommentAPI/"\n'
        '\txmlns:dc="http://purl.org/dc/elements/1.1/"\n'
        '\txmlns:wp="http://wordpress.org/export/1.2/"\n>\n<channel>\n'
        f"\t{_el('title', site_settings().title)}\n\t{_el('link', base)}\n"
        f"\t{_el('description', site_settings().description)}\n"
        f"\t{_el('pubDate', now.strftime('%a, %d %b %Y %H:%M:%S +0000'))}\n"
        f"\t{_el('language', settings.LANGUAGE_CODE)}\n"
        "\t<wp:wxr_version>1.2</wp:wxr_version>\n"
        f"\t{_el('wp:base_site_url', base)}\n\t{_el('wp:base_blog_url', base)}\n"
    )


def _authors() -> Iterator[str]:
    authors = get_user_model().objects.filter(posts__isnull=False).distinct().order_by("pk")
    for user in authors:
        name = user.get_full_name() or user.get_username()
        yield (
            f"\t<wp:author>{_el('wp:author_id', user.pk)}"
            f"{_el('wp:author_login', user.get_username(), True)}"
            f"{_el('wp:author_email', user.email, True)}"
            f"{_el('wp:author_display_name', name, True)}"
            f"{_el('wp:author_first_name', user.first_name, True)}"
            f"{_el('wp:author_last_name', user.last_name, True)}</wp:author>\n"
        )


def _terms() -> Iterator[str]:
    slugs = dict(Category.objects.values_list("pk", "slug"))
    for c in Category.objects.order_by("pk"):
        yield (
            f"\t<wp:category>{_el('wp:term_id', c.pk)}{_el('wp:category_nicename', c.slug)}"
            f"{_el('wp:category_parent', slugs.get(c.parent_id, ''))}"
            f"{_el('wp:cat_name', c.name, True)}"
            f"{_el('wp:category_description', c.description, True)}</wp:category>\n"
        )
    for t in Tag.objects.order_by("pk"):
        yield (
            f"\t<wp:tag>{_el('wp:term_id', t.pk)}{_el('wp:tag_slug', t.slug)}"
            f"{_el('wp:tag_name', t.name, True)}"
            f"{_el('wp:tag_description', t.description, True)}</wp:tag>\n"
        )


def _attachments(base: str, offset: int) -> Iterator[str]:
    parents = {}
    for media_id, post_id in Post.media_items.through.objects.order_by("post_id").values_list(
        "mediaitem_id", "post_id"
    ):
        parents.setdefault(media_id, post_id)
    for m in MediaItem.objects.select_related("uploaded_by").order_by("pk").iterator(CHUNK):
        if not m.file.name:
            continue
        url = _absolute(m.get_absolute_url(), base)
        local, gmt = _dates(m.created_at)
        login = m.uploaded_by.get_username() if m.uploaded_by else ""
        yield (
            f"\t<item>{_el('title', m.title)}{_el('link', url)}{_el('guid', url)}"
            f"{_el('dc:creator', login, True)}<description></description>"
            f"{_el('content:encoded', '', True)}{_el('excerpt:encoded', m.caption, True)}"
            f"{_el('wp:post_id', offset + m.pk)}{_el('wp:post_date', local)}"
            f"{_el('wp:post_date_gmt', gmt)}<wp:comment_status>closed</wp:comment_status>"
            f"<wp:ping_status>closed</wp:ping_status>{_el('wp:post_name', f'media-{m.pk}')}"
            f"<wp:status>inherit</wp:status>{_el('wp:post_parent', parents.get(m.pk, 0))}"
            f"<wp:menu_order>0</wp:menu_order><wp:post_type>attachment</wp:post_type>"
            f"<wp:post_password></wp:post_password><wp:is_sticky>0</wp:is_sticky>"
            f"{_el('wp:attachment_url', url)}{_meta('_wp_attached_file', m.file.name)}"
            f"{_meta('_wp_attachment_image_alt', m.alt_text)}</item>\n"
        )


def _content(post: Post, media: dict[int, tuple[str, int]]) -> str:
    def image(match: re.Match) -> str:
        pk = int(match.group(1))
        if pk not in media:
            return ""
        url, wp_id = media[pk]
        alt = _ALT.search(match.group(0))
        alt_attr = f' alt="{alt.group(1)}"' if alt else ""
        return f'<img class="wp-image-{wp_id}" src="{url}"{alt_attr}>'

    html = _PLACEHOLDER.sub(image, post.body_html)
    return f"<!-- wp:html -->\n{html}\n<!-- /wp:html -->" if html else ""


def _comment(c: Comment, types: dict[int, str]) -> str:
    local, gmt = _dates(c.created_at)
    approved = {"approved": "1", "pending": "0"}.get(c.status, c.status)
    return (
        f"<wp:comment>{_el('wp:comment_id', c.pk)}"
        f"{_el('wp:comment_author', c.author_name, True)}"
        f"{_el('wp:comment_author_email', c.author_email, True)}"
        f"{_el('wp:comment_author_url', c.author_url)}"
        f"{_el('wp:comment_author_IP', c.ip_address or '')}"
        f"{_el('wp:comment_date', local)}{_el('wp:comment_date_gmt', gmt)}"
        f"{_el('wp:comment_content', c.body, True)}{_el('wp:comment_approved', approved)}"
        f"{_el('wp:comment_type', types.get(c.pk, 'comment'))}"
        f"{_el('wp:comment_parent', c.parent_id or 0)}"
        f"{_el('wp:comment_user_id', c.user_id or 0)}</wp:comment>"
    )


def _item(post: Post, base: str, media: dict, types: dict, formats: dict) -> str:
    link = _absolute(post.get_absolute_url(), base)
    local, gmt = _dates(post.published_at)
    if post.published_at is None:  # a "floating" draft, as WordPress marks it
        local, gmt = _dates(post.created_at)[0], "0000-00-00 00:00:00"
    parts = [
        f"\t<item>{_el('title', post.title)}{_el('link', link)}",
        f'<guid isPermaLink="false">{_text(f"{base}/?p={post.pk}")}</guid>',
        f"{_el('dc:creator', post.author.get_username(), True)}<description></description>",
        f"{_el('content:encoded', _content(post, media), True)}",
        f"{_el('excerpt:encoded', post.excerpt, True)}{_el('wp:post_id', post.pk)}",
        f"{_el('wp:post_date', local)}{_el('wp:post_date_gmt', gmt)}",
        f"{_el('wp:comment_status', post.comment_status)}<wp:ping_status>closed</wp:ping_status>",
        f"{_el('wp:post_name', post.slug)}{_el('wp:status', post.status)}",
        f"{_el('wp:post_parent', post.parent_id or 0)}{_el('wp:menu_order', post.menu_order)}",
        f"{_el('wp:post_type', post.kind)}{_el('wp:post_password', post.password, True)}",
        f"{_el('wp:is_sticky', int(post.sticky))}",
    ]
    for c in post.categories.all():
        parts.append(f"<category domain=\"category\" nicename={quoteattr(c.slug)}>"
                     f"{_cdata(c.name)}</category>")  # fmt: skip
    for t in post.tags.all():
        parts.append(f"<category domain=\"post_tag\" nicename={quoteattr(t.slug)}>"
                     f"{_cdata(t.name)}</category>")  # fmt: skip
    if post.pk in formats:
        slug = f"post-format-{formats[post.pk]}"
        parts.append(f'<category domain="post_format" nicename={quoteattr(slug)}>'
                     f"{_cdata(formats[post.pk].title())}</category>")  # fmt: skip
    if post.featured_image_id in media:
        parts.append(_meta("_thumbnail_id", media[post.featured_image_id][1]))
    if post.status == Post.Status.TRASH:
        parts.append(_meta("_wp_trash_meta_status", post.status_before_trash or "draft"))
        if post.trashed_at:
            parts.append(_meta("_wp_trash_meta_time", int(post.trashed_at.timestamp())))
    parts.extend(_comment(c, types) for c in post.comments.all())
    parts.append("</item>\n")
    return "".join(parts)


def site_base() -> str:
    return (getattr(settings, "SITE_URL", "") or "http://localhost").rstrip("/")


def wxr_export(*, base: str | None = None) -> Iterator[str]:
    """The whole site as WXR 1.2, in pieces."""
    base = (base or site_base()).rstrip("/")
    offset = (Post.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    media = {
        m.pk: (_absolute(m.get_absolute_url(), base), offset + m.pk)
        for m in MediaItem.objects.only("pk", "file", "store").iterator(CHUNK)
        if m.file.name
    }
    types = {
        pk: meta["type"]
        for pk, meta in ImportedItem.objects.filter(kind="comment")
        .exclude(meta={})
        .values_list("comment_id", "meta")
        if meta.get("type")
    }
    formats = {
        pk: meta["format"]
        for pk, meta in ImportedItem.objects.filter(kind="post")
        .exclude(meta={})
        .values_list("post_id", "meta")
        if meta.get("format")
    }
    yield _channel_head(base)
    yield from _authors()
    yield from _terms()
    yield from _attachments(base, offset)
    posts = (
        Post.objects.select_related("author")
        .prefetch_related(
            "categories",
            "tags",
            Prefetch("comments", queryset=Comment.objects.order_by("created_at", "pk")),
        )
        .order_by("pk")
    )
    for post in posts.iterator(CHUNK):
        yield _item(post, base, media, types, formats)
    yield "</channel>\n</rss>\n"
