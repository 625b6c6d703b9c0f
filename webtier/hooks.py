"""What the web tier learns from the apps above it, registered in their `ready()`.

webtier imports no app: the apps tell it the few facts of theirs it needs.

- *Private paths* (`/admin/`, `/accounts/`...): signed in or editing. Read from the
  writer only, never page-cached, disallowed in robots.txt.
- *Uncached paths* (`/search/`): public, may read the replica, but every query would
  be a cache key of its own.
- *Next change*: when a cached page may change with no write to say so (a scheduled
  post going live). The page cache keeps nothing fresh past the earliest answer.
- *Shared reads*: a GET that carries credentials (an API client's Authorization) but
  whose answer is, once they are checked, the one an anonymous reader gets. The
  provider answers None (not such a read) or a function that checks the credentials
  given the cached answer, and returns what to send: that answer (its headers made
  the caller's) or a refusal.
- *Holes*: the few bits of a shared page that depend on who reads it (a name, an edit
  link, a CSRF token), each a function that renders it from the request for a signed-in
  reader (webtier/holes.py).

Registration is idempotent, so a `ready()` that runs twice (tests) changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from django.http import HttpRequest, HttpResponse

_private: list[str] = []
_uncached: list[str] = []
_next_change: list[Callable[[datetime], datetime | None]] = []
CredentialsCheck = Callable[[HttpResponse], HttpResponse]
_shared_reads: list[Callable[[HttpRequest], CredentialsCheck | None]] = []
_holes: dict[str, Callable[..., str]] = {}


def _add(registry: list, *items) -> None:
    for item in items:
        if item not in registry:
            registry.append(item)


def register_private_paths(*prefixes: str) -> None:
    _add(_private, *prefixes)


def register_uncached_paths(*prefixes: str) -> None:
    _add(_uncached, *prefixes)


def register_next_change(provider: Callable[[datetime], datetime | None]) -> None:
    """`provider(now)` answers the next moment after `now` a page changes by itself."""
    _add(_next_change, provider)


def register_hole(name: str, fill: Callable[..., str]) -> None:
    """`fill(request, **arguments)` is the HTML a signed-in reader sees in hole `name`.

    It reads the request (request.user, the session), never a list of posts: it runs on
    every signed-in page view the page cache answers. Its arguments are what the
    template's `{% hole %}` tag passed (numbers and strings, kept with the page).
    """
    _holes[name] = fill


def hole_fill(name: str) -> Callable[..., str] | None:
    return _holes.get(name)


def private_paths() -> tuple[str, ...]:
    return tuple(_private)


def uncached_paths() -> tuple[str, ...]:
    return tuple(_uncached)


def next_change(after: datetime) -> datetime | None:
    due = [when for provider in _next_change if (when := provider(after)) is not None]
    return min(due, default=None)


def register_shared_read(provider: Callable[[HttpRequest], CredentialsCheck | None]) -> None:
    _add(_shared_reads, provider)


def shared_read(request: HttpRequest) -> CredentialsCheck | None:
    """The credentials check of the first provider that calls `request` a shared read."""
    return next((check for p in _shared_reads if (check := p(request)) is not None), None)
