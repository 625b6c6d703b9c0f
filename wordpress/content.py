"""A WordPress post's content as the HTML source of a cloudblog post.

What WordPress does when it *shows* a post, done once at import:
- block-editor content (`<!-- wp:... -->`) is the blocks' saved HTML: the delimiters go,
  dynamic blocks (self-closing, rendered by PHP at view time) go and are reported;
- classic content gets `wpautop` (paragraphs and line breaks from bare newlines);
- `[caption]` becomes a <figure> with its <figcaption>, `[gallery]` an image grid of the
  imported attachments, `[audio]`/`[video]`/`[embed]` their tags or a link; any other
  shortcode stays as text and is reported;
- links to the old site: images in its uploads become media library items
  (`<img src="media:42">`, rendered responsive), links to its files their new URL, and
  every other link to the old site a path on this one, which the old-URL redirects
  (wordpress/redirects.py) answer.
The result is HTML *source*: the blog's service renders and sanitizes it for the
importing user's role, as it does for anything typed in the editor.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from wordpress.autop import wpautop

UPLOADS = "/wp-content/uploads/"
# `<!-- wp:name {"json"} -->`, `<!-- /wp:name -->`, `<!-- wp:name /-->`
_BLOCK = re.compile(
    r"<!--\s+(/)?wp:([a-z][a-z0-9_-]*(?:/[a-z][a-z0-9_-]*)?)\s+(?:\{.*?\}\s+)?(/)?-->", re.S
)
_SHORTCODE = re.compile(
    r"\[(\[?)([a-zA-Z][\w-]*)(?=[\s\]/])([^\]]*?)(/?)\](?:(.*?)\[/\2\])?(\]?)", re.S
)
_ATTS = re.compile(
    r"""([\w-]+)\s*=\s*"([^"]*)"(?:\s|$)|([\w-]+)\s*=\s*'([^']*)'(?:\s|$)"""
    r"""|([\w-]+)\s*=\s*([^\s'"]+)(?:\s|$)|"([^"]*)"(?:\s|$)|'([^']*)'(?:\s|$)|(\S+)(?:\s|$)"""
)
_CAPTION_BODY = re.compile(r"((?:<a [^>]+>\s*)?<img [^>]+>(?:\s*</a>)?)(.*)", re.S | re.I)
_TAG = re.compile(r"<(img|a|source|video|audio|iframe)\b[^>]*>", re.I)
_ATTR = re.compile(r"""\b(href|src|srcset|poster)\s*=\s*(["'])(.*?)\2""", re.I | re.S)
_WP_IMAGE_CLASS = re.compile(r"""\bclass\s*=\s*["'][^"']*\bwp-image-(\d+)\b""", re.I)
_SIZE_SUFFIX = re.compile(r"-\d+x\d+(?=\.\w+$)")
_TOKEN = "WPIMPORTTOKEN"  # noqa: S105  a placeholder, not a secret
_TOKEN_PARAGRAPH = re.compile(rf"(?:<p>)?\s*{_TOKEN}(\d+)\s*(?:</p>)?")
# Shortcodes WordPress itself would answer (the ones turned into HTML here, plus these).
_KNOWN = {"caption", "wp_caption", "gallery", "audio", "video", "embed", "playlist"}


@dataclass
class Site:
    """What the conversion needs to know about the old site and the imported media."""

    bases: tuple[str, ...] = ()  # the old site's URLs, e.g. "http://example.com/blog"
    media_by_path: Callable[[str], int | None] = lambda path: None  # path under uploads/
    media_by_wp_id: Callable[[int], int | None] = lambda wp_id: None
    media_children: Callable[[int], list[int]] = lambda wp_id: []  # attachments of a post
    media_url: Callable[[int], str] = lambda pk: ""
    # An attachment's URL wherever it was served (a CDN, WordPress.com) -> media pk
    media_by_url: Callable[[str], int | None] = lambda url: None


@dataclass
class Converted:
    html: str
    notes: list[str] = field(default_factory=list)  # unknown shortcodes, dynamic blocks


