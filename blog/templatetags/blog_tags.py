"""Template tags for the theme: navigation, sidebar, absolute URLs for meta tags."""

from __future__ import annotations

from django import template
from django.conf import settings

from blog.models import Category, Post

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


@register.inclusion_tag("blog/_sidebar.html", takes_context=True)
def sidebar(context):
    months = Post.objects.posts().published().dates("published_at", "month", order="DESC")
    return {
        "categories": Category.objects.only("id", "name", "slug"),
        "months": months[:24],
        "request": context.get("request"),
    }


@register.simple_tag(takes_context=True)
def absolute(context, path: str = "") -> str:
    request = context.get("request")
    if request is None:
        return path
    return request.build_absolute_uri(path or request.path)


@register.simple_tag
def site_name() -> str:
    return settings.SITE_NAME
