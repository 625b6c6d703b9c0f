"""Full-page cache, shared by every instance through Redis: anonymous pages whole,
signed-in readers' pages with their holes filled in.

- Only GET/HEAD of public pages: a request carrying a message or a valid read-your-writes
  pin cookie, or an Authorization header, is never served from, or stored in, the cache; a
  response that sets a cookie or says private/no-store is not stored.
- A signed-in reader (a session cookie) gets the page an anonymous reader gets, with the
  few bits that are theirs filled in per request (webtier/holes.py): the page is kept
  twice, whole for anonymous readers and cut at its holes for signed-in ones, both from
  one render of the anonymous request (no cookie at all). Pages that differ for them in
  more than their holes (not a 200 HTML page, or a view that says so) are rendered
  whole for them, as before.
- Invalidation is one generation counter in Redis that every page key includes:
  publishing, editing, trashing a post or moderating a comment bumps it, and every
  instance's next request misses at once. A bump that cannot reach Redis bumps the
  database-held key epoch instead (webtier/cache.py), which empties everything.
- Write-through: after a change, a task renders the pages it shows on again into the
  cache (`refresh_pages` in webtier/page_refresh.py), so their first reader finds them.
  Every store is versioned by the generation it was rendered under and when its render
  started: an older render finishing late never replaces a newer one.
- A scheduled post must appear at its time with no write to trigger anything, so
  an entry is fresh only until the next scheduled publish time.
- A miss right after a change may be rendered from a replica that has not caught up
  yet; so a page rendered within READ_YOUR_WRITES_SECONDS of the last change
  (the lag the site is built to tolerate) is fresh only until that window ends. A
  write-through render reads the writer and is not held to that.
- No stampede: an entry stays for a grace period after it goes stale; one request
  (the holder of a short lock) renders it again while the others get the stale
  copy; on a cold miss the others wait briefly for the first render. Each stale
  copy has its own lock (named after its freshness deadline), so a lock never
  needs releasing and never holds back the next re-render.
- Redis down: every request renders from the database (the cache backend misses
  at once), nothing fails.
- A signed-in API read whose answer is the anonymous one (hooks.shared_read: a
  `context=view` read of published content with an application password) uses the
  anonymous reader's entry: on a hit, only the credentials are checked (a wrong
  password is still refused and counted); on a miss the app renders the anonymous
  answer, marks the request (SHARED_READ_FLAG) and it is stored for everyone. Such a
  hit is never offered to an edge cache, and an entry that is not a 200 or mentions
  protected content is not used for it.
- EDGE_CACHE_SECONDS > 0 lets a shared cache in front (haproxy, a CDN) keep a fresh
  page for that long (`s-maxage`), never past the entry's own freshness: the price is
  that a change reaches anonymous readers up to that many seconds late. Browsers
  ignore `s-maxage` and get no other lifetime; a stale copy or an uncached render
  is never offered, nor is a signed-in reader's page.
"""

from __future__ import annotations

import copy
import logging
import threading
import time
from collections.abc import Callable
from functools import partial

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.http import HttpResponse
from django.utils import timezone

from webtier import holes, hooks, session_prefetch
from webtier.cache import bump_epoch, redis_marked_down
from webtier.routing import pinned_to_writer, reads_from_replica

logger = logging.getLogger(__name__)

GENERATION_KEY = "page-generation"
CHANGED_AT_KEY = "page-changed-at"
ORIGINS_KEY = "page-origins"
# A request the site makes to itself to render a page into the cache (write-through).
# An environ key, not a header: no client can send it.
REFRESH_ENVIRON = "cloudblog.page_refresh"
GRACE_SECONDS = 120
LOCK_SECONDS = 10
WAIT_SECONDS = 2.0
_POLL = 0.05
# Without SITE_URL, write-through renders for the addresses readers used lately.
_MAX_ORIGINS = 4
_ORIGIN_SEEN_SECONDS = 3600
# Ours; the apps add theirs (webtier/hooks.py).
_OWN_UNCACHED = ("/healthz", "/readyz")
_BYPASS_COOKIES = ("messages",)
_store_lock = threading.Lock()
# A shared value is re-read at least daily, even if no change ever bumps the generation.
SHARED_SECONDS = 24 * 3600
# Set on a request by the app that rendered, for a signed-in caller, the anonymous answer.
SHARED_READ_FLAG = "page_cache_shared_read"
# A signed-in reader may be allowed to see what this marks hidden from anonymous ones.
_PERSONAL_MARKERS = (b'"protected":true', b'"protected": true')


def _enabled() -> bool:
    return settings.PAGE_CACHE_SECONDS > 0


def write_through() -> bool:
    """Is a change's write-through worth a task (webtier/page_refresh.py)?"""
    return _enabled() and settings.PAGE_CACHE_WRITE_THROUGH


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

    Pages rendered whole for one reader (a preview, a visitor just after a write) still
    share most of what they show: kept under the same generation and freshness rules as
    whole pages, so it is fresh exactly when they are. An exception from `render` (a 404)
    stores nothing. A hole inside shows its anonymous version (webtier/holes.py).
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
    with holes.shared_fragment():
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


