from __future__ import annotations

from django.conf import settings


def site(request) -> dict:
    return {"SITE_NAME": settings.SITE_NAME, "SITE_TAGLINE": settings.SITE_TAGLINE}
