"""A signed-in reader's session, read in the page cache's own round trip to Redis.

A signed-in page view the page cache answers reads the page (webtier/page_cache.py), then
the session, then the user (webtier/users.py): each a round trip to Redis, and on a busy
instance each costs as much CPU as the rest of the view. When the session lives in that
same Redis (SESSION_STORE `cache` or `cached_db`, the default with Redis), the page cache
asks for the session's key in the same MGET as the page and hands what it got to
`PrefetchedSessionMiddleware` (Django's SessionMiddleware), which starts the session from
it instead of reading it again. A session that was not in Redis is read as usual (from
the database, for `cached_db`); other stores (`db`, `signed_cookies`, `dynamodb`) are
never prefetched.
"""

from __future__ import annotations

from functools import cache as cache_function
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.middleware import SessionMiddleware
from django.core.cache import DEFAULT_CACHE_ALIAS

_ATTRIBUTE = "prefetched_session"
_IN_REDIS = ("django.contrib.sessions.backends.cache", "django.contrib.sessions.backends.cached_db")


@cache_function
def _store_class(engine: str):
    return import_module(engine).SessionStore


def cache_key(request) -> str | None:
    """The cache key this request's session is read from, when the page cache may read it:
    the store keeps sessions in the default cache (Redis), and there is a session cookie."""
    if settings.SESSION_ENGINE not in _IN_REDIS:
        return None
    if settings.SESSION_CACHE_ALIAS != DEFAULT_CACHE_ALIAS:
        return None
    session_key = request.COOKIES.get(settings.SESSION_COOKIE_NAME)
    if not session_key:
        return None
    return _store_class(settings.SESSION_ENGINE)(session_key).cache_key


def remember(request, data) -> None:
    """What the page cache read under `cache_key(request)` (None: nothing there)."""
    if data is not None:
        setattr(request, _ATTRIBUTE, (request.COOKIES[settings.SESSION_COOKIE_NAME], data))


class PrefetchedSessionMiddleware(SessionMiddleware):
    """SessionMiddleware that starts from the session the page cache already read."""

    def process_request(self, request):
        super().process_request(request)
        found = getattr(request, _ATTRIBUTE, None)
        if found is not None and found[0] == request.session.session_key:
            # What SessionBase keeps after load(); load() would read this very key again.
            request.session._session_cache = found[1]
