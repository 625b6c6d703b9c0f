"""Sessions across instances: Redis may vanish, nobody is logged out, nobody comes back.

A private redis-server per test is paused with SIGSTOP: it stops answering but keeps
its data, exactly what makes a `cached_db` session come back after a logout.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time

import pytest
import redis
from django.urls import reverse

from tests.factories import PASSWORD, make_user
from tests.net import unused_port
from webtier.cache import reset_breaker

pytestmark = pytest.mark.django_db

REDIS_SERVER = shutil.which("redis-server")


class PrivateRedis:
    def __init__(self) -> None:
        self.port = unused_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
        )  # fmt: skip
        self.client = redis.Redis(port=self.port, socket_timeout=1)
        for _ in range(100):
            try:
                self.client.ping()
                return
            except redis.ConnectionError:
                time.sleep(0.05)
        raise RuntimeError("private redis-server did not start")

    def pause(self) -> None:
        os.kill(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.kill(self.process.pid, signal.SIGCONT)

    def session_keys(self) -> list[str]:
        return [k.decode() for k in self.client.keys("*sessions*")]

    def stop(self) -> None:
        self.resume()
        self.process.kill()
        self.process.wait()


@pytest.fixture
def private_redis():
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed (make test installs it)")
    server = PrivateRedis()
    yield server
    server.stop()


def _use_redis(settings, server, backend="webtier.redis_cache.ResilientRedisCache", **options):
    settings.CACHES = {
        "default": {
            "BACKEND": backend,
            "LOCATION": server.url,
            "KEY_PREFIX": "t",
            **(
                {
                    "KEY_FUNCTION": "webtier.cache.make_key",
                    "REVERSE_KEY_FUNCTION": "webtier.cache.reverse_key",
                }
                if "Resilient" in backend
                else {}
            ),
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.3, "SOCKET_TIMEOUT": 0.3, **options},
        }
    }
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.cached_db"
    settings.CACHE_RETRY_SECONDS = 1
    settings.CACHE_EPOCH_TTL = 0
    reset_breaker()


@pytest.fixture
def redis_sessions(settings, private_redis):
    _use_redis(settings, private_redis)
    yield private_redis
    reset_breaker()


def _log_in(client, user):
    response = client.post(reverse("blog:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302, "login failed"


def _logged_in(client) -> bool:
    return client.get(reverse("blog:profile")).status_code == 200


def _timed(call):
    started = time.monotonic()
    result = call()
    return result, time.monotonic() - started


# A socket timeout far above what a loaded machine adds to a few page views, and a breaker
# that stays open through them: "one timeout at most" is then a bound load cannot cross.
SLOW_TIMEOUT = 4.0


@pytest.fixture
def slow_redis_sessions(settings, redis_sessions):
    _use_redis(settings, redis_sessions, SOCKET_TIMEOUT=SLOW_TIMEOUT)
    settings.CACHE_RETRY_SECONDS = 600
    return redis_sessions


def test_logged_in_user_stays_logged_in_while_redis_is_unreachable(client, slow_redis_sessions):
    _log_in(client, make_user())
    assert slow_redis_sessions.session_keys(), "the session should be cached in Redis"

    slow_redis_sessions.pause()
    answers, seconds = _timed(lambda: [_logged_in(client) for _ in range(5)])

    assert answers == [True] * 5
    assert seconds < 2 * SLOW_TIMEOUT  # one socket timeout at most, then the breaker skips Redis


def test_login_works_while_redis_is_unreachable(client, slow_redis_sessions):
    user = make_user()
    slow_redis_sessions.pause()

    _, seconds = _timed(lambda: _log_in(client, user))

    assert _logged_in(client)
    assert seconds < 2 * SLOW_TIMEOUT


def test_logout_while_redis_was_unreachable_stays_logged_out_when_it_returns(
    client, redis_sessions
):
    _log_in(client, make_user())
    cookie = client.cookies["sessionid"].value
    redis_sessions.pause()

    client.post(reverse("blog:logout"))

    redis_sessions.resume()
    time.sleep(1.1)  # the breaker's retry window
    assert any(cookie in key for key in redis_sessions.session_keys()), (
        "the stale session must still be in Redis, or this test proves nothing"
    )
    client.cookies["sessionid"] = cookie
    assert not _logged_in(client)


def test_stock_django_redis_with_ignored_exceptions_resurrects_that_session(
    client, settings, private_redis
):
    """The trap this design removes, reproduced with the stock backend (security notes)."""
    _use_redis(settings, private_redis, backend="django_redis.cache.RedisCache")
    settings.DJANGO_REDIS_IGNORE_EXCEPTIONS = True
    settings.CACHES["default"]["OPTIONS"]["IGNORE_EXCEPTIONS"] = True
    _log_in(client, make_user())
    cookie = client.cookies["sessionid"].value
    private_redis.pause()
    client.post(reverse("blog:logout"))
    private_redis.resume()

    client.cookies["sessionid"] = cookie
    assert _logged_in(client)


def test_sessions_are_cached_again_once_redis_is_back(client, redis_sessions):
    user = make_user()
    redis_sessions.pause()
    _log_in(client, user)
    redis_sessions.resume()
    time.sleep(1.1)

    assert _logged_in(client)
    cookie = client.cookies["sessionid"].value
    assert any(cookie in key for key in redis_sessions.session_keys())


def test_changing_the_password_logs_out_the_other_sessions(client, redis_sessions):
    from django.test import Client

    user = make_user()
    other_device = Client()
    _log_in(client, user)
    _log_in(other_device, user)

    response = client.post(reverse("blog:password-change"), {
        "old_password": PASSWORD, "new_password1": "a-new-long-passphrase-42",
        "new_password2": "a-new-long-passphrase-42",
    })  # fmt: skip

    assert response.status_code == 302
    assert _logged_in(client)
    assert not _logged_in(other_device)


def test_rotating_the_secret_key_with_a_fallback_keeps_users_logged_in(settings):
    from django.test import Client

    with_fallback, without_fallback = Client(), Client()
    _log_in(with_fallback, make_user())
    _log_in(without_fallback, make_user())
    old_key = settings.SECRET_KEY
    settings.SECRET_KEY = "a-brand-new-secret-key-" + "x" * 40

    settings.SECRET_KEY_FALLBACKS = [old_key]
    assert _logged_in(with_fallback)  # and its session is re-signed with the new key
    settings.SECRET_KEY_FALLBACKS = []
    assert _logged_in(with_fallback)
    assert not _logged_in(without_fallback)


def test_every_instance_reads_the_same_session(redis_sessions):
    """Two clients with one cookie stand in for two instances behind the balancer."""
    from django.test import Client

    first, second = Client(), Client()
    _log_in(first, make_user())
    second.cookies["sessionid"] = first.cookies["sessionid"].value

    assert _logged_in(second)