def _reader(request) -> str | None:
    """Who asks: an anonymous or a signed-in reader (a session cookie); None: no cache."""
    never = (*_OWN_UNCACHED, *hooks.private_paths(), *hooks.uncached_paths())
    if request.method not in ("GET", "HEAD") or request.path.startswith(never):
        return None
    # Credentials in a header (an API client's application password) are a signed-in
    # visitor too: a shared cache must neither answer nor keep such a request (RFC 9111).
    if "HTTP_AUTHORIZATION" in request.META:
        return None
    cookies = request.COOKIES
    # A message to show, or a write whose result a replica may not have yet: a valid pin
    # (webtier/routing.py; one past its time, which a client may keep sending, is none).
    # An emptied cookie (what a deletion leaves in a client that keeps it) says nothing.
    if pinned_to_writer() or any(cookies.get(name) for name in _BYPASS_COOKIES):
        return None
    return "signed-in" if cookies.get(settings.SESSION_COOKIE_NAME) else "anonymous"


def _shared_read_check(request):
    """The credentials check when this GET with credentials may share the anonymous
    entry (hooks.shared_read), or None."""
    never = (*_OWN_UNCACHED, *hooks.private_paths(), *hooks.uncached_paths())
    cookies = request.COOKIES
    if (
        request.method not in ("GET", "HEAD")
        or "HTTP_AUTHORIZATION" not in request.META
        or request.path.startswith(never)
        or settings.SESSION_COOKIE_NAME in cookies
        or any(name in cookies for name in _BYPASS_COOKIES)
    ):
        return None
    return hooks.shared_read(request)


def _as_anonymous(request):
    """The same GET without its cookies: the shared copy is rendered from this."""
    anonymous = copy.copy(request)
    anonymous.META = {k: v for k, v in request.META.items() if k != "HTTP_COOKIE"}
    anonymous.environ = anonymous.META
    anonymous.COOKIES = {}
    return anonymous


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


def _holes_key(key: str) -> str:
    """The same page cut at its holes, for signed-in readers."""
    return "page-holes" + key.removeprefix("page")


def _stamp_key(key: str) -> str:
    """The (generation, render start) of what is stored under `key`."""
    return "page-stamp" + key.removeprefix("page")


def _lookup(key: str, *, session_of=None) -> tuple[int, dict | None]:
    """The current generation and the entry for `key`, in one round trip to Redis.

    An entry records the generation it was rendered under; one from an older
    generation is no entry at all, so a bump still makes every page fresh at once.
    With `session_of` (a signed-in reader's request), that round trip reads their
    session too, where it lives in the same Redis (webtier/session_prefetch.py).
    """
    session_key = session_prefetch.cache_key(session_of) if session_of is not None else None
    got = cache.get_many([GENERATION_KEY, key, *([session_key] if session_key else [])])
    if session_key:
        session_prefetch.remember(session_of, got.get(session_key))
    generation = got.get(GENERATION_KEY) or 0
    entry = got.get(key)
    return generation, entry if entry and entry["generation"] == generation else None


def lock_key(key: str, generation: int, entry: dict | None) -> str:
    """One lock per staleness episode: it never needs releasing."""
    return f"{key}:lock:{generation}:{entry['fresh_until'] if entry else 'cold'}"


def _fresh_for(now, *, replica_lag: bool = True) -> float:
    """Seconds this render stays fresh: the cache lifetime, or less if a post is due
    or the replica it may have read from could still be catching up."""
    due = hooks.next_change(now)
    lifetime = float(settings.PAGE_CACHE_SECONDS)
    if due:
        lifetime = min(lifetime, (due - now).total_seconds())
    changed_at = cache.get(CHANGED_AT_KEY) if replica_lag else None
    if changed_at is not None:
        lag_window_ends = changed_at + settings.READ_YOUR_WRITES_SECONDS - time.time()
        if lag_window_ends > 0:
            lifetime = min(lifetime, lag_window_ends)
    return lifetime


def store_if_newer(key: str, entries: dict, *, stamp: tuple[int, float], timeout: int) -> bool:
    """Store a render's entries unless what `key` holds was rendered later.

    `stamp` is (generation, when the render started): a newer generation wins, and in one
    generation the later render. (Instances' clocks may differ by a little: that only
    picks between renders of one generation, which read the same committed data.) A stamp
    from a generation above the current one (the counter was lost with Redis) no longer
    counts. False when it was not stored.
    """
    stamp_key = _stamp_key(key)
    store = getattr(cache, "set_many_if_newer", None)
    if store is not None:
        return store(
            entries, generation_key=GENERATION_KEY, stamp_key=stamp_key, stamp=stamp,
            timeout=timeout,
        )  # fmt: skip
    with _store_lock:  # a per-process cache (no Redis): a lock makes it atomic
        got = cache.get_many([GENERATION_KEY, stamp_key])
        held = got.get(stamp_key)
        if held and held[0] <= (got.get(GENERATION_KEY) or 0) and tuple(held) > stamp:
            return False
        cache.set_many({**entries, stamp_key: stamp}, timeout=timeout)
    return True


