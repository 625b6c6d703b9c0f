"""The sitemap's sections, and the copy of /sitemap.xml that crawlers are served."""

from __future__ import annotations

import logging
import time
from types import SimpleNamespace
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.contrib.sitemaps.views import sitemap, x_robots_tag
from django.core.cache import cache
from django.db.models import Exists, OuterRef
from django.http import HttpRequest, HttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
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


class PostSitemap(Sitemap):
    changefreq = "weekly"
    priority = 0.8
    kind = Post.Kind.POST

    def items(self):
        return (
            Post.objects.published()
            .filter(kind=self.kind)
            .only("id", "slug", "kind", "path", "published_at", "created_at", "updated_at")
            .order_by("-published_at")
        )

    def lastmod(self, item):
        return item.updated_at


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


# --- The served copy (SITEMAP_REFRESH_SECONDS) -------------------------------------
# A 50,000-URL sitemap takes seconds of database and template work: crawlers get a
# copy rendered by the `refresh-sitemap` periodic job (cron.yaml) and kept in the
# shared cache; an instance renders only when there is no fresh copy at all.

_KEY = "sitemap-xml:{base}"


def site_base(request: HttpRequest) -> str:
    """The address the sitemap's URLs start with: SITE_URL, else this request's host."""
    return settings.SITE_URL or f"{request.scheme}://{request.get_host()}"


def render_sitemap(base: str) -> str:
    """The sitemap's XML, first page of every section, URLs under `base` (scheme://host)."""
    parts = urlsplit(base)
    # What get_urls needs of a Site: its domain (no sites framework installed here).
    site = SimpleNamespace(domain=parts.netloc, name=parts.netloc)
    urls = []
    for section in SITEMAPS.values():
        urls.extend(section().get_urls(page=1, site=site, protocol=parts.scheme))
    return render_to_string("sitemap.xml", {"urlset": urls})


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


def _render_and_store(base: str) -> dict:
    started = time.time()
    body = render_sitemap(base)
    fresh_until = _fresh_until(started)
    entry = {"body": body, "rendered_at": started, "fresh_until": fresh_until}
    # The cache drops it once stale: nothing older than a refresh period is ever served.
    cache.set(_KEY.format(base=base), entry, timeout=max(int(fresh_until - time.time()), 1))
    logger.info(
        "sitemap for %s: %d bytes rendered in %.2f s", base, len(body), time.time() - started
    )
    return entry


def refresh_sitemap(base: str) -> dict:
    """Render the sitemap for `base` and store it for every instance; idempotent."""
    entry = _render_and_store(base)
    took = time.time() - entry["rendered_at"]
    return {"base": base, "bytes": len(entry["body"]), "seconds": round(took, 3)}


def cached_sitemap(base: str) -> tuple[str, str]:
    """The served copy for `base`, and HIT or MISS (rendered here, and stored)."""
    entry = cache.get(_KEY.format(base=base))
    if entry and entry["fresh_until"] > time.time():
        return entry["body"], "HIT"
    return _render_and_store(base)["body"], "MISS"


@x_robots_tag
@require_safe
def sitemap_xml(request: HttpRequest) -> HttpResponse:
    """/sitemap.xml: the periodic job's copy; Django's own view for the rare `?p=N`."""
    if "p" in request.GET:
        return sitemap(request, sitemaps=SITEMAPS)
    base = site_base(request)
    if settings.SITEMAP_REFRESH_SECONDS:
        body, state = cached_sitemap(base)
    else:
        body, state = render_sitemap(base), "OFF"
    response = HttpResponse(body, content_type="application/xml")
    response["X-Sitemap-Cache"] = state
    return response
