"""Media items as HTML: responsive <img> markup, and the expansion of post placeholders.

In a post, `![alt text](media:42)` (Markdown) or `<img src="media:42" alt="...">` (HTML)
names library item 42. Rendering keeps it as a sanitized placeholder
(`<img data-media-id="42" alt="...">`) in `body_html`; it is expanded here when the page
is shown, from the item's row alone (no store lookups), so a page always reflects the
renditions that exist now and the store the files are really in.

The markup, WordPress-like:

    <picture><source type="image/webp" srcset="... 300w, ... 768w" sizes="...">
    <img src="full" srcset="... 300w, ..." sizes="..." width height alt
         loading="lazy" decoding="async"></picture>

Before the renditions exist, only the scaled "full" image (and its WebP twin) is offered.
Every tag and attribute used here is in the post allowlist of blog/rendering.py
(tests/media_library/test_render.py checks that the sanitizer keeps this markup unchanged), and
every value is escaped.
"""

from __future__ import annotations

import html
import re

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe

from media_library.files import WEBP_SUFFIX
from media_library.models import MediaItem

# The theme's text column (--measure: 42rem): an image is never shown wider than this.
CONTENT_WIDTH = 672
# `media:42` as an <img> source, before sanitizing; the placeholder it becomes, after.
_SOURCE_SRC = re.compile(r"""(<img\b[^>]*?)\bsrc\s*=\s*["']media:(\d+)["']""", re.I)
_PLACEHOLDER = re.compile(r'<img\b[^>]*?\bdata-media-id="(\d+)"[^>]*>')
_PLACEHOLDER_ID = re.compile(r'\bdata-media-id="(\d+)"')
# Any way a source can name an item: `media:42`, or a placeholder typed by hand.
_SOURCE_ID = re.compile(r"""\bmedia:(\d+)|\bdata-media-id\s*=\s*["']?(\d+)""", re.I)
_ATTRIBUTE = {name: re.compile(rf'\b{name}="([^"]*)"') for name in ("alt", "title")}
# A crop has another aspect ratio: it cannot stand in for the image in a srcset.
_NOT_IN_SRCSET = {"thumbnail", "thumbnail" + WEBP_SUFFIX}


def _srcset(item: MediaItem, entries: list[dict]) -> str:
    seen: set[int] = set()
    parts = []
    for entry in sorted(entries, key=lambda e: e["width"]):
        if entry["width"] in seen:
            continue
        seen.add(entry["width"])
        parts.append(f"{item.url(entry['file'])} {entry['width']}w")
    return ", ".join(parts)


def media_img(
    item: MediaItem | None,
    *,
    alt: str | None = None,
    title: str = "",
    css_class: str = "",
    max_width: int = CONTENT_WIDTH,
    lazy: bool = True,
) -> SafeString:
    """The <picture>/<img> for an item; empty when there is nothing to show."""
    if item is None or not item.renditions:
        return mark_safe("")
    full = item.rendition("full") or item.renditions[0]
    usable = [r for r in item.renditions if r["name"] not in _NOT_IN_SRCSET]
    webp = [r for r in usable if r["name"].endswith(WEBP_SUFFIX)]
    plain = [r for r in usable if not r["name"].endswith(WEBP_SUFFIX)]
    shown = min(full["width"], max_width)
    sizes = f"(max-width: {shown}px) 100vw, {shown}px"
    img_attrs: list[tuple[str, object]] = [("src", item.url(full["file"]))]
    if len(plain) > 1:
        img_attrs += [("srcset", _srcset(item, plain)), ("sizes", sizes)]
    img_attrs += [
        ("width", full["width"]),
        ("height", full["height"]),
        ("alt", item.alt_text if alt is None else alt),
    ]
    if title:
        img_attrs.append(("title", title))
    if css_class:
        img_attrs.append(("class", css_class))
    if lazy:
        img_attrs += [("loading", "lazy"), ("decoding", "async")]
    img = format_html(
        "<img {}>", format_html_join(" ", '{}="{}"', img_attrs)
    )  # every value escaped
    if not webp:
        return img
    source = format_html(
        '<source type="image/webp" srcset="{}" sizes="{}">', _srcset(item, webp), sizes
    )
    return format_html("<picture>{}{}</picture>", source, img)


def media_placeholders(html_source: str) -> str:
    """`<img src="media:42">` becomes `<img data-media-id="42">`, which the sanitizer keeps
    (data-*) and `media_expand` turns into markup when the page is shown."""
    return _SOURCE_SRC.sub(r'\1data-media-id="\2"', html_source)


def media_ids_in(body_html: str) -> set[int]:
    """The items a rendered, sanitized body shows."""
    return {int(pk) for pk in _PLACEHOLDER_ID.findall(body_html)}


def media_ids_in_source(text: str) -> set[int]:
    """The items a source (Markdown or HTML, before rendering) names, however it names them."""
    return {int(a or b) for a, b in _SOURCE_ID.findall(text)}


def media_expand(body_html: str, items: dict[int, MediaItem] | None = None) -> str:
    """Replace the placeholders of a sanitized body with each item's markup (one query).

    An item that no longer exists leaves nothing behind but its alt text. A caller that
    expands many bodies passes `items`, loaded at once for all of them (see the API's
    collections), so the number of queries does not grow with the bodies.
    """
    ids = {int(pk) for pk in _PLACEHOLDER.findall(body_html)}
    if not ids:
        return body_html
    if items is None:
        items = MediaItem.objects.in_bulk(ids)

    def replace(match: re.Match) -> str:
        tag = match.group(0)
        found = {k: p.search(tag) for k, p in _ATTRIBUTE.items()}
        # The sanitizer escaped these; format_html escapes again, so undo it first.
        alt = html.unescape(found["alt"].group(1)) if found["alt"] else None
        title = html.unescape(found["title"].group(1)) if found["title"] else ""
        item = items.get(int(match.group(1)))
        if item is None:
            return format_html("{}", alt or "")
        return media_img(item, alt=alt or None, title=title)

    return _PLACEHOLDER.sub(replace, body_html)
