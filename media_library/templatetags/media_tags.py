"""Media library items in templates: `{% media_img item %}` and `{{ html|with_media }}`."""

from __future__ import annotations

from django import template
from django.utils.safestring import SafeString, mark_safe

from media_library.render import media_expand
from media_library.render import media_img as render_media_img

register = template.Library()


@register.simple_tag
def media_img(item, css_class: str = "", lazy: bool = True) -> SafeString:
    return render_media_img(item, css_class=css_class, lazy=lazy)


@register.filter
def with_media(body_html: str) -> SafeString:
    """A stored, sanitized body with its media placeholders expanded."""
    return mark_safe(media_expand(body_html))  # sanitized at save; values escaped
