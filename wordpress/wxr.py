"""A streaming, safe reader of WordPress eXtended RSS (WXR 1.0, 1.1 and 1.2).

- Safe: defusedxml refuses any DTD, entity declaration or external reference, so an
  XXE or billion-laughs document is refused with a message before it can do anything;
  nothing is ever fetched. Real WordPress exports never carry a DOCTYPE.
- Streaming: each top-level record of the channel (an author, a term, an item with its
  comments) is parsed, handed out as a small dataclass and removed from the tree, so
  memory stays flat however long the file is.
- Namespaces: WordPress's `wp` and `excerpt` namespaces are matched by URI, `http://`
  or `https://` and any of export/1.0, 1.1, 1.2; an element in any other namespace is
  ignored, whatever its prefix (a `wp:` prefix bound to another URI is not WordPress's).

`read(source)` yields one `Site` first, then `Author`, `Term` and `Item` records in file
order, and raises `WXRError` (with a message for a person) for anything that is not a
readable WXR file. `scan(source)` reads the whole file once without keeping anything,
to refuse a bad file before an import writes a row, and to count what is in it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import PurePosixPath
from typing import IO
from urllib.parse import unquote, urlsplit

from defusedxml import DefusedXmlException
from defusedxml.ElementTree import iterparse

VERSIONS = ("1.0", "1.1", "1.2")
_WP = re.compile(r"^https?://wordpress\.org/export/1\.[0-2]/$")
_EXCERPT = re.compile(r"^https?://wordpress\.org/export/1\.[0-2]/excerpt/$")
_OTHER = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://wellformedweb.org/CommentAPI/": "wfw",
}
# Top-level records of the channel; everything else there is site information.
_RECORDS = {"wp:author", "wp:category", "wp:tag", "wp:term", "item"}


_DATED = re.compile(r"\d{4}/\d{2}/[^/]+$")
# What the media library takes (media_store's allowlist); other attachments are reported.
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".jpe", ".png", ".gif", ".webp"}


class WXRError(Exception):
    """The file cannot be imported; the message says why, for the person importing it."""


@dataclass(slots=True)
class Site:
    version: str = ""
    title: str = ""
    link: str = ""
    description: str = ""
    language: str = ""
    base_site_url: str = ""
    base_blog_url: str = ""


@dataclass(slots=True)
class Author:
    wp_id: int = 0
    login: str = ""
    email: str = ""
    display_name: str = ""
    first_name: str = ""
    last_name: str = ""


@dataclass(slots=True)
class Term:
    taxonomy: str = ""  # category, post_tag, nav_menu, post_format, or a custom taxonomy
    wp_id: int = 0
    slug: str = ""
    name: str = ""
    parent_slug: str = ""
    description: str = ""


@dataclass(slots=True)
class Comment:
    wp_id: int = 0
    author: str = ""
    email: str = ""
    url: str = ""
    ip: str = ""
    date: str = ""
    date_gmt: str = ""
    content: str = ""
    approved: str = "1"
    type: str = ""
    parent: int = 0
    user_id: int = 0


@dataclass(slots=True)
class Item:
    wp_id: int = 0
    type: str = "post"
    title: str = ""
    link: str = ""
    guid: str = ""
    creator: str = ""
    content: str = ""
    excerpt: str = ""
    date: str = ""
    date_gmt: str = ""
    modified_gmt: str = ""
    comment_status: str = "open"
    ping_status: str = ""
    slug: str = ""
    status: str = "publish"
    parent: int = 0
    menu_order: int = 0
    password: str = ""
    sticky: bool = False
    attachment_url: str = ""
    # (taxonomy, slug, name) for every <category domain=... nicename=...>.
    terms: list[tuple[str, str, str]] = field(default_factory=list)
    meta: dict[str, str] = field(default_factory=dict)
    comments: list[Comment] = field(default_factory=list)


@lru_cache(maxsize=256)
def _name(tag: str) -> str | None:
    """`{uri}local` as `prefix:local` for the namespaces we read, `local` for none."""
    if not tag.startswith("{"):
        return tag
    uri, _, local = tag[1:].partition("}")
    if _WP.match(uri):
        return f"wp:{local}"
    if _EXCERPT.match(uri):
        return f"excerpt:{local}"
    prefix = _OTHER.get(uri)
    return f"{prefix}:{local}" if prefix else None


def _int(value: str) -> int:
    try:
        return int(value.strip() or 0)
    except ValueError:
        return 0


def _raw(value: str) -> str:
    return value


_text = str.strip

# How each record's fields are read: attribute -> (child element, how its text is taken).
# A child that is missing leaves the dataclass's default; text is stripped unless _raw
# (bodies, descriptions and passwords keep their spaces).
Spec = dict[str, tuple[str, Callable[[str], object]]]
_AUTHOR: Spec = {
    "wp_id": ("wp:author_id", _int),
    "login": ("wp:author_login", _text),
    "email": ("wp:author_email", _text),
    "display_name": ("wp:author_display_name", _text),
    "first_name": ("wp:author_first_name", _text),
    "last_name": ("wp:author_last_name", _text),
}
_TERMS: dict[str, Spec] = {
    "wp:category": {
        "wp_id": ("wp:term_id", _int),
        "slug": ("wp:category_nicename", _text),
        "name": ("wp:cat_name", _text),
        "parent_slug": ("wp:category_parent", _text),
        "description": ("wp:category_description", _raw),
    },
    "wp:tag": {
        "wp_id": ("wp:term_id", _int),
        "slug": ("wp:tag_slug", _text),
        "name": ("wp:tag_name", _text),
        "description": ("wp:tag_description", _raw),
    },
    "wp:term": {
        "taxonomy": ("wp:term_taxonomy", _text),
        "wp_id": ("wp:term_id", _int),
        "slug": ("wp:term_slug", _text),
        "name": ("wp:term_name", _text),
        "parent_slug": ("wp:term_parent", _text),
        "description": ("wp:term_description", _raw),
    },
}
_TAXONOMY = {"wp:category": "category", "wp:tag": "post_tag", "wp:term": ""}
_COMMENT: Spec = {
    "wp_id": ("wp:comment_id", _int),
    "author": ("wp:comment_author", _text),
    "email": ("wp:comment_author_email", _text),
    "url": ("wp:comment_author_url", _text),
    "ip": ("wp:comment_author_IP", _text),
    "date": ("wp:comment_date", _text),
    "date_gmt": ("wp:comment_date_gmt", _text),
    "content": ("wp:comment_content", _raw),
    "approved": ("wp:comment_approved", _text),
    "type": ("wp:comment_type", _text),
    "parent": ("wp:comment_parent", _int),
    "user_id": ("wp:comment_user_id", _int),
}
_ITEM: Spec = {
    "wp_id": ("wp:post_id", _int),
    "type": ("wp:post_type", lambda v: v.strip() or "post"),
    "title": ("title", _raw),
    "link": ("link", _text),
    "guid": ("guid", _text),
    "creator": ("dc:creator", _text),
    "content": ("content:encoded", _raw),
    "excerpt": ("excerpt:encoded", _raw),
    "date": ("wp:post_date", _text),
    "date_gmt": ("wp:post_date_gmt", _text),
    "modified_gmt": ("wp:post_modified_gmt", _text),
    "comment_status": ("wp:comment_status", _text),
    "ping_status": ("wp:ping_status", _text),
    "slug": ("wp:post_name", _text),
    "status": ("wp:status", lambda v: v.strip() or "publish"),
    "parent": ("wp:post_parent", _int),
    "menu_order": ("wp:menu_order", _int),
    "password": ("wp:post_password", _raw),
    "sticky": ("wp:is_sticky", lambda v: v.strip() == "1"),
    "attachment_url": ("wp:attachment_url", _text),
}


def _fields(elem, spec: Spec) -> dict[str, object]:
    """The record's attributes from the direct children that `spec` names (the first
    child of a name wins)."""
    wanted = {child: (attr, read) for attr, (child, read) in spec.items()}
    found: dict[str, object] = {}
    for child in elem:
        name = _name(child.tag)
        if name in wanted:
            attr, read = wanted.pop(name)
            found[attr] = read(child.text or "")
    return found


def _author(elem) -> Author | None:
    author = Author(**_fields(elem, _AUTHOR))
    return author if author.login else None


def _term(name: str, elem) -> Term | None:
    term = Term(**{"taxonomy": _TAXONOMY[name], **_fields(elem, _TERMS[name])})
    return term if term.slug or term.name else None


def _meta(elem) -> tuple[str, str] | None:
    f = _fields(elem, {"key": ("wp:meta_key", _raw), "value": ("wp:meta_value", _raw)})
    key = f.get("key", "")
    return (key, f.get("value", "")) if key else None


def _item(elem) -> Item:
    item = Item(**_fields(elem, _ITEM))
    for child in elem:
        name = _name(child.tag)
        if name == "category":
            domain = child.get("domain", "category")
            slug = child.get("nicename", "")
            item.terms.append((domain, slug, (child.text or "").strip()))
        elif name == "wp:postmeta":
            pair = _meta(child)
            if pair:
                item.meta.setdefault(*pair)
        elif name == "wp:comment":
            item.comments.append(Comment(**_fields(child, _COMMENT)))
    return item


def _records(source) -> Iterator[tuple[str, object]]:
    """(kind, element) for the site fields and each top-level record, in file order."""
    depth = 0
    channel = None
    try:
        for event, elem in iterparse(
            source, events=("start", "end"), forbid_dtd=True, forbid_entities=True
        ):
            if event == "start":
                depth += 1
                if depth == 1 and elem.tag != "rss":
                    raise WXRError(
                        f"This is not a WordPress export: its root element is <{elem.tag}>, "
                        "not <rss>."
                    )
                if depth == 2:
                    if elem.tag != "channel":
                        raise WXRError(
                            "This is not a WordPress export: <rss> holds "
                            f"<{elem.tag}> where <channel> should be."
                        )
                    channel = elem
                continue
            depth -= 1
            if depth == 2:
                yield "field", elem
                channel.remove(elem)
    except ET.ParseError as exc:
        if depth == 0 and channel is None and "line 1," in str(exc):
            raise WXRError(f"The file is empty or is not XML ({exc}).") from None
        raise WXRError(f"The file is not well-formed XML ({exc}); is it truncated?") from None
    except DefusedXmlException as exc:
        raise WXRError(
            "The file declares a DTD or entities, which a WordPress export never does; "
            f"refused for safety ({type(exc).__name__})."
        ) from None
    if channel is None:
        raise WXRError("This is not a WordPress export: it has no <channel>.")


def upload_path(item: Item) -> str:
    """The attachment's path under wp-content/uploads/ (`2011/01/photo.jpg`)."""
    attached = item.meta.get("_wp_attached_file", "").strip().lstrip("/")
    if attached:
        return attached
    path = unquote(urlsplit(item.attachment_url or item.guid).path)
    marker = "/wp-content/uploads/"
    if marker in path:
        return path.split(marker, 1)[1]
    # WordPress.com and multisite serve uploads elsewhere: /2008/06/photo.jpg
    dated = _DATED.search(path)
    return dated.group(0) if dated else PurePosixPath(path).name


