"""Full-page cache for anonymous readers, shared by every instance through Redis.

- Only anonymous GET/HEAD of public pages: a request carrying a session, a
  message or a read-your-writes pin cookie, or an Authorization header, is never
  served from, or stored in, the cache; a response that sets a cookie or says
  private/no-store is not stored.
- Invalidation is one generation counter in Redis that every page key includes:
  publishing, editing, trashing a post or moderating a comment bumps it, and every
  instance's next request misses at once. A bump that cannot reach Redis bumps the
  database-held key epoch instead (webtier/cache.py), which empties everything.
- A scheduled post must appear at its time with no write to trigger anything, so
  an entry is fresh only until the next scheduled publish time.
- A miss right after a change may be rendered from a replica that has not caught
  up yet; so a page rendered within READ_YOUR_WRITES_SECONDS of the last change
  (the lag the site is built to tolerate) is fresh only until that window ends.
- No stampede: an entry stays for a grace period after it goes stale; one request
  (the holder of a short lock) renders it again while the others get the stale
  copy; on a cold miss the others wait briefly for the first render. Each stale
  copy has its own lock (named after its freshness deadline), so a lock never
  needs releasing and never holds back the next re-render.
- Redis down: every request renders from the database (the cache backend misses
  at once), nothing fails.
- A signed-in API read whose answer is the anonymous one (hooks.shared_read: a
  `context=view` read of published content) uses the anonymous reader's entry: on a
  hit, only the credentials are checked (a wrong password is still refused and
  counted); on a miss the app renders the anonymous answer, marks the request
  (SHARED_READ_FLAG) and it is stored for everyone. Such a hit is never offered to an
  edge cache, and an entry that is not a 200 or mentions protected content is not
  used for it.
- EDGE_CACHE_SECONDS > 0 lets a shared cache in front (haproxy, a CDN) keep a fresh
  page for that long (`s-maxage`), never past the entry's own freshness: the price is
  that a change reaches anonymous readers up to that many seconds late. Browsers
  ignore `s-maxage` and get no other lifetime; a stale copy or an uncached render
  is never offered.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone

from webtier import hooks
from webtier.cache import bump_epoch, redis_marked_down
from webtier.routing import PIN_COOKIE, pinned_to_writer, reads_from_replica

logger = logging.getLogger(__name__)

GENERATION_KEY = "page-generation"
CHANGED_AT_KEY = "page-changed-at"
GRACE_SECONDS = 120
LOCK_SECONDS = 10
WAIT_SECONDS = 2.0
_POLL = 0.05
# A shared value is re-read at least daily, even if no change ever bumps the generation.
SHARED_SECONDS = 24 * 3600
# Ours; the apps add theirs (webtier/hooks.py).
_OWN_UNCACHED = ("/healthz", "/readyz")
_BYPASS_COOKIES = ("messages", PIN_COOKIE)
# Set on a request by the app that rendered, for a signed-in caller, the anonymous answer.
SHARED_READ_FLAG = "page_cache_shared_read"
# A signed-in reader may be allowed to see what this marks hidden from anonymous ones.
_PERSONAL_MARKERS = (b'"protected":true', b'"protected": true')


def _enabled() -> bool:
    return settings.PAGE_CACHE_SECONDS > 0


def pages_changed() -> None:
    """Every cached page is stale from now on, on every instance (after commit).

    Once per transaction (an import makes thousands of changes in one): a bump already
    waiting for this commit is enough. It can only be dropped by rolling back a savepoint
    that is still open, and every open savepoint encloses this change too.
    """
    if not _enabled():
        return
    connection = transaction.get_connection()
    if connection.in_atomic_block and any(
        func is _bump_generation for _, func, _ in connection.run_on_commit
    ):
        return
    transaction.on_commit(_bump_generation)


def _bump_generation() -> None:
    cache.set(CHANGED_AT_KEY, time.time(), timeout=None)
    cache.add(GENERATION_KEY, 0, timeout=None)
    if not cache.incr(GENERATION_KEY):  # the backend answers 0 when Redis failed
        bump_epoch("page generation could not be bumped")


def cached_fragment(name: str, render: Callable[[], str]) -> str:
    """A piece of a page that is the same for every visitor (a post list, the sidebar).

    Logged-in pages are never cached whole, but most of what they show is shared:
    kept under the same generation and freshness rules as whole pages, so it is
    fresh exactly when they are. An exception from `render` (a 404) stores nothing.
    """
    if not _enabled() or pinned_to_writer():
        # A visitor who just wrote must see it: no shared copy stands in for the writer
        # (one from a lagging replica, or one an instance still files under the old
        # generation because the bump failed and the epoch is not re-read yet).
        return render()
    # A copy rendered from the replica may lag: only replica readers share it.
    source = "replica" if reads_from_replica() else "writer"
    key = f"fragment:{source}:{name}"
    generation, entry = _lookup(key)
    if entry and entry["fresh_until"] > time.time():
        return entry["html"]
    started = timezone.now()
    html = render()
    fresh = _fresh_for(started)
    if fresh > 0:
        entry = {"generation": generation, "fresh_until": time.time() + fresh, "html": html}
        cache.set(key, entry, timeout=int(fresh) + 1)
    return html


def shared_value(name: str, load: Callable[[], object]) -> object:
    """A small value that many requests read and that changes rarely (the site's settings).

    Kept in Redis under the page generation, so whatever makes pages stale
    (pages_changed(), after commit) makes every instance call `load` again at once. A
    `load` that read before the commit is filed under the old generation, so no race
    can keep an old value. Without the page cache there is no generation: `load` runs
    every time.
    """
    if not _enabled():
        return load()
    key = f"shared:{name}"
    generation, entry = _lookup(key)
    if entry is not None:
        return entry["value"]
    value = load()
    cache.set(key, {"generation": generation, "value": value}, timeout=SHARED_SECONDS)
    return value


def _request_cacheable(request) -> bool:
    never = (*_OWN_UNCACHED, *hooks.private_paths(), *hooks.uncached_paths())
    if request.method not in ("GET", "HEAD") or request.path.startswith(never):
        return False
    # Credentials in a header (an API client's application password) are a signed-in
    # visitor too: a shared cache must neither answer nor keep such a request (RFC 9111).
    if "HTTP_AUTHORIZATION" in request.META:
        return False
    return _cookies_allow(request)


def _cookies_allow(request) -> bool:
    cookies = request.COOKIES
    return settings.SESSION_COOKIE_NAME not in cookies and not any(
        name in cookies for name in _BYPASS_COOKIES
    )


def _shared_read_check(request):
    """The credentials check when this signed-in GET may share the anonymous entry."""
    never = (*_OWN_UNCACHED, *hooks.private_paths(), *hooks.uncached_paths())
    if (
        request.method not in ("GET", "HEAD")
        or "HTTP_AUTHORIZATION" not in request.META
        or request.path.startswith(never)
        or not _cookies_allow(request)
    ):
        return None
    return hooks.shared_read(request)


def _response_cacheable(response) -> bool:
    control = response.get("Cache-Control", "")
    return (
        response.status_code in (200, 301, 404)
        and not response.cookies
        and not getattr(response, "streaming", False)
        and "private" not in control
        and "no-store" not in control
    )


def _key(request) -> str:
    return f"page:{request.scheme}:{request.get_host()}:{request.get_full_path()}"


def _lookup(key: str) -> tuple[int, dict | None]:
    """The current generation and the entry for `key`, in one round trip to Redis.

    An entry records the generation it was rendered under; one from an older
    generation is no entry at all, so a bump still makes every page fresh at once.
    """
    got = cache.get_many([GENERATION_KEY, key])
    generation = got.get(GENERATION_KEY) or 0
    entry = got.get(key)
    return generation, entry if entry and entry["generation"] == generation else None


def lock_key(key: str, generation: int, entry: dict | None) -> str:
    """One lock per staleness episode: it never needs releasing."""
    return f"{key}:lock:{generation}:{entry['fresh_until'] if entry else 'cold'}"


def _fresh_for(now) -> float:
    """Seconds this render stays fresh: the cache lifetime, or less if a post is due
    or the replica it may have read from could still be catching up."""
    due = hooks.next_change(now)
    lifetime = float(settings.PAGE_CACHE_SECONDS)
    if due:
        lifetime = min(lifetime, (due - now).total_seconds())
    changed_at = cache.get(CHANGED_AT_KEY)
    if changed_at is not None:
        lag_window_ends = changed_at + settings.READ_YOUR_WRITES_SECONDS - time.time()
        if lag_window_ends > 0:
            lifetime = min(lifetime, lag_window_ends)
    return lifetime


def _offer_to_edge(response, fresh_until: float) -> None:
    """Let a shared cache in front keep this fresh page, at most until it goes stale."""
    seconds = min(settings.EDGE_CACHE_SECONDS, int(fresh_until - time.time()))
    if seconds > 0:
        response["Cache-Control"] = f"public, s-maxage={seconds}"


def _from_entry(entry: dict, state: str, *, edge: bool = True) -> HttpResponse:
    response = HttpResponse(entry["content"], status=entry["status"])
    for name, value in entry["headers"]:
        response[name] = value
    response["X-Cache"] = state
    if state == "HIT" and edge:
        _offer_to_edge(response, entry["fresh_until"])
    return response


def _store(key: str, generation: int, response, started) -> None:
    fresh = _fresh_for(started)
    if fresh > 0:
        headers = [(k, v) for k, v in response.items() if k.lower() != "x-request-id"]
        entry = {
            "generation": generation,
            "status": response.status_code,
            "headers": headers,
            "content": response.content,
            "fresh_until": time.time() + fresh,
        }
        cache.set(key, entry, timeout=int(fresh) + GRACE_SECONDS)
        _offer_to_edge(response, entry["fresh_until"])


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _enabled():
            return self.get_response(request)
        if not _request_cacheable(request):
            check = _shared_read_check(request)
            if check is None:
                return self.get_response(request)
            return self._shared_read(request, check)
        key = _key(request)
        generation, entry = _lookup(key)
        if entry and entry["fresh_until"] > time.time():
            return _from_entry(entry, "HIT")
        lock = lock_key(key, generation, entry)
        if cache.add(lock, 1, timeout=LOCK_SECONDS) or redis_marked_down():
            return self._render(request, key, generation, lock)
        if entry:
            return _from_entry(entry, "STALE")  # another request is rendering it
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            time.sleep(_POLL)
            _, entry = _lookup(key)
            if entry:
                return _from_entry(entry, "HIT")
            if cache.get(lock) is None:
                break  # that render could not be stored (a 405, a redirect): no use waiting
        return self._render(request, key, generation, lock)

    def _render(self, request, key: str, generation: int, lock: str):
        started = timezone.now()
        response = self.get_response(request)
        if not _response_cacheable(response):
            # Nothing will be stored under this key: without this, every later request
            # for it would wait WAIT_SECONDS for an entry that never comes.
            cache.delete(lock)
            response["X-Cache"] = "MISS"
            return response
        _store(key, generation, response, started)
        response["X-Cache"] = "MISS"
        return response

    def _shared_read(self, request, check):
        """A signed-in read that the anonymous entry answers: see the module's doc."""
        key = _key(request)
        generation, entry = _lookup(key)
        usable = (
            entry is not None
            and entry["fresh_until"] > time.time()
            and entry["status"] == 200
            and not any(marker in entry["content"] for marker in _PERSONAL_MARKERS)
        )
        if usable:
            return check(_from_entry(entry, "HIT", edge=False))
        started = timezone.now()
        response = self.get_response(request)
        if getattr(request, SHARED_READ_FLAG, False) and _response_cacheable(response):
            _store(key, generation, response, started)
            response.headers.pop("Cache-Control", None)  # no edge keeps a signed-in answer
        response["X-Cache"] = "MISS"
        return response