def origins() -> list[str]:
    """Where the site is read (scheme://host): SITE_URL, else the addresses seen lately."""
    if settings.SITE_URL:
        return [settings.SITE_URL]
    return list(cache.get(ORIGINS_KEY) or {})


def _remember_origin(request) -> None:
    if settings.SITE_URL:
        return
    origin = f"{request.scheme}://{request.get_host()}"
    seen = cache.get(ORIGINS_KEY) or {}
    now = time.time()
    if now - seen.get(origin, 0) < _ORIGIN_SEEN_SECONDS:
        return
    seen[origin] = now
    latest = sorted(seen.items(), key=lambda item: item[1], reverse=True)[:_MAX_ORIGINS]
    cache.set(ORIGINS_KEY, dict(latest), timeout=7 * 86400)


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


class PageCacheMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not _enabled():
            return self.get_response(request)
        if request.META.get(REFRESH_ENVIRON):
            generation = cache.get(GENERATION_KEY) or 0
            return self._render(request, _key(request), generation, None, writer=True)[0]
        reader = _reader(request)
        if reader is None:
            check = _shared_read_check(request)
            if check is None:
                return self.get_response(request)
            return self._shared_read(request, check)
        return self._serve(request, _key(request), signed_in=reader == "signed-in")

    def _shared_read(self, request, check):
        """An API read with credentials that the anonymous entry answers (module doc)."""
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
        started_at, started = time.time(), timezone.now()
        response = self.get_response(request)
        if getattr(request, SHARED_READ_FLAG, False) and _response_cacheable(response):
            fresh = _fresh_for(started)
            if fresh > 0:
                headers = [(k, v) for k, v in response.items() if k.lower() != "x-request-id"]
                entry = {
                    "generation": generation,
                    "status": response.status_code,
                    "headers": headers,
                    "fresh_until": time.time() + fresh,
                    "content": response.content,
                }
                # Never offered to an edge cache: the request carried credentials.
                timeout = int(fresh) + GRACE_SECONDS
                store_if_newer(key, {key: entry}, stamp=(generation, started_at), timeout=timeout)
        response["X-Cache"] = "MISS"
        return response

    def _serve(self, request, key: str, *, signed_in: bool):
        """Answer from the kept page (or, for a signed-in reader, its holes), or render it."""
        if signed_in:
            entry_key, answer = _holes_key(key), partial(self._fill, request)
        else:
            entry_key, answer = key, _from_entry
        generation, entry = _lookup(entry_key, session_of=request if signed_in else None)
        if entry and entry["fresh_until"] > time.time():
            return answer(entry, "HIT")
        lock = lock_key(key, generation, entry)
        if not cache.add(lock, 1, timeout=LOCK_SECONDS) and not redis_marked_down():
            if entry:
                return answer(entry, "STALE")  # another request is rendering it
            deadline = time.monotonic() + WAIT_SECONDS
            while time.monotonic() < deadline:
                time.sleep(_POLL)
                _, entry = _lookup(entry_key)
                if entry:
                    return answer(entry, "HIT")
                if cache.get(lock) is None:
                    break  # that render could not be stored (a 405, a redirect): no use waiting
        if not signed_in:
            return self._render(request, key, generation, lock)[0]
        # The shared copy comes from the anonymous request, never from this reader's.
        return answer(self._render(_as_anonymous(request), key, generation, lock)[1], "MISS")

    def _fill(self, request, entry: dict | None, state: str):
        """A signed-in reader's page: the shared one with their holes filled in further
        down the chain (holes.HoleFillMiddleware), or rendered whole for them."""
        if entry and entry["parts"] is not None:
            setattr(request, holes.FILL_ATTRIBUTE, (entry, state))
        return self.get_response(request)

    def _render(self, request, key: str, generation: int, lock: str | None, *, writer=False):
        """Render an anonymous request and keep it: the response, and the entry for
        signed-in readers (its `parts` are None when the page is not theirs to share)."""
        started_at, started = time.time(), timezone.now()
        with holes.recording(holes.Recorder()) as recorder:
            response = self.get_response(request)
        shared = holes.cut(recorder, response)
        if not _response_cacheable(response):
            # Nothing will be stored under this key: without this, every later request
            # for it would wait WAIT_SECONDS for an entry that never comes.
            if lock:
                cache.delete(lock)
            response["X-Cache"] = "MISS"
            return response, None
        fresh = _fresh_for(started, replica_lag=not writer)
        entry = {
            "generation": generation,
            "status": response.status_code,
            "headers": [(k, v) for k, v in response.items() if k.lower() != "x-request-id"],
            "fresh_until": time.time() + fresh,
        }
        holed = {**entry, "parts": None, **(shared or {})}
        if fresh > 0:
            entries = {key: {**entry, "content": response.content}, _holes_key(key): holed}
            timeout = int(fresh) + GRACE_SECONDS
            store_if_newer(key, entries, stamp=(generation, started_at), timeout=timeout)
            if not writer:
                _remember_origin(request)
            _offer_to_edge(response, entry["fresh_until"])
        response["X-Cache"] = "MISS"
        return response, holed
