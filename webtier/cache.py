"""Redis as a cache that is allowed to fail.

Two problems with a plain django-redis cache in front of the database:

1. An unreachable Redis makes every cache call wait for its socket timeout, and
   a request makes several: seconds per request. Here a failure opens a breaker
   for CACHE_RETRY_SECONDS; meanwhile reads miss and writes are skipped at once,
   and the first call after the window tries Redis again (recovery needs no one).

2. Anything deleted while Redis was unreachable comes back when Redis does: a
   logged-out session read from `cached_db`, a page that should have been purged.
   So every key carries an epoch held in the database, and an invalidation
   (delete, clear) that fails or is skipped bumps the epoch: after that no
   instance reads a key written before. Each process re-reads the epoch at
   most every CACHE_EPOCH_TTL seconds, and at once after it sees Redis fail.

The backend class lives in webtier/redis_cache.py, so that this module (which the
page cache imports) needs no Redis client when the site runs without Redis.

A failed `set` bumps nothing: the database is the truth, and a missing or older
copy of a value that no code path relies on for revocation (auth-relevant session
changes always go through delete, via cycle_key or flush) is only a cache miss.
"""

from __future__ import annotations

import logging
import threading
import time

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F

logger = logging.getLogger(__name__)

EPOCH_NAME = "redis"


class _State:
    """Per process: when Redis may be tried again, and the last epoch read."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.retry_at = 0.0
        self.epoch: int | None = None
        self.epoch_read_at = 0.0


_state = _State()


def _epoch_model():
    # On first use, not at import: a cache backend may be built before the app registry.
    from webtier.models import CacheEpoch

    return CacheEpoch


def current_epoch() -> int:
    """The database's epoch, re-read at most every CACHE_EPOCH_TTL seconds."""
    now = time.monotonic()
    if _state.epoch is not None and now - _state.epoch_read_at < settings.CACHE_EPOCH_TTL:
        return _state.epoch
    try:
        values = _epoch_model().objects.using("default").filter(name=EPOCH_NAME)
        epoch = values.values_list("value", flat=True).first() or 0
    except Exception:  # no database (or none allowed here): keep the last epoch known
        logger.warning("cache epoch unreadable; keeping %s", _state.epoch, exc_info=True)
        with _state.lock:
            _state.epoch, _state.epoch_read_at = _state.epoch or 0, now  # retry after the TTL
        return _state.epoch
    with _state.lock:
        _state.epoch, _state.epoch_read_at = epoch, now
    return epoch


def bump_epoch(reason: str) -> None:
    """Make every key written so far unreachable, for every instance."""
    CacheEpoch = _epoch_model()
    try:
        with transaction.atomic(using="default"):
            updated = CacheEpoch.objects.using("default").filter(name=EPOCH_NAME)
            if not updated.update(value=F("value") + 1):
                CacheEpoch.objects.using("default").create(name=EPOCH_NAME, value=1)
    except DatabaseError:
        logger.exception("could not bump the cache epoch after: %s", reason)
        return
    logger.warning("cache epoch bumped: %s", reason)
    _forget_epoch()


def _forget_epoch() -> None:
    with _state.lock:
        _state.epoch = None


def make_key(key: str, key_prefix: str, version: int) -> str:
    """KEY_FUNCTION for CACHES: the epoch sits between the prefix and the version."""
    return f"{key_prefix}:{current_epoch()}:{version}:{key}"


def reverse_key(key: str) -> str:
    """REVERSE_KEY_FUNCTION: `prefix:epoch:version:key` back to `key` (for keys())."""
    return key.split(":", 3)[3]


def redis_marked_down() -> bool:
    return time.monotonic() < _state.retry_at


def trip(exc: Exception, operation: str) -> None:
    """Redis failed: skip it for CACHE_RETRY_SECONDS and re-read the epoch."""
    with _state.lock:
        _state.retry_at = time.monotonic() + settings.CACHE_RETRY_SECONDS
        _state.epoch = None  # another instance may have bumped it meanwhile
    logger.warning("redis %s failed (%s); not trying again for %ss", operation, exc,
                   settings.CACHE_RETRY_SECONDS)  # fmt: skip


def reset_breaker() -> None:
    """For tests and for a process that knows Redis is back."""
    with _state.lock:
        _state.retry_at = 0.0
        _state.epoch = None
