from __future__ import annotations

from blog.site_settings import site_settings


def site(request) -> dict:
    # The admin's Site settings (blog/site_settings.py): one Redis read per page.
    options = site_settings()
    return {
        "SITE_NAME": options.title,
        "SITE_TAGLINE": options.description,
    }
