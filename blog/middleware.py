"""The site's settings (blog/site_settings.py), read once per rendered request."""

from __future__ import annotations

from blog.site_settings import settings_held


class SiteSettingsMiddleware:
    """Holds the settings for the request, however many templates, tags and API shapes
    ask: one Redis read per rendered page. Inside the page cache, so a cached page costs
    nothing more."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        with settings_held():
            return self.get_response(request)
