"""The sitemap's sections, and the copies of /sitemap.xml (an index past SITEMAP_LIMIT
URLs) and its files that crawlers are served."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import SitemapIndexItem, sitemap, x_robots_tag
from django.core.cache import cache
from django.core.paginator import EmptyPage
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape
from django.utils.http import RFC3986_SUBDELIMS
from django.views.decorators.http import require_safe

from blog.models import Category, Post, Tag

logger = logging.getLogger(__name__)


class HomeSitemap(Sitemap):
    changefreq = "daily"
    priority = 1.0

    def items(self):
        return ["blog:home"]

    def location(self, item):
        return reverse(item)


_ROW = ("kind", "slug", "path", "published_at", "created_at", "updated_at")
_SLUG_SAFE = RFC3986_SUBDELIMS + "/~:@"  # what reverse() leaves unquoted
_PLACEHOLDER = "sitemap-slug"


@lru_cache(maxsize=4096)
def _post_prefix(year: int, month: int) -> str | None:
    """A post's URL up to its slug, from one reverse() per month instead of one per post
    (None if the URL does not end with the slug: then reverse() it is, every time)."""
    url = reverse(
        "blog:post-detail", kwargs={"year": year, "month": f"{month:02d}", "slug": _PLACEHOLDER}
    )
    head, found, tail = url.rpartition(_PLACEHOLDER)
    return head if found and tail == "/" else None


class PostSitemap(Sitemap):
    """Published posts, newest first. Items are value rows (`_ROW`), not models: a file
    holds 50,000 of them, and a model instance and a reverse() each cost more than the
    rest of the file's work (the refresh job took 271 s for 100,000 posts)."""

    changefreq = "weekly"
    priority = 0.8
    kind = Post.Kind.POST

    def items(self):
        return (
            Post.objects.published()
            .filter(kind=self.kind)
            .order_by("-published_at", "-id")
            .values_list(*_ROW)
        )

    def location(self, item) -> str:
        kind, slug, path, published_at, created_at, _ = item
        if kind == Post.Kind.PAGE:
            return reverse("blog:page", kwargs={"path": path or slug})
        when = timezone.localtime(published_at or created_at)
        prefix = _post_prefix(when.year, when.month)
        if prefix is None:  # the URL pattern changed shape
            month = f"{when.month:02d}"
            return reverse(
                "blog:post-detail", kwargs={"year": when.year, "month": month, "slug": slug}
            )
        return f"{prefix}{quote(slug, safe=_SLUG_SAFE)}/"

    def lastmod(self, item):
        return item[-1]


class PageSitemap(PostSitemap):
    kind = Post.Kind.PAGE
    priority = 0.6


class CategorySitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        # Only archives with something in them (an empty archive is a soft 404); a
        # parent category's archive shows its sub-categories' posts too.
        public = Post.objects.published().values("pk")
        filed = Post.categories.through.objects.filter(post_id__in=public)
        with_posts = set(filed.values_list("category_id", flat=True).distinct())
        categories = list(Category.objects.only("id", "slug", "parent_id").order_by("pk"))
        parent_of = {c.pk: c.parent_id for c in categories}
        listed = set()
        for pk in with_posts:
            while pk is not None and pk not in listed:
                listed.add(pk)
                pk = parent_of.get(pk)
        return [c for c in categories if c.pk in listed]


class TagSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.4

    def items(self):
        public = Post.objects.published().filter(tags=OuterRef("pk"))
        return Tag.objects.filter(Exists(public)).only("id", "slug").order_by("pk")


SITEMAPS = {
    "home": HomeSitemap,
    "posts": PostSitemap,
    "pages": PageSitemap,
    "categories": CategorySitemap,
    "tags": TagSitemap,
}


# --- The served copies (SITEMAP_REFRESH_SECONDS) ------------------------------------
# A 50,000-URL sitemap takes seconds of database and template work: crawlers get copies
# rendered by the `refresh-sitemap` periodic job (cron.yaml) and kept in the shared
# cache; an instance renders one only when there is no fresh copy of it at all.
# Past SITEMAP_LIMIT URLs in all, /sitemap.xml is an index of files of at most that many
# (/sitemap-posts.xml, /sitemap-posts.xml?p=2, ...): search engines read no further.

_KEY = "sitemap-xml:{base}:{section}:{page}"


def site_base(request: HttpRequest) -> str:
    """The address the sitemap's URLs start with: SITE_URL, else this request's host."""
    return settings.SITE_URL or f"{request.scheme}://{request.get_host()}"


def _sections() -> dict[str, Sitemap]:
    sections = {}
    for name, section in SITEMAPS.items():
        sections[name] = section()
        sections[name].limit = settings.SITEMAP_LIMIT
    return sections


