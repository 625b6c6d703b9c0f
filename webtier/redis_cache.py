"""The django-redis backend with the breaker and epoch of webtier/cache.py.

Settings name it only when REDIS_URL is set: the Redis client is an optional extra.
"""

from __future__ import annotations

from django_redis.cache import RedisCache
from django_redis.exceptions import ConnectionInterrupted
from redis.exceptions import RedisError

from webtier.cache import bump_epoch, redis_marked_down, trip

_FAILURES = (ConnectionInterrupted, RedisError, OSError)

# KEYS: the generation counter, the stamp, then the entries; ARGV: the stamp's generation
# and render start, the timeout, then the entries' values. A held stamp from a generation
# above the counter's (the counter was lost) no longer counts.
_SET_IF_NEWER = """
local current = tonumber(redis.call('GET', KEYS[1]) or '0') or 0
local held = redis.call('GET', KEYS[2])
local mine, started = tonumber(ARGV[1]), tonumber(ARGV[2])
if held then
  local g, t = string.match(held, '^(%d+) ([%d.]+)$')
  g, t = tonumber(g), tonumber(t)
  if g and g <= current and (g > mine or (g == mine and t > started)) then
    return 0
  end
end
redis.call('SET', KEYS[2], ARGV[1] .. ' ' .. ARGV[2], 'EX', ARGV[3])
for i = 3, #KEYS do
  redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[3])
end
return 1
"""


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

    def set_many_if_newer(
        self, mapping: dict, *, generation_key: str, stamp_key: str, stamp, timeout: int
    ) -> bool:
        """set_many, in one step, unless `stamp_key` holds a later (generation, time)
        than `stamp` (webtier/page_cache.py `store_if_newer`). False when not stored."""
        if redis_marked_down():
            return False
        client = self.client
        keys = [client.make_key(k) for k in (generation_key, stamp_key, *mapping)]
        values = [client.encode(v) for v in mapping.values()]
        generation, started = stamp
        try:
            stored = client.get_client(write=True).eval(
                _SET_IF_NEWER, len(keys), *keys, int(generation), f"{started:.6f}",
                int(timeout), *values,
            )  # fmt: skip
        except _FAILURES as exc:
            trip(exc, "set_many_if_newer")
            return False
        return bool(stored)

    def delete(self, *args, **kwargs):
        return self._call("delete", False, True, *args, **kwargs)

    def delete_many(self, *args, **kwargs):
        return self._call("delete_many", 0, True, *args, **kwargs)

    def clear(self):
        return self._call("clear", False, True)
