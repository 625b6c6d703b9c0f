"""The django-redis backend with the breaker and epoch of webtier/cache.py.

Settings name it only when REDIS_URL is set: the Redis client is an optional extra.
"""

from __future__ import annotations

from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from webtier.cache import bump_epoch, redis_marked_down, trip

_FAILURES = (ConnectionInterrupted, RedisError, OSError)


class ResilientRedisCache(RedisCache):
    """django-redis with a breaker and epoch bumps on lost invalidations."""

    def _call(self, operation: str, fallback, invalidates: bool, *args, **kwargs):
        if redis_marked_down():
            if invalidates:
                bump_epoch(f"{operation} skipped while Redis was marked down")
            return fallback
        try:
            return getattr(RedisCache, operation)(self, *args, **kwargs)
        except _FAILURES as exc:
            trip(exc, operation)
            if invalidates:
                bump_epoch(f"{operation} failed: {exc}")
            return fallback

    def get(self, *args, **kwargs):
        default = kwargs.get("default", args[1] if len(args) > 1 else None)
        return self._call("get", default, False, *args, **kwargs)

    def get_many(self, *args, **kwargs):
        return self._call("get_many", {}, False, *args, **kwargs)

    def has_key(self, *args, **kwargs):
        return self._call("has_key", False, False, *args, **kwargs)

    def set(self, *args, **kwargs):
        return self._call("set", False, False, *args, **kwargs)

    def add(self, *args, **kwargs):
        return self._call("add", False, False, *args, **kwargs)

    def set_many(self, *args, **kwargs):
        return self._call("set_many", [], False, *args, **kwargs)

    def touch(self, *args, **kwargs):
        return self._call("touch", False, False, *args, **kwargs)

    def incr(self, *args, **kwargs):
        # A counter that cannot count fails open (rate limits pause, nothing breaks).
        return self._call("incr", 0, False, *args, **kwargs)

    def decr(self, *args, **kwargs):
        return self._call("decr", 0, False, *args, **kwargs)

    def delete(self, *args, **kwargs):
        return self._call("delete", False, True, *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", 0, True, *args, **kwargs)

    def clear(self):
        return self._call("clear", False, True)