def _pages(sections: dict[str, Sitemap]) -> list[tuple[str, int]] | None:
    """Every (section, page) file of the index, or None when one file holds everything."""
    counts = {name: section.paginator.count for name, section in sections.items()}
    if sum(counts.values()) <= settings.SITEMAP_LIMIT:
        return None
    limit = settings.SITEMAP_LIMIT
    return [(name, page) for name, n in counts.items() for page in range(1, -(-n // limit) + 1)]


def _file_url(base: str, section: str, page: int) -> str:
    url = f"{base}{reverse('sitemap-section', args=[section])}"
    return f"{url}?p={page}" if page > 1 else url


_URLSET = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<urlset xmlns="http://www.sitemaps.org/schemas/'
    'sitemap/0.9" xmlns:xhtml="http://www.w3.org/1999/xhtml">\n'
)


def _url_entries(base: str, section: Sitemap, items: Iterable) -> Iterator[str]:
    """What Django's sitemap.xml template writes for each item (the same bytes:
    tests/blog/test_sitemap_index.py compares them), without a template engine."""
    changefreq = f"<changefreq>{section.changefreq}</changefreq>" if section.changefreq else ""
    priority = f"<priority>{section.priority}</priority>" if section.priority else ""
    tail = f"{changefreq}{priority}</url>"
    dated = hasattr(section, "lastmod")
    for item in items:
        lastmod = section.lastmod(item) if dated else None
        when = f"<lastmod>{timezone.localtime(lastmod):%Y-%m-%d}</lastmod>" if lastmod else ""
        yield f"<url><loc>{escape(base + section.location(item))}</loc>{when}{tail}"


def _urlset(entries: Iterable[str]) -> str:
    return f"{_URLSET}{''.join(entries)}\n</urlset>\n"


def render_sitemap(base: str, section: str | None = None, page: int = 1) -> str:
    """/sitemap.xml (section None): every URL, or the index of the files; else one file.

    URLs start with `base` (scheme://host). Raises KeyError for an unknown section and
    EmptyPage for a page past its end (a 404 for the visitor).
    """
    sections = _sections()
    if section is None:
        files = _pages(sections)
        if files is not None:
            items = [SitemapIndexItem(_file_url(base, name, n)) for name, n in files]
            return render_to_string("sitemap_index.xml", {"sitemaps": items})
        chosen = list(sections.values())
    else:
        chosen = [sections[section]]
    entries = []
    for one in chosen:
        entries.extend(_url_entries(base, one, one.paginator.page(page).object_list))
    return _urlset(entries)


def _fresh_until(rendered_at: float) -> float:
    """A copy is fresh for SITEMAP_REFRESH_SECONDS, or until the next scheduled post is due
    (it must appear on time, as it does on every other page)."""
    until = rendered_at + settings.SITEMAP_REFRESH_SECONDS
    now = timezone.now()
    due = (
        Post.objects.filter(status=Post.Status.FUTURE, published_at__gt=now)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    if due is not None:
        until = min(until, rendered_at + (due - now).total_seconds())
    return until


def _store(base: str, section: str | None, page: int, body: str, started: float) -> dict:
    fresh_until = _fresh_until(started)
    entry = {"body": body, "rendered_at": started, "fresh_until": fresh_until}
    # The cache drops it once stale: nothing older than a refresh period is ever served.
    key = _KEY.format(base=base, section=section or "", page=page)
    cache.set(key, entry, timeout=max(int(fresh_until - time.time()), 1))
    logger.info(
        "sitemap %s %s/%d for %s: %d bytes rendered in %.2f s",
        "index" if section is None else "file",
        section or "-",
        page,
        base,
        len(body),
        time.time() - started,
    )
    return entry


def _render_and_store(base: str, section: str | None = None, page: int = 1) -> dict:
    started = time.time()
    return _store(base, section, page, render_sitemap(base, section, page), started)


def _stream_files(base: str, name: str, section: Sitemap) -> Iterator[int]:
    """Store every file of one section from a single pass over its rows (no OFFSET per
    file, one file in memory at a time); yields each file's size."""
    items = section.items()
    if hasattr(items, "iterator"):
        items = items.iterator(chunk_size=5000)
    page, batch, started = 1, [], time.time()
    for entry in _url_entries(base, section, items):
        batch.append(entry)
        if len(batch) == settings.SITEMAP_LIMIT:
            yield len(_store(base, name, page, _urlset(batch), started)["body"])
            page, batch, started = page + 1, [], time.time()
    if batch or page == 1:
        yield len(_store(base, name, page, _urlset(batch), started)["body"])


def refresh_sitemap(base: str) -> dict:
    """Render /sitemap.xml and every file it lists for `base`, and store them for every
    instance; idempotent. Each section's files come from one pass over its rows."""
    started = time.time()
    entry = _render_and_store(base)
    size, files = len(entry["body"]), 0
    sections = _sections()
    for name in dict.fromkeys(name for name, _ in _pages(sections) or []):
        for file_size in _stream_files(base, name, sections[name]):
            size, files = size + file_size, files + 1
    took = time.time() - started
    return {"base": base, "bytes": size, "files": files, "seconds": round(took, 3)}


def cached_sitemap(base: str, section: str | None = None, page: int = 1) -> tuple[str, str]:
    """The served copy for `base`, and HIT or MISS (rendered here, and stored)."""
    entry = cache.get(_KEY.format(base=base, section=section or "", page=page))
    if entry and entry["fresh_until"] > time.time():
        return entry["body"], "HIT"
    return _render_and_store(base, section, page)["body"], "MISS"


def _serve(request: HttpRequest, section: str | None, page: int) -> HttpResponse:
    base = site_base(request)
    try:
        if settings.SITEMAP_REFRESH_SECONDS:
            body, state = cached_sitemap(base, section, page)
        else:
            body, state = render_sitemap(base, section, page), "OFF"
    except (KeyError, EmptyPage):
        raise Http404("No such sitemap") from None
    response = HttpResponse(body, content_type="application/xml")
    response["X-Sitemap-Cache"] = state
    return response


@x_robots_tag
@require_safe
def sitemap_xml(request: HttpRequest) -> HttpResponse:
    """/sitemap.xml: the periodic job's copy; Django's own view for the rare `?p=N`."""
    if "p" in request.GET:
        return sitemap(request, sitemaps=SITEMAPS)
    return _serve(request, None, 1)


@x_robots_tag
@require_safe
def sitemap_section_xml(request: HttpRequest, section: str) -> HttpResponse:
    """/sitemap-<section>.xml[?p=N]: one file of the index, from the job's copy."""
    try:
        page = int(request.GET.get("p", 1))
    except ValueError:
        raise Http404("No such sitemap page") from None
    if page < 1:
        raise Http404("No such sitemap page")
    return _serve(request, section, page)
