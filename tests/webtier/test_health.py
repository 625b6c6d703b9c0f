"""/healthz (liveness, what the ALB checks) and /readyz (readiness, for deploy tooling)."""

from __future__ import annotations

import socket
import threading
import time
from contextlib import ExitStack
from importlib.metadata import PackageNotFoundError, version

import pytest
from django.core.cache import caches
from django.db import connections
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from tests.net import unused_port
from webtier import health
from webtier.cache import reset_breaker

CACHE_METHODS = (
    "get",
    "set",
    "add",
    "delete",
    "get_many",
    "set_many",
    "delete_many",
    "has_key",
    "incr",
    "touch",
    "get_or_set",
)
on_mysql = pytest.mark.skipif(
    connections["default"].vendor != "mysql", reason="the read-only check is MySQL's"
)


pytestmark = pytest.mark.usefixtures("fresh_readiness")


@pytest.fixture
def cache_calls(monkeypatch):
    """Names of the default cache's methods called in this thread, in order."""
    calls: list[str] = []
    backend = caches["default"]
    for name in CACHE_METHODS:
        original = getattr(backend, name)

        def spy(*args, _name=name, _original=original, **kwargs):
            calls.append(_name)
            return _original(*args, **kwargs)

        monkeypatch.setattr(backend, name, spy)
    return calls


def _fail(message):
    def check():
        raise health.CheckFailed(message)

    return check


# --- /healthz ---------------------------------------------------------------


@pytest.mark.django_db
def test_healthz_answers_ok_without_touching_database_or_cache(client, settings, cache_calls):
    # The production middleware stack: page cache on for the anonymous probe, and a
    # session cookie on the second that the session middleware must not load.
    settings.PAGE_CACHE_SECONDS = 300
    with ExitStack() as stack:
        captured = [stack.enter_context(CaptureQueriesContext(c)) for c in connections.all()]
        anonymous = client.get(reverse("healthz"))
        client.cookies["sessionid"] = "a" * 32
        with_session = client.get(reverse("healthz"))

    for response in (anonymous, with_session):
        assert response.status_code == 200
        assert response.content == b"ok"
        assert response["Content-Type"].startswith("text/plain")
        assert response["Cache-Control"] == "no-store"
        assert response["X-Request-ID"]
        assert not response.cookies
    assert [len(c.captured_queries) for c in captured] == [0] * len(captured)
    assert cache_calls == []


def test_healthz_answers_while_database_access_is_blocked(client):
    # No `db` fixture: pytest-django raises on any database access.
    response = client.get("/healthz")

    assert response.status_code == 200


@pytest.mark.django_db
def test_health_endpoints_are_not_redirected_to_https(client, settings, media_root):
    settings.SECURE_SSL_REDIRECT = True

    assert client.get(reverse("robots-txt")).status_code == 301
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200


# --- /readyz ----------------------------------------------------------------


@pytest.mark.django_db
def test_readyz_reports_every_check_ok_when_everything_is_up(client, media_root):
    response = client.get(reverse("readyz"))

    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "ok"
    assert body["hostname"] == socket.gethostname()
    try:
        expected_version = version("cloudblog")
    except PackageNotFoundError:
        expected_version = "dev"
    assert body["version"] == expected_version
    assert set(body["checks"]) == {"writer", "replica", "cache", "media"}
    for result in body["checks"].values():
        assert result["ok"] is True
        assert isinstance(result["ms"], float)
        assert isinstance(result["detail"], str)
    if "replica" not in connections.settings:
        assert body["checks"]["replica"]["detail"] == "not configured"
    if connections["default"].vendor == "mysql":
        assert body["checks"]["writer"]["detail"] == "SELECT 1 ok, writable"


@pytest.mark.django_db
def test_readyz_fails_when_the_writer_is_unreachable(client, media_root, tmp_path):
    # Worker threads open their own connection from this shared settings dict; the
    # test's own connection is already open and stays untouched.
    settings_dict = connections["default"].settings_dict
    saved = dict(settings_dict)
    if connections["default"].vendor == "mysql":
        settings_dict.update(HOST="127.0.0.1", PORT=str(unused_port()))
    else:
        settings_dict["NAME"] = str(tmp_path / "no-such-dir" / "db.sqlite3")
    try:
        response = client.get("/readyz")
    finally:
        settings_dict.clear()
        settings_dict.update(saved)

    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert body["checks"]["writer"]["ok"] is False
    assert "OperationalError" in body["checks"]["writer"]["detail"]
    assert body["checks"]["media"]["ok"] is True
    health._last.clear()
    assert client.get("/readyz").status_code == 200


