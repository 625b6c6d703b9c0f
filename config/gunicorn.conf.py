"""gunicorn settings for one web instance: `gunicorn -c config/gunicorn.conf.py`.

The chain is ALB → nginx (same host) → gunicorn → Django; in the local cluster
haproxy stands where the ALB and nginx are. Every value is overridable from the
environment (GUNICORN_*); a malformed value stops gunicorn with the variable's name.

Shutdown: SIGTERM (what systemd sends) is graceful. The arbiter closes the listening
socket, asks each worker to stop, and workers finish the requests they are serving
for up to `graceful_timeout` seconds before the arbiter kills them; then it exits 0.
SIGQUIT and SIGINT stop at once. Deregister the instance from the ALB target group
first (the deregistration delay lets the ALB drain it), then send SIGTERM.

Pinned to gunicorn 23 (pyproject.toml). 23 parses HTTP strictly (malformed chunked
bodies, bad Transfer-Encoding and header names are refused with 400) and drops request
headers whose names contain "_" (header_map, since 22). gunicorn 25 adds a control
socket that is on by default; when upgrading, set `control_socket` to a directory the
service user can write to (e.g. under /run) or switch it off.
"""

import importlib
import json
import os
from datetime import UTC, datetime

from gunicorn.glogging import Logger


def _env_int(name, default, minimum=1):
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise SystemExit(f"{name} must be at least {minimum}, got {value}")
    return value


def _cpu_count():
    # The CPUs this process may run on (cgroups, taskset), not the host's.
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:
        return os.cpu_count() or 1


class JsonAccessLogger(Logger):
    """One JSON object per request on the access log.

    gunicorn's `access_log_format` pastes atoms into a string without escaping, so a
    quote in a User-Agent would break a JSON line; json.dumps escapes everything.
    """

    def access(self, resp, req, environ, request_time):
        cfg = self.cfg
        # The same test as the stock Logger: is any access log configured at all?
        if not (
            cfg.accesslog
            or cfg.logconfig
            or cfg.logconfig_dict
            or cfg.logconfig_json
            or (cfg.syslog and not cfg.disable_redirect_access_to_syslog)
        ):
            return
        response_headers = {name.lower(): value for name, value in resp.headers}
        status = getattr(resp, "status_code", None)
        line = {
            "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
            "remote": environ.get("REMOTE_ADDR"),
            "forwarded_for": environ.get("HTTP_X_FORWARDED_FOR"),
            "method": environ.get("REQUEST_METHOD"),
            "path": environ.get("PATH_INFO"),
            "query": environ.get("QUERY_STRING") or None,
            "status": status,
            "bytes": getattr(resp, "sent", None),
            "duration_ms": round(request_time.total_seconds() * 1000, 3),
            # Set by webtier.request.RequestIdMiddleware; ties this line to app logs.
            "request_id": response_headers.get("x-request-id"),
            "user_agent": environ.get("HTTP_USER_AGENT"),
            "referer": environ.get("HTTP_REFERER"),
        }
        try:
            self.access_log.info("%s", json.dumps(line))
        except Exception:
            self.exception("could not write the access log line")


wsgi_app = "config.wsgi:application"
bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")

# The app mostly waits on MySQL and Redis: 2n+1 processes, 2 threads each.
# threads > 1 selects the gthread worker, which also honours keepalive (sync does not).
# Each thread may hold a database connection: workers x threads x instances must stay
# below the writer's max_connections.
workers = _env_int("GUNICORN_WORKERS", 2 * _cpu_count() + 1)
threads = _env_int("GUNICORN_THREADS", 2)

# A worker silent this long is killed and replaced. With threads (gthread) the
# heartbeat comes from the worker's main loop, so this does not end one slow request:
# nginx's proxy_read_timeout (60 s default) answers the client with a 504 instead.
timeout = _env_int("GUNICORN_TIMEOUT", 30)
# On SIGTERM a request may run as long as it could have anyway; systemd's
# TimeoutStopSec and the ALB deregistration delay must be longer than this.
graceful_timeout = _env_int("GUNICORN_GRACEFUL_TIMEOUT", timeout)
# Longer than the idle timeout of whatever holds connections open to us (ALB 60 s,
# haproxy, nginx upstream keepalive), so the client side always closes first and
# never sends a request on a connection we are closing (a 502 at the ALB).
keepalive = _env_int("GUNICORN_KEEPALIVE", 75)
# Recycling is off: at 1,500 requests/s a limit of 2,000 restarted a worker every few
# seconds, and each restart dropped its keep-alive connections (bench/README.md).
# Set it if a worker's memory is seen to grow.
max_requests = _env_int("GUNICORN_MAX_REQUESTS", 0, minimum=0)
max_requests_jitter = _env_int("GUNICORN_MAX_REQUESTS_JITTER", 200, minimum=0)

# Trust X-Forwarded-Proto/For only from nginx on this host; never "*" behind an ALB.
forwarded_allow_ips = os.environ.get("GUNICORN_FORWARDED_ALLOW_IPS", "127.0.0.1")

accesslog = "-"
errorlog = "-"
logger_class = JsonAccessLogger


# What a server process runs as it exits, named as a string like wsgi_app: this file is
# read when gunicorn starts, before and without Django, and imports no app. The hook lets
# the task outbox's sender (worker/outbox.py) send rows committed by this worker's
# requests, for up to WORKER_OUTBOX_DRAIN_SECONDS; what it cannot send, the sweeper does.
EXIT_HOOK = "worker.lifecycle:process_exit"


def worker_exit(server, worker):
    module, _, name = EXIT_HOOK.partition(":")
    try:
        getattr(importlib.import_module(module), name)()
    except Exception:
        server.log.exception("the exit hook %s failed", EXIT_HOOK)
