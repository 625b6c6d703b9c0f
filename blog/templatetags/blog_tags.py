"""Template tags for the theme: navigation, sidebar, absolute URLs for meta tags."""

from __future__ import annotations

from django import template
from django.template.loader import render_to_string
from django.utils import dateformat, timezone
from django.utils.safestring import mark_safe

from blog.listing import ListFacts
from blog.models import Category, Post
from blog.site_settings import site_settings, site_zone
from webtier.page_cache import cached_fragment

register = template.Library()


@register.inclusion_tag("blog/_nav.html", takes_context=True)
def site_nav(context):
    pages = (
        Post.objects.pages()
        .published()
        .filter(parent__isnull=True)
        .only("id", "title", "slug", "kind", "path")
        .order_by("menu_order", "title")
    )
    return {"pages": pages, "request": context.get("request"), "user": context.get("user")}


@register.simple_tag
def sidebar() -> str:
    """The sidebar is the same for every visitor: one shared fragment per change."""

    def render() -> str:
        months = Post.objects.posts().published().dates("published_at", "month", order="DESC")
        # DISTINCT months reads every published post: kept until a post changes.
        months = ListFacts("sidebar", months).get("months", lambda: list(months[:24]))
        categories = Category.objects.only("id", "name", "slug")
        return render_to_string("blog/_sidebar.html", {"categories": categories, "months": months})

    return mark_safe(cached_fragment("sidebar", render))


@register.simple_tag(takes_context=True)
def absolute(context, path: str = "") -> str:
    request = context.get("request")
    if request is None:
        return path
    return request.build_absolute_uri(path or request.path)


@register.simple_tag
def site_name() -> str:
    return site_settings().title


def _site_format(value, letters: str) -> str:
    if not value:
        return ""
    return dateformat.format(timezone.localtime(value, site_zone()), letters)


@register.filter
def site_date(value) -> str:
    """A date in the site's date format (Site settings), as WordPress's the_date()."""
    return _site_format(value, site_settings().date_format)


@register.filter
def site_time(value) -> str:
    return _site_format(value, site_settings().time_format)
