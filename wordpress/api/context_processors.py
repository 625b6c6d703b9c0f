"""What templates need for the API: its root for `<link rel="https://api.w.org/">`, and
for a logged-in user's pages the settings their scripts use (root and X-WP-Nonce)."""

from __future__ import annotations

from wordpress.api.auth import make_nonce
from wordpress.api.views import API_PREFIX


def rest_api(request) -> dict:
    def settings():
        if not request.user.is_authenticated:
            return None
        return {
            "root": request.build_absolute_uri(API_PREFIX),
            "nonce": make_nonce(request),
            "versionString": "wp/v2/",
        }

    # Callables: a template calls them only where it uses them.
    return {
        "WP_API_ROOT": lambda: request.build_absolute_uri(API_PREFIX),
        "WP_API_SETTINGS": settings,
    }
