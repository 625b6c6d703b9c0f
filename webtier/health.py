"""Health endpoints: `/healthz` (liveness) and `/readyz` (readiness with detail).

Who asks what:

- The ALB target group checks `/healthz`. It only proves that nginx, gunicorn and
  Django answer on this instance, and touches nothing shared. If it checked the
  database or Redis, one slow dependency would fail every instance's check at once
  and the ALB would take the whole fleet out of service, turning "slow" into "down".
- `/readyz` is for deploy tooling (is this new instance able to serve before it
  joins the target group?), the local cluster and humans. It checks the writer,
  the replica, the cache and the media store concurrently, each bounded by
  `settings.READINESS_TIMEOUT`, so one answer never takes much longer than one
  timeout. A result is reused for READINESS_CACHE_SECONDS within a process, so a
  burst of probes costs one round of checks, not one per probe.

The timeout is meant for the dependency, not for us: `prepare()` (config/wsgi.py, in
each gunicorn worker before it accepts a request) builds the slow-to-make clients the
checks use (boto3's SQS and S3 clients: importing boto3 and loading a service model
cost up to a second of CPU on a loaded machine), so a fresh instance's first probe
measures SQS and S3, not botocore's loader.

Required checks (writer, media) failing → 503 `"fail"`; optional ones (replica,
cache) failing → 200 `"degraded"`: the site still works, only slower or with reads
on the writer.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import Future, wait
from dataclasses import dataclass
from functools import cache
from importlib.metadata import PackageNotFoundError, version

from django.conf import settings
from django.core.cache import caches
from django.core.cache.backends.locmem import LocMemCache
from django.db import connections
from django.http import HttpResponse, JsonResponse
from django.views.decorators.http import require_safe

from media_store import health as media_health

logger = logging.getLogger(__name__)

# How long one process reuses a readiness result.
READINESS_CACHE_SECONDS = 2.0
REQUIRED_CHECKS = ("writer", "media")
_DETAIL_MAX = 200

_now = time.monotonic  # a seam for tests
_lock = threading.Lock()
_last: dict = {}  # {"at": monotonic seconds, "report": dict, "status": int}
# A check that is still running (hung on a dead host) is waited on again rather
# than started twice, so a hung dependency costs at most one thread per check.
_inflight: dict[str, Future] = {}


class CheckFailed(Exception):
    """A dependency answered, but not the way a ready instance needs."""


def _writer_read_only(cursor) -> bool:
    # Aurora readers report innodb_read_only; a MySQL/MariaDB replica, read_only.
    cursor.execute("SELECT @@global.read_only, @@global.innodb_read_only")
    return any(bool(value) for value in cursor.fetchone())


def _check_writer() -> str:
    connection = connections["default"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
        if connection.vendor != "mysql":
            return f"SELECT 1 ok ({connection.vendor})"
        if _writer_read_only(cursor):
            raise CheckFailed("the writer is read-only: a failover left DATABASE_URL on a replica")
    return "SELECT 1 ok, writable"


def _check_replica() -> str:
    if "replica" not in settings.DATABASES:
        return "not configured"
    with connections["replica"].cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "SELECT 1 ok"


def _check_cache() -> str:
    backend = caches["default"]
    token = uuid.uuid4().hex
    # No delete: the key expires by itself. With Redis down, a failed delete would
    # bump the database-held cache epoch (webtier/cache.py) on every probe.
    backend.set(f"readyz:{token}", token, timeout=10)
    value = backend.get(f"readyz:{token}")
    if value != token:
        # The resilient backend swallows Redis errors (and logs them): a lost value
        # is how an unreachable Redis shows up here.
        raise CheckFailed("set+get round trip lost the value: is Redis reachable? (see the log)")
    if isinstance(backend, LocMemCache):
        return "local memory (REDIS_URL unset): this process only"
    return "set+get round trip ok"


def _check_media() -> str:
    # Write+read+delete a probe (S3: head_bucket); efs also re-checks its mount.
    return media_health.probe()


@dataclass(frozen=True)
class _Extra:
    check: Callable[[], str]
    enabled: Callable[[], bool]
    required: Callable[[], bool]
    prepare: Callable[[], object] | None


# Checks that apps add in their ready() (the worker tier's queue), by name.
_extra: dict[str, _Extra] = {}


def register_check(
    name: str,
    check: Callable[[], str],
    *,
    enabled: Callable[[], bool] = lambda: True,
    required: Callable[[], bool] = lambda: False,
    prepare: Callable[[], object] | None = None,
) -> None:
    """Add a readiness check: `check()` returns a detail or raises; `required()` failing
    makes the instance unready (503), otherwise only "degraded". `prepare()`, if given,
    builds what the check needs without touching the network (a client); `prepare()`
    below runs it once per process, ahead of the first probe."""
    _extra[name] = _Extra(check, enabled, required, prepare)


def prepare() -> dict[str, float]:
    """Build the clients of the enabled checks now, not inside the first probe's budget.

    Nothing here touches the network, so a dependency that is down cannot stop a
    process from starting: its check reports it. A failure is logged and left for the
    probe to report too. Returns the milliseconds each preparation took.
    """
    steps: dict[str, Callable[[], object]] = {"media": media_health.prepare}
    steps.update({name: e.prepare for name, e in _extra.items() if e.prepare and e.enabled()})
    took = {}
    for name, step in steps.items():
        started = time.perf_counter()
        try:
            step()
        except Exception:
            logger.exception("readiness: preparing the %s check failed", name)
        took[name] = round((time.perf_counter() - started) * 1000, 1)
    logger.info("readiness: checks prepared (ms): %s", took)
    return took


def _required() -> tuple[str, ...]:
    extra = tuple(name for name, e in _extra.items() if e.enabled() and e.required())
    return (*REQUIRED_CHECKS, *extra)


def _close_thread_connections() -> None:
    # Connections are per thread and this thread is about to end: close whatever the
    # check opened (the cache check may read the cache epoch from the database).
    try:
        connections.close_all()
        caches.close_all()
    except Exception:
        logger.exception("readiness: closing a check's connections failed")


def _run_one(check: Callable[[], str]) -> dict:
    started = time.perf_counter()
    try:
        ok, detail = True, check()
    except Exception as exc:
        ok, detail = False, f"{type(exc).__name__}: {exc}"[:_DETAIL_MAX]
    ms = round((time.perf_counter() - started) * 1000, 1)
    _close_thread_connections()
    return {"ok": ok, "ms": ms, "detail": detail}


def _start(name: str, check: Callable[[], str]) -> Future:
    running = _inflight.get(name)
    if running is not None and not running.done():
        return running
    future: Future = Future()
    future.set_running_or_notify_cancel()

    def target() -> None:
        future.set_result(_run_one(check))

    # Daemon threads, not a ThreadPoolExecutor: the executor's workers are joined
    # at interpreter exit, so a check hung in a MySQL connect would hold a gunicorn
    # worker past SIGTERM until graceful_timeout kills it.
    threading.Thread(target=target, name=f"readyz-{name}", daemon=True).start()
    _inflight[name] = future
    return future


def _run_checks() -> dict[str, dict]:
    checks = {
        "writer": _check_writer,
        "replica": _check_replica,
        "cache": _check_cache,
        "media": _check_media,
    }
    checks.update({name: e.check for name, e in _extra.items() if e.enabled()})
    timeout = settings.READINESS_TIMEOUT
    futures = {name: _start(name, check) for name, check in checks.items()}
    wait(futures.values(), timeout=timeout)
    results = {}
    for name, future in futures.items():
        if future.done():
            results[name] = future.result()
        else:
            results[name] = {
                "ok": False,
                "ms": round(timeout * 1000, 1),
                "detail": f"timed out after {timeout:g}s",
            }
    return results


@cache
def _app_version() -> str:
    try:
        return version("cloudblog")
    except PackageNotFoundError:
        return "dev"


def _report() -> tuple[dict, int]:
    results = _run_checks()
    if not all(results[name]["ok"] for name in _required() if name in results):
        status, code = "fail", 503
    elif not all(result["ok"] for result in results.values()):
        status, code = "degraded", 200
    else:
        status, code = "ok", 200
    if status != "ok":
        failed = {name: r["detail"] for name, r in results.items() if not r["ok"]}
        logger.warning("readiness %s: %s", status, failed)
    report = {
        "status": status,
        "hostname": socket.gethostname(),
        "version": _app_version(),
        "checks": results,
    }
    return report, code


def forget() -> None:
    """Drop the reused result and the checks in flight (tests; a process after a fork)."""
    with _lock:
        _last.clear()
        _inflight.clear()


@require_safe
def healthz(request):
    """Liveness for the ALB: no database, cache, session or template."""
    response = HttpResponse("ok", content_type="text/plain")
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def readyz(request):
    """Readiness with detail; see the module docstring for who should call it."""
    # One probe at a time per process: the others wait (at most about one timeout)
    # and get the fresh result instead of starting their own round of checks.
    with _lock:
        age = _now() - _last["at"] if _last else None
        if age is None or age >= READINESS_CACHE_SECONDS:
            report, code = _report()
            _last.update(at=_now(), report=report, status=code)
            age = 0.0
        report, code = _last["report"], _last["status"]
    response = JsonResponse({**report, "age_s": round(age, 2)}, status=code)
    response["Cache-Control"] = "no-store"
    return response