def _atts(text: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in _ATTS.finditer(text.strip()):
        if m.group(1):
            found[m.group(1).lower()] = m.group(2)
        elif m.group(3):
            found[m.group(3).lower()] = m.group(4)
        elif m.group(5):
            found[m.group(5).lower()] = m.group(6)
    return found


def _strip_blocks(content: str, notes: list[str]) -> str:
    def replace(m: re.Match) -> str:
        if m.group(3):  # self-closing: a dynamic block, which PHP renders at view time
            notes.append(f"dynamic block wp:{m.group(2)} left out")
        return ""

    return _BLOCK.sub(replace, content)


def _caption(atts: dict[str, str], inner: str) -> str:
    m = _CAPTION_BODY.match(inner.strip())
    image, text = (m.group(1), m.group(2).strip()) if m else (inner.strip(), "")
    text = text or atts.get("caption", "")
    align = html.escape(atts.get("align", "alignnone"))
    attrs = f'class="wp-caption {align}"'
    if atts.get("id"):
        attrs = f'id="{html.escape(atts["id"])}" ' + attrs
    width = atts.get("width", "")
    if width.isdigit():
        attrs += f' style="width: {int(width)}px"'
    caption = f'<figcaption class="wp-caption-text">{text}</figcaption>' if text else ""
    return f"<figure {attrs}>{image}{caption}</figure>"


def _gallery(atts: dict[str, str], post_wp_id: int, site: Site, notes: list[str]) -> str:
    if atts.get("ids"):
        wanted = [int(x) for x in re.findall(r"\d+", atts["ids"])]
        media = [pk for wp_id in wanted if (pk := site.media_by_wp_id(wp_id))]
    else:
        media = site.media_children(post_wp_id)
    if not media:
        notes.append("gallery with no imported images left out")
        return ""
    columns = atts.get("columns", "3")
    columns = columns if columns.isdigit() else "3"
    figures = "".join(
        f'<figure class="gallery-item"><img src="media:{pk}" alt=""></figure>' for pk in media
    )
    return f'<div class="gallery gallery-columns-{columns}">{figures}</div>'


def _media_tag(kind: str, atts: dict[str, str], inner: str) -> str:
    src = atts.get("src") or next(
        (v for k, v in atts.items() if k in ("mp3", "m4a", "ogg", "wav", "mp4", "webm", "ogv")),
        inner.strip(),
    )
    if not src:
        return ""
    return f'<{kind} controls src="{html.escape(src)}"></{kind}>'


def _shortcodes(content: str, post_wp_id: int, site: Site, notes: list[str]):
    """Replace the shortcodes we know; return the text and the blocks to put back after
    wpautop (so that it does not wrap a grid in a paragraph)."""
    placed: list[str] = []

    def put(markup: str) -> str:
        placed.append(markup)
        return f"\n\n{_TOKEN}{len(placed) - 1}\n\n"

    def replace(m: re.Match) -> str:
        if m.group(1) == "[" and m.group(6) == "]":  # [[escaped]] is shown as [escaped]
            return m.group(0)[1:-1]
        name, atts, inner = m.group(2).lower(), _atts(m.group(3)), m.group(5) or ""
        if name in ("caption", "wp_caption"):
            return _caption(atts, inner)
        if name == "gallery":
            return put(_gallery(atts, post_wp_id, site, notes))
        if name in ("audio", "video"):
            return put(_media_tag(name, atts, inner))
        if name == "embed":
            url = html.escape(inner.strip() or atts.get("src", ""))
            return f'<a href="{url}">{url}</a>' if url else ""
        if name not in _KNOWN:
            notes.append(f"unknown shortcode [{m.group(2)}] kept as text")
        return m.group(0)

    return _SHORTCODE.sub(replace, content), placed


def _old_path(url: str, site: Site) -> str | None:
    """The path (with query and fragment) of a URL on the old site, else None."""
    if url.startswith(UPLOADS):
        return url
    if "://" not in url[:12] and not url.startswith("//"):
        return None
    parts = urlsplit(url)
    here = f"//{parts.netloc.lower()}{parts.path}"
    for base in site.bases:
        old = urlsplit(base)
        prefix = f"//{old.netloc.lower()}{old.path.rstrip('/')}"
        if here == prefix or here.startswith(prefix + "/"):
            path = here[len(prefix) :] or "/"
            return (
                path
                + (f"?{parts.query}" if parts.query else "")
                + (f"#{parts.fragment}" if parts.fragment else "")
            )
    return None


def _upload_media(path: str, site: Site) -> int | None:
    if not path.startswith(UPLOADS):
        return None
    rel = path[len(UPLOADS) :].split("?")[0].split("#")[0]
    return site.media_by_path(rel) or site.media_by_path(_SIZE_SUFFIX.sub("", rel))


def _rewrite_tag(tag: str, site: Site) -> str:
    is_img = tag[:4].lower() == "<img"
    media_pk = None
    if is_img:
        m = _WP_IMAGE_CLASS.search(tag)
        if m:
            media_pk = site.media_by_wp_id(int(m.group(1)))

    def attr(m: re.Match) -> str:
        nonlocal media_pk
        name, quote, value = m.group(1).lower(), m.group(2), html.unescape(m.group(3))
        if name == "srcset":
            return ""  # the library makes its own; the old one names the old site's files
        path = _old_path(value.strip(), site)
        elsewhere = None
        if path is None and "//" in value[:10]:
            elsewhere = site.media_by_url(value.strip())
            if elsewhere is None:
                return m.group(0)
            path = value.strip()
        if path is None:
            return m.group(0)
        pk = elsewhere or _upload_media(path, site)
        if is_img and name == "src":
            media_pk = media_pk or pk
            if media_pk:
                return f'src="media:{media_pk}"'
        elif pk:
            path = site.media_url(pk) or path
        return f"{m.group(1)}={quote}{html.escape(path)}{quote}"

    out = _ATTR.sub(attr, tag)
    if is_img and media_pk:
        # The class only named the attachment; the library item now says which it is.
        out = re.sub(r"\s*\bwp-image-\d+\b", "", out)
        out = re.sub(r"""\s\bclass\s*=\s*(["'])\s*\1""", "", out)
    if is_img and media_pk and "media:" not in out:
        out = re.sub(r"^<img\b", f'<img src="media:{media_pk}"', out, flags=re.I)
    if is_img and media_pk:
        out = re.sub(r"""\s\bsizes\s*=\s*(["']).*?\1""", "", out, flags=re.I)
    return out


def rewrite_links(text: str, site: Site) -> str:
    return _TAG.sub(lambda m: _rewrite_tag(m.group(0), site), text)


def convert(content: str, *, post_wp_id: int = 0, site: Site | None = None) -> Converted:
    site = site or Site()
    notes: list[str] = []
    blocks = "<!-- wp:" in content
    if blocks:
        content = _strip_blocks(content, notes)
    content, placed = _shortcodes(content, post_wp_id, site, notes)
    if not blocks:
        content = wpautop(content)
    if placed:
        content = _TOKEN_PARAGRAPH.sub(lambda m: placed[int(m.group(1))], content)
    content = rewrite_links(content, site)
    return Converted(content.strip(), sorted(set(notes)))
