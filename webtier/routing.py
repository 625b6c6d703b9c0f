"""Reads from the Aurora reader where that is safe; every write on the writer.

A request may read from the replica only when it is an anonymous GET or HEAD of a
public page from a visitor who has not written in the last READ_YOUR_WRITES_SECONDS.
The middleware decides that once, before anything reads, and the router looks up
the decision in a context variable; outside a request (commands, tasks, shells)
the answer is always the writer, so nothing batch-like ever acts on lagging data.

A replica that cannot be reached costs one failed GET per process, not an outage:
the request is answered again from the writer, and this process leaves the replica
alone for REPLICA_RETRY_SECONDS before trying it again by itself.
"""

from __future__ import annotations

import logging
import time
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections
from django.db.utils import OperationalError

from webtier import hooks

REPLICA = "replica"
PIN_COOKIE = "cb_pin"
PIN_SALT = "cloudblog.pin"
# A request the site makes to itself right after a write (the page cache's write-through)
# reads what was just committed. An environ key, not a header: no client can send it.
WRITER_ONLY_ENVIRON = "cloudblog.writer_only"

# Apps whose rows decide who someone is and what they may do. A replica a few
# hundred milliseconds behind would accept a password that was just changed or a
# session that was just ended, so these are read on the writer (notes/security.md).
_WRITER_ONLY_APPS = frozenset({"auth", "sessions", "admin", "contenttypes"})
_READ_ONLY_METHODS = frozenset({"GET", "HEAD"})
_SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})

# MySQL/MariaDB error codes meaning "the writer is not there (or not a writer) now":
# cannot connect (2002, 2003, 2005), connection lost (2006, 2013, 2055, 1927 from a
# MariaDB KILL, 4031 from MySQL's idle disconnect), and read-only (1290, 1836), which
# is what a writer demoted by an Aurora failover answers until DNS moves.
_WRITER_UNAVAILABLE_CODES = frozenset({2002, 2003, 2005, 2006, 2013, 2055, 1927, 4031, 1290, 1836})

_CONNECTION_LOST_CODES = _WRITER_UNAVAILABLE_CODES - {1290, 1836}

logger = logging.getLogger(__name__)

_replica_allowed: ContextVar[bool] = ContextVar("cloudblog_replica_allowed", default=False)
_pinned: ContextVar[bool] = ContextVar("cloudblog_pinned", default=False)


def is_writer_unavailable(exc: BaseException | None) -> bool:
    """Did `exc` happen because the database could not be reached or refused writes?

    Only connection loss and read-only answers count: bad SQL, a deadlock or a
    wrong password are bugs or configuration, and stay a 500.
    """
    return _error_code(exc) in _WRITER_UNAVAILABLE_CODES


def _error_code(exc: BaseException | None) -> int | None:
    """The MySQL/MariaDB error number of a database OperationalError, else None."""
    if not isinstance(exc, OperationalError) or not exc.args:
        return None
    return exc.args[0]


# Per process: until when the replica is left alone after it could not be reached.
_replica_down_until = 0.0


def replica_marked_down() -> bool:
    return time.monotonic() < _replica_down_until


def reset_replica_breaker() -> None:
    global _replica_down_until
    _replica_down_until = 0.0


def _replica_unreachable() -> bool:
    """Is the replica the database that just failed? Asked once, after a failure."""
    replica = connections[REPLICA]
    replica.close()
    try:
        replica.ensure_connection()
    except OperationalError:
        replica.close()
        return True
    return False


def _has_valid_pin(request) -> bool:
    seconds = settings.READ_YOUR_WRITES_SECONDS
    if not seconds:
        return False
    # Bad signature or older than `seconds` both read as "no pin".
    pin = request.get_signed_cookie(PIN_COOKIE, default=None, salt=PIN_SALT, max_age=seconds)
    return pin is not None


def _may_read_replica(request, *, pinned: bool) -> bool:
    return (
        request.method in _READ_ONLY_METHODS
        # Signed in or editing: these visitors must see what they just did.
        and not request.path_info.startswith(hooks.private_paths())
        and settings.SESSION_COOKIE_NAME not in request.COOKIES
        # API clients sign in per request (HTTP Basic) and rarely keep the pin cookie.
        and "HTTP_AUTHORIZATION" not in request.META
        and not pinned
        and not request.META.get(WRITER_ONLY_ENVIRON)
        and not replica_marked_down()
    )


def reads_from_replica() -> bool:
    """May the current request read from the replica (so what it renders may lag)?"""
    return _replica_allowed.get() and REPLICA in settings.DATABASES


def pinned_to_writer() -> bool:
    """Did the current visitor write within READ_YOUR_WRITES_SECONDS?"""
    return _pinned.get()


class ReplicaRouter:
    def db_for_read(self, model, **hints):
        if (
            _replica_allowed.get()
            and REPLICA in settings.DATABASES
            and model._meta.app_label not in _WRITER_ONLY_APPS
            # Inside a transaction on the writer, reads belong to that transaction.
            # (This is also why tests wrapped in TestCase's transaction never see
            # the replica: only transactional tests commit what a replica could read.)
            and not connections[DEFAULT_DB_ALIAS].in_atomic_block
        ):
            return REPLICA
        return DEFAULT_DB_ALIAS

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # Same data, two endpoints: a post read from the replica may be the FK of a
        # comment saved on the writer.
        ours = {DEFAULT_DB_ALIAS, REPLICA}
        if obj1._state.db in ours and obj2._state.db in ours:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        # The replica replays the writer's schema changes itself.
        return db == DEFAULT_DB_ALIAS


class ReplicaRoutingMiddleware:
    """Marks replica-eligible requests, and pins a visitor to the writer after a write."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        pinned = _has_valid_pin(request)
        pin_token = _pinned.set(pinned)
        token = _replica_allowed.set(_may_read_replica(request, pinned=pinned))
        try:
            response = self.get_response(request)
        finally:
            _replica_allowed.reset(token)
            _pinned.reset(pin_token)
        seconds = settings.READ_YOUR_WRITES_SECONDS
        # Any unsafe method may have written (a comment, a login that set the session
        # cookie): the replica may not have it yet, so read from the writer for a while.
        # Signed, so a client cannot forge a pin; a 5xx wrote nothing worth waiting for.
        if seconds and request.method not in _SAFE_METHODS and response.status_code < 500:
            response.set_signed_cookie(
                PIN_COOKIE,
                str(int(time.time())),
                salt=PIN_SALT,
                max_age=seconds,
                httponly=True,
                samesite="Lax",
                secure=settings.SESSION_COOKIE_SECURE,
            )
        return response

    def process_exception(self, request, exception):
        """A GET that failed because the replica is gone: answer it from the writer."""
        global _replica_down_until
        if not (
            reads_from_replica()
            and _error_code(exception) in _CONNECTION_LOST_CODES
            and _replica_unreachable()
        ):
            return None
        _replica_down_until = time.monotonic() + settings.REPLICA_RETRY_SECONDS
        logger.warning(
            "replica unreachable (%s): reading from the writer for %ss",
            exception,
            settings.REPLICA_RETRY_SECONDS,
        )
        _replica_allowed.set(False)
        # Only GET and HEAD ever read the replica, so running the view again changes
        # nothing; the middleware around it has done its part once and goes on.
        match = request.resolver_match
        return match.func(request, *match.args, **match.kwargs)
