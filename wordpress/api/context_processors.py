"""What templates need for the API: its root for `<link rel="https://api.w.org/">`, and
for a logged-in user's pages the settings their scripts use (root and X-WP-Nonce), in a
hole (webtier/holes.py): the nonce is the reader's, the page around it is shared."""

from __future__ import annotations

from django.utils.html import json_script

from wordpress.api.auth import make_nonce
from wordpress.api.views import API_PREFIX


def rest_api(request) -> dict:
    # A callable: a template calls it only where it uses it.
    return {"WP_API_ROOT": lambda: request.build_absolute_uri(API_PREFIX)}


def api_settings_hole(request) -> str:
    """The "wp-api-settings" hole: a signed-in reader's root and nonce for scripts."""
    settings = {
        "root": request.build_absolute_uri(API_PREFIX),
        "nonce": make_nonce(request),
        "versionString": "wp/v2/",
    }
    return json_script(settings, "wp-api-settings")
