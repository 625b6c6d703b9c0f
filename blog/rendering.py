"""Markdown/HTML to safe HTML.

Three allowlists, as in WordPress: the short comment list, the post list for
authors and contributors, and a wider post list (iframes, embeds) for editors and
administrators. Nothing executable survives any of them: no script, no event
handler attribute, no javascript:/vbscript:/data: URL, no CSS that loads code.
"""

from __future__ import annotations

import re
from functools import cache, lru_cache

import nh3
from django.utils.html import linebreaks
from markdown_it import MarkdownIt

from media_library.render import media_placeholders

_URL_ATTRIBUTES = {"href", "src", "cite", "poster", "action", "formaction", "longdesc", "srcset"}
# Browsers drop these before parsing a URL scheme: "java\tscript:" is "javascript:".
_INVISIBLE = re.compile(r"[\x00-\x20\x7f-\x9f\u200b-\u200f\u2028\u2029\ufeff]+")
_BAD_SCHEME = re.compile(r"^(?:javascript|vbscript|data|livescript|mocha):", re.IGNORECASE)
# XML 1.0 cannot carry these: one in a post or comment (typed raw or as `&#1;`, which
# the parser decodes) would make every feed that lists it fail with a server error.
_XML_ILLEGAL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# A browser reads an iframe's children as raw text and never shows them; the serializer
# writes that text back unescaped, so any other HTML parser (a feed reader) would see
# live tags there. Output attributes are always `name="value"`, so this match is exact.
_IFRAME_CHILDREN = re.compile(r'(<iframe(?: [^\s="]+="[^"]*")*>).*?(</iframe>)', re.S)
_BAD_STYLE = re.compile(r"url\s*\(|expression|javascript|behavior|binding|@import|\\", re.I)

COMMENT_TAGS = {
    "a",
    "abbr",
    "acronym",
    "b",
    "blockquote",
    "cite",
    "code",
    "del",
    "em",
    "i",
    "q",
    "s",
    "strike",
    "strong",
    "br",
}  # fmt: skip  WordPress's list; paragraphs come from blank lines, so no <p> (it would nest)
COMMENT_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "acronym": {"title"},
    "blockquote": {"cite"},
    "del": {"datetime"},
    "q": {"cite"},
}

POST_TAGS = COMMENT_TAGS | {
    "p",
    "address", "article", "aside", "audio", "bdi", "bdo", "big", "caption", "col", "colgroup",
    "dd", "details", "dfn", "div", "dl", "dt", "figcaption", "figure", "footer", "h1", "h2",
    "h3", "h4", "h5", "h6", "header", "hgroup", "hr", "img", "ins", "kbd", "li", "main", "mark",
    "nav", "ol", "picture", "pre", "rp", "rt", "ruby", "samp", "section", "small", "source",
    "span", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time",
    "tr", "track", "tt", "u", "ul", "var", "video", "wbr",
}  # fmt: skip
POST_ATTRIBUTES = {
    "*": {"class", "id", "style", "title", "role", "dir", "lang"},
    "a": {"href", "title", "name", "target", "hreflang", "rel", "download"},
    "abbr": {"title"},
    "acronym": {"title"},
    "audio": {"src", "controls", "loop", "muted", "preload"},
    "blockquote": {"cite"},
    "col": {"span", "width"},
    "colgroup": {"span", "width"},
    "del": {"cite", "datetime"},
    "details": {"open"},
    "img": {"src", "srcset", "sizes", "alt", "width", "height", "loading", "decoding"},
    "ins": {"cite", "datetime"},
    "li": {"value"},
    "ol": {"start", "reversed", "type"},
    "q": {"cite"},
    "source": {"src", "srcset", "sizes", "type", "media", "width", "height"},
    "table": {"summary", "width"},
    "td": {"colspan", "rowspan", "headers", "align", "valign", "width"},
    "th": {"colspan", "rowspan", "headers", "align", "valign", "width", "scope", "abbr"},
    "time": {"datetime"},
    "track": {"src", "kind", "srclang", "label", "default"},
    "video": {"src", "controls", "loop", "muted", "preload", "poster", "width", "height",
              "playsinline"},
}  # fmt: skip
STYLE_PROPERTIES = {
    "color", "background-color", "text-align", "text-decoration", "font-weight", "font-style",
    "font-size", "line-height", "margin", "margin-top", "margin-right", "margin-bottom",
    "margin-left", "padding", "padding-top", "padding-right", "padding-bottom", "padding-left",
    "width", "height", "max-width", "border", "border-collapse", "border-color", "border-style",
    "border-width", "float", "clear", "list-style-type", "vertical-align", "white-space",
    "display",
}  # fmt: skip

