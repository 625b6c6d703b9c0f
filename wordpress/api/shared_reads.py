"""Signed-in API reads answered from the anonymous page cache entry (issue 17).

An application that reads published posts with its application password gets, in
`context=view`, exactly what an anonymous reader gets: WordPress shows edit fields only
in `context=edit`, and other statuses only on request (`status=draft`). So such a read
is one cache lookup plus the credentials check, instead of a render per request.

What counts as a shared read is decided from the URL alone, before anyone is
authenticated: a GET of one of SHARED_ROUTES, in `view` or `embed` context, with no
`status` but `publish` and no `password`. Users, comments, media, statuses, settings
and anything else are never shared: what they list depends on who asks.

Even then the answer is only shared when it really is the anonymous one: the view
renders it as an anonymous reader would (never with the caller's rights), and if that
is not a 200, or it shows a password-protected post (whose content the post's editors
see), the caller's own answer is rendered instead and nothing is stored.
"""

from __future__ import annotations

import json
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from wordpress.api import routing
from wordpress.api.auth import basic_user
from wordpress.api.errors import WPError
from wordpress.api.params import flatten_query

SHARED_ROUTES = frozenset(
    {
        "/wp/v2/posts",
        r"/wp/v2/posts/(?P<id>[\d]+)",
        "/wp/v2/pages",
        r"/wp/v2/pages/(?P<id>[\d]+)",
        "/wp/v2/categories",
        r"/wp/v2/categories/(?P<id>[\d]+)",
        "/wp/v2/tags",
        r"/wp/v2/tags/(?P<id>[\d]+)",
        "/wp/v2/search",
    }
)
_SHARED_CONTEXTS = ("view", "embed")
API_PATH = "/wp-json/"


def is_shared(route: routing.Route, query: dict) -> bool:
    """Whether a GET of `route` with `query` answers the same to everyone allowed to ask."""
    if route.path not in SHARED_ROUTES:
        return False
    if (query.get("context") or "view") not in _SHARED_CONTEXTS:
        return False
    status = query.get("status")
    if status not in (None, "publish", ["publish"]):
        return False
    return "password" not in query and "_wpnonce" not in query and "_method" not in query


def shows_protected(data) -> bool:
    """Whether an answer shows a password-protected post (its editors see the content)."""
    return '"protected": true' in json.dumps(data)


def _refusal(error: WPError) -> HttpResponse:
    response = HttpResponse(
        json.dumps(error.body()), status=error.status, content_type="application/json"
    )
    for name, value in error.headers.items():
        response[name] = value
    return response


def shared_read(request: HttpRequest) -> Callable[[HttpResponse], HttpResponse] | None:
    """webtier.hooks' shared-read provider for /wp-json/ (see the module's doc)."""
    if not request.path.startswith(API_PATH):
        return None
    found = routing.match(request.path[len(API_PATH) :])
    if found is None or not is_shared(found[0], flatten_query(request.GET)):
        return None

    route = found[0]

    def check(cached: HttpResponse) -> HttpResponse:
        try:
            user = basic_user(request)  # None (no Basic credentials): anonymous, the same
        except WPError as error:
            return _refusal(error)
        if user is not None:
            cached["Allow"] = ", ".join(route.allowed_methods(user))
        return cached

    return check