def _open(source):
    if isinstance(source, str | bytes) or hasattr(source, "__fspath__"):
        return open(source, "rb")
    return source


def read(source: str | IO[bytes]) -> Iterator[Site | Author | Term | Item]:
    """Yield the Site, then every author, term and item of a WXR file, streaming."""
    site = Site()
    announced = False
    stream = _open(source)
    try:
        for _, elem in _records(stream):
            name = _name(elem.tag)
            if name not in _RECORDS:
                if name == "wp:wxr_version":
                    site.version = (elem.text or "").strip()
                elif name in ("title", "link", "description", "language"):
                    setattr(site, name, (elem.text or "").strip())
                elif name in ("wp:base_site_url", "wp:base_blog_url"):
                    setattr(site, name[3:], (elem.text or "").strip())
                continue
            if not announced:
                _check_version(site)
                announced = True
                yield site
            if name == "wp:author":
                record = _author(elem)
            elif name == "item":
                record = _item(elem)
            else:
                record = _term(name, elem)
            if record is not None:
                yield record
        if not announced:
            _check_version(site)
            yield site
    finally:
        if stream is not source:
            stream.close()


def _check_version(site: Site) -> None:
    if not site.version:
        raise WXRError(
            "This file has no <wp:wxr_version>: it is not a WordPress export (WXR) file."
        )
    if site.version not in VERSIONS:
        raise WXRError(
            f"Unknown WXR version {site.version[:20]!r}: this importer reads {', '.join(VERSIONS)}."
        )


def scan(source: str | IO[bytes]) -> Counter:
    """Read the whole file once; raise WXRError for a bad one, else count its records.

    The counts are by kind: `author`, `term:<taxonomy>`, `item:<post type>`, `comment`.
    """
    counts: Counter = Counter()
    for record in read(source):
        if isinstance(record, Author):
            counts["author"] += 1
        elif isinstance(record, Term):
            counts[f"term:{record.taxonomy}"] += 1
        elif isinstance(record, Item):
            counts[f"item:{record.type}"] += 1
            counts["comment"] += len(record.comments)
    return counts