EMBED_TAGS = POST_TAGS | {"iframe"}
EMBED_ATTRIBUTES = {
    **POST_ATTRIBUTES,
    "iframe": {"src", "width", "height", "title", "allow", "allowfullscreen", "loading",
               "referrerpolicy", "frameborder"},
}  # fmt: skip


def _safe_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Before the checks, so "expres&#1;sion" cannot turn into "expression" afterwards.
    value = _XML_ILLEGAL.sub("", value)
    if attribute in _URL_ATTRIBUTES:
        cleaned = _INVISIBLE.sub("", value)
        if _BAD_SCHEME.match(cleaned) or (attribute == "srcset" and _BAD_SCHEME.search(cleaned)):
            return None
        if tag == "iframe" and not cleaned.lower().startswith("https://"):
            return None
        # Keep the author's spaces in srcset, drop only the characters that hide a scheme.
        return value if attribute == "srcset" else cleaned
    if attribute == "style" and _BAD_STYLE.search(value):
        return None
    return value


@cache
def _cleaner(kind: str) -> nh3.Cleaner:
    if kind == "comment":
        return nh3.Cleaner(
            tags=COMMENT_TAGS,
            attributes=COMMENT_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="nofollow ugc noopener noreferrer",
            attribute_filter=_safe_attribute,
            clean_content_tags={"script", "style"},
        )
    tags, attributes = (
        (EMBED_TAGS, EMBED_ATTRIBUTES)
        if kind == "embed"
        else (
            POST_TAGS,
            POST_ATTRIBUTES,
        )
    )
    return nh3.Cleaner(
        tags=tags,
        attributes=attributes,
        generic_attribute_prefixes={"aria-", "data-"},
        url_schemes={"http", "https", "mailto", "tel"},
        link_rel=None,
        attribute_filter=_safe_attribute,
        filter_style_properties=STYLE_PROPERTIES,
        clean_content_tags={"script", "style"},
    )


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    return MarkdownIt("commonmark", {"html": True, "typographer": False}).enable(
        ["table", "strikethrough"]
    )


def render_post_body(source: str, body_format: str, *, allow_embeds: bool) -> str:
    """Render a post body written in Markdown or HTML and sanitize it for the writer's role."""
    html = _markdown().render(source) if body_format == "markdown" else source
    # `![alt](media:42)` names a media library item: its src becomes a placeholder that
    # the sanitizer keeps and media_library/render.py expands into <img srcset> at display.
    html = media_placeholders(html)
    cleaned = _cleaner("embed" if allow_embeds else "post").clean(html)
    return _XML_ILLEGAL.sub("", _IFRAME_CHILDREN.sub(r"\1\2", cleaned))


def render_comment(source: str) -> str:
    """Comments are text with a few inline tags; blank lines make paragraphs."""
    cleaned = _XML_ILLEGAL.sub("", _cleaner("comment").clean(source))
    return linebreaks(cleaned.strip(), autoescape=False)


def count_links(source: str) -> int:
    """Links a comment carries, counted like WordPress: anchors and bare URLs."""
    anchors = re.findall(r"<a\s[^>]*href", source, re.IGNORECASE)
    # A URL right after `=` or a quote is an anchor's href, already counted.
    bare = re.findall(r"(?<![=\"'])\bhttps?://", source, re.IGNORECASE)
    return len(anchors) + len(bare)