@pytest.mark.django_db
def test_readyz_is_degraded_when_redis_is_unreachable(client, settings, media_root):
    configured = settings.CACHES["default"]
    if "redis" not in configured["BACKEND"].lower():  # REDIS_URL unset: build what it would
        configured = {
            "BACKEND": "webtier.redis_cache.ResilientRedisCache",
            "KEY_FUNCTION": "webtier.cache.make_key",
        }
    dead_redis = {
        **configured,
        "LOCATION": "redis://127.0.0.1:1/0",
        "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
    }
    original_backend = type(caches["default"])
    try:
        with override_settings(CACHES={"default": dead_redis}):
            response = client.get("/readyz")
    finally:
        # The failure opened the per-process breaker: close it for the tests after us.
        reset_breaker()

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["checks"]["cache"]["ok"] is False
    assert "Redis" in body["checks"]["cache"]["detail"]
    assert body["checks"]["writer"]["ok"] is True
    # The real cache is back for the tests that follow.
    assert type(caches["default"]) is original_backend
    caches["default"].set("after-readyz", 1)
    assert caches["default"].get("after-readyz") == 1


@on_mysql
@pytest.mark.django_db
def test_readyz_fails_when_the_writer_is_read_only(client, media_root, monkeypatch):
    monkeypatch.setattr(health, "_writer_read_only", lambda cursor: True)

    response = client.get("/readyz")

    assert response.status_code == 503
    writer = response.json()["checks"]["writer"]
    assert writer["ok"] is False
    assert "read-only" in writer["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("make_root", "detail"),
    [
        (lambda root: None, "does not exist"),
        (lambda root: root.write_text("not a dir"), "is not a directory"),
    ],
    ids=["missing", "a-file"],
)
def test_readyz_fails_when_media_root_is_unusable(client, settings, tmp_path, make_root, detail):
    settings.MEDIA_ROOT = tmp_path / "mnt" / "efs"
    settings.MEDIA_ROOT.parent.mkdir()
    make_root(settings.MEDIA_ROOT)

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    media = response.json()["checks"]["media"]
    assert media["ok"] is False
    assert detail in media["detail"]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("failing", "code", "status"),
    [
        ("writer", 503, "fail"),
        ("media", 503, "fail"),
        ("replica", 200, "degraded"),
        ("cache", 200, "degraded"),
    ],
)
def test_only_writer_and_media_failures_make_the_instance_unready(
    client, media_root, monkeypatch, failing, code, status
):
    monkeypatch.setattr(health, f"_check_{failing}", _fail("broken on purpose"))

    response = client.get("/readyz")

    assert response.status_code == code
    body = response.json()
    assert body["status"] == status
    assert [name for name, r in body["checks"].items() if not r["ok"]] == [failing]
    assert body["checks"][failing]["detail"] == "CheckFailed: broken on purpose"


@pytest.mark.django_db
def test_hung_checks_cost_one_timeout_not_the_sum(client, settings, media_root, monkeypatch):
    settings.READINESS_TIMEOUT = 0.4
    release = threading.Event()

    def hang():
        release.wait(10)
        return "too late"

    monkeypatch.setattr(health, "_check_writer", hang)
    monkeypatch.setattr(health, "_check_media", hang)
    started = time.monotonic()
    try:
        response = client.get("/readyz")
        elapsed = time.monotonic() - started
    finally:
        release.set()

    assert elapsed < 1.5 * settings.READINESS_TIMEOUT
    assert response.status_code == 503
    checks = response.json()["checks"]
    assert checks["writer"] == {"ok": False, "ms": 400.0, "detail": "timed out after 0.4s"}
    assert checks["media"]["detail"] == "timed out after 0.4s"
    assert checks["cache"]["ok"] is True


@pytest.mark.django_db
def test_a_hung_check_is_not_started_again_while_it_runs(client, settings, media_root, monkeypatch):
    settings.READINESS_TIMEOUT = 0.1
    clock = [1000.0]
    monkeypatch.setattr(health, "_now", lambda: clock[0])
    release = threading.Event()
    started = []

    def hang():
        started.append(1)
        release.wait(10)
        return "answered at last"

    monkeypatch.setattr(health, "_check_replica", hang)
    try:
        first = client.get("/readyz").json()
        clock[0] += health.READINESS_CACHE_SECONDS
        second = client.get("/readyz").json()
        started_while_hung = len(started)
    finally:
        release.set()
    health._inflight["replica"].result(timeout=5)
    clock[0] += health.READINESS_CACHE_SECONDS
    third = client.get("/readyz").json()

    assert first["status"] == second["status"] == "degraded"
    assert second["checks"]["replica"]["detail"] == "timed out after 0.1s"
    assert started_while_hung == 1
    # Once the old check has finished, the next probe runs a fresh one.
    assert len(started) == 2
    assert third["status"] == "ok"
    assert third["checks"]["replica"]["detail"] == "answered at last"


@pytest.mark.django_db
def test_readiness_is_reused_for_two_seconds(client, media_root, monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(health, "_now", lambda: clock[0])

    assert client.get("/readyz").json()["status"] == "ok"
    media_root.rmdir()
    clock[0] += health.READINESS_CACHE_SECONDS - 0.1
    cached = client.get("/readyz")
    clock[0] += 0.2
    fresh = client.get("/readyz")

    assert health.READINESS_CACHE_SECONDS == 2
    assert cached.status_code == 200
    assert cached.json()["age_s"] == 1.9
    assert fresh.status_code == 503
    assert fresh.json()["age_s"] == 0
