"""Launching and readiness of each local-cluster component, and the app's environment.

One function per question: how is a component started (`launch`), when is it ready
(`await_ready`), what environment does the app get (`app_env`). `ops.cluster` strings
these together into commands.
"""

from __future__ import annotations

import contextlib
import http.client
import importlib.util
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from ops import cluster_db as db
from ops import cluster_lb as lb
from ops import cluster_sqs as sqs
from ops.cluster_proc import is_running, port_free, spawn, start_time_of, tail, wait_until
from ops.cluster_state import HOST, MAX_SOCKET_PATH, PROJECT_ROOT, Cluster, database_url

DATABASES = ("primary", "replica")
READY_TIMEOUT = {"primary": 30.0, "replica": 30.0, "redis": 10.0, "haproxy": 30.0, "sqs": 30.0}
WEB_READY_TIMEOUT = 60.0
# What a web instance inherits from the caller; the app's own settings never leak in.
_INHERITED = {"PATH", "HOME", "LANG", "LANGUAGE", "TZ", "TMPDIR", "VIRTUAL_ENV"}
_PROGRAMS = {
    "haproxy": "apt-get install haproxy",
    "mariadbd": "apt-get install mariadb-server",
    "mariadb-install-db": "apt-get install mariadb-server",
    "mariadb": "apt-get install mariadb-client",
    "redis-server": "apt-get install redis-server",
}
_MODULES = {"gunicorn": "gunicorn", "MySQLdb": "mysqlclient", "django_redis": "django-redis"}
# moto's server stands in for SQS: it comes with the test extras, not with production.
_TEST_MODULES = {"moto": "moto[server]", "flask": "moto[server]"}
# run_worker says this once it has read its queue's attributes: it is consuming.
_WORKER_READY = "run_worker: "
# Where each worker's log stood when it was launched: readiness is read after that.
_log_offsets: dict[str, int] = {}


# manage.py runs in flight, killed if we are interrupted (they run in their own session).
_children: list[subprocess.Popen] = []


class ClusterError(Exception):
    """A problem the operator can fix; the message says how."""


def program(name: str) -> str:
    found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/sbin")
    if not found:
        raise ClusterError(f"{name} is not installed: {_PROGRAMS[name]}")
    return found


def check_prerequisites() -> None:
    problems = []
    for name in _PROGRAMS:
        try:
            program(name)
        except ClusterError as exc:
            problems.append(str(exc))
    modules = [pkg for mod, pkg in _MODULES.items() if importlib.util.find_spec(mod) is None]
    if modules:
        problems.append(
            f"{', '.join(modules)} missing from {sys.executable}: pip install -e '.[services]'"
        )
    test_modules = sorted(
        {pkg for mod, pkg in _TEST_MODULES.items() if importlib.util.find_spec(mod) is None}
    )
    if test_modules:
        problems.append(
            f"{', '.join(test_modules)} (the cluster's SQS) missing from {sys.executable}: "
            "pip install -e '.[test]'"
        )
    if problems:
        raise ClusterError("\n".join(problems))


def check_paths(cluster: Cluster) -> None:
    sockets = [cluster.haproxy_socket, *(db.socket_path(cluster.db_dir(n)) for n in DATABASES)]
    too_long = [str(path) for path in sockets if len(str(path)) > MAX_SOCKET_PATH]
    if too_long:
        raise ClusterError(
            f"--dir is too deep for Unix sockets ({MAX_SOCKET_PATH} characters at most): "
            + ", ".join(too_long)
        )


def check_ports_free(cluster: Cluster, names: list[str]) -> None:
    busy = [
        f"{n} {cluster.port(n)}" for n in cluster.listening(names) if not port_free(cluster.port(n))
    ]
    if busy:
        raise ClusterError(
            "ports in use by another program: "
            + ", ".join(busy)
            + " (pick others with --port, --web-port, --primary-port, --replica-port,"
            " --redis-port, --sqs-port)"
        )


def running(cluster: Cluster, name: str) -> bool:
    proc = cluster.processes.get(name, {})
    return is_running(proc.get("pid"), proc.get("start_time"))


def app_env(cluster: Cluster, secrets: dict[str, str], instance: str | None = None) -> dict:
    """The environment of a web instance or worker (without `instance`, of a manage.py run)."""
    inherited = {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith("LC_")}
    password = secrets["app_password"]
    env = {
        **inherited,
        "PYTHONUNBUFFERED": "1",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY_FILE": str(cluster.secret_key_file),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        # Plain HTTP on loopback: no TLS proxy in front, so no secure-only cookies.
        "SECURE_SSL_REDIRECT": "false",
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "DJANGO_BEHIND_TLS_PROXY": "false",
        "SECURE_HSTS_SECONDS": "0",
        "DATABASE_URL": database_url(cluster, cluster.writer, password),
        "REDIS_URL": f"redis://{HOST}:{cluster.port('redis')}/0",
        "MEDIA_ROOT": str(cluster.media),
        "STATIC_ROOT": str(cluster.static),
        # haproxy appends the client to X-Forwarded-For.
        "TRUSTED_PROXY_COUNT": "1",
        "EDGE_CACHE_SECONDS": str(cluster.settings.edge_cache),
        # The sitemap's periodic refresh renders for the address visitors use.
        "SITE_URL": cluster.url,
        # Tasks go through SQS (moto) to the workers, as on the production worker tier.
        "TASKS_BACKEND": "sqs",
        "WORKER_QUEUE_URL": sqs.queue_url(cluster),
        # Production settings with SQS refuse to start without it (worker/views.py).
        "WORKER_SHARED_SECRET": secrets["worker_secret"],
        **sqs.environment(cluster),
        # Below the queue's visibility: a killed worker's job is taken over when its
        # message comes back, not refused as still running (worker/jobs.py).
        "WORKER_TASK_TIME_LIMIT": str(max(cluster.settings.queue_visibility - 1, 1)),
        # A short long-poll, so that a worker asked to stop exits within `down`'s timeout.
        "WORKER_POLL_SECONDS": "2",
        # One file per message under mail/: tests and people read what was sent.
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(cluster.mail),
    }
    if cluster.writer == "primary":
        env["DATABASE_REPLICA_URL"] = database_url(cluster, "replica", password)
    if cluster.settings.session_store:
        env["SESSION_STORE"] = cluster.settings.session_store
    env.update(cluster.settings.extra_env)
    if instance and instance.startswith("worker"):
        env.update(CLOUDBLOG_INSTANCE=instance, WORKER_INSTANCE="true")
    elif instance:
        env.update(
            CLOUDBLOG_INSTANCE=instance,
            GUNICORN_BIND=f"{HOST}:{cluster.port(instance)}",
            GUNICORN_WORKERS=str(cluster.settings.workers),
        )
    return env


def manage(cluster: Cluster, secrets: dict[str, str], *args: str) -> subprocess.Popen:
    """Start `manage.py args...` against the cluster's writer, output to logs/manage.log."""
    with cluster.log("manage").open("a") as log:
        log.write(f"\n$ manage.py {' '.join(args)}\n")
    proc = spawn(
        [sys.executable, str(PROJECT_ROOT / "manage.py"), *args],
        env=app_env(cluster, secrets),
        log=cluster.log("manage"),
        cwd=PROJECT_ROOT,
    )
    _children.append(proc)
    return proc


def kill_children() -> None:
    for proc in _children:
        _end(proc)


def _end(proc: subprocess.Popen) -> None:
    """Kill a manage.py run and whatever it started (its own session), and reap it."""
    if proc.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def finish(proc: subprocess.Popen, what: str, log: Path, timeout: float = 300) -> None:
    """Wait for a short manage.py step; past `timeout` it is killed, never left running."""
    try:
        code = proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        _end(proc)
        raise ClusterError(f"{what} took over {timeout:g}s and was stopped; {log}") from None
    if code != 0:
        raise ClusterError(f"{what} failed (exit {code}); {log}:\n{tail(log)}")


def follow(
    proc: subprocess.Popen,
    what: str,
    log: Path,
    *,
    say: Callable[[str], None],
    prefix: str = "seeded ",
    interval: float = 1.0,
) -> None:
    """Wait for a long manage.py step with no deadline, showing its progress lines.

    A seed of 100,000 posts takes minutes and grows with N: a fixed timeout would kill
    it half-way (it did, at 300 s). Lines it writes that start with `prefix` are shown
    as they come. If we stop waiting (Ctrl-C, SIGTERM, an error) the step is killed,
    never left running on its own.
    """
    offset = log.stat().st_size if log.exists() else 0
    try:
        while True:
            done = proc.poll() is not None
            with log.open("rb") as handle:
                handle.seek(offset)
                chunk = handle.read()
            complete = chunk[: chunk.rfind(b"\n") + 1]
            offset += len(complete)
            for line in complete.decode(errors="replace").splitlines():
                if line.startswith(prefix):
                    say(f"    {what}: {line}")
            if done:
                break
            time.sleep(interval)
    except BaseException:
        _end(proc)
        raise
    if proc.returncode != 0:
        raise ClusterError(f"{what} failed (exit {proc.returncode}); {log}:\n{tail(log)}")


def _gunicorn_flags() -> list[str]:
    # gunicorn 25+ opens a control socket under ~/.gunicorn shared by every instance.
    from gunicorn.config import KNOWN_SETTINGS

    flags = {flag for setting in KNOWN_SETTINGS for flag in (setting.cli or ())}
    return ["--no-control-socket"] if "--no-control-socket" in flags else []


def _redis_argv(cluster: Cluster) -> list[str]:
    data = cluster.dir / "redis"
    data.mkdir(exist_ok=True)
    persistence = (
        ["--appendonly", "yes", "--appendfsync", "everysec"]
        if cluster.settings.redis_persist
        else ["--appendonly", "no"]
    )
    return [
        program("redis-server"),
        "--port", str(cluster.port("redis")),
        "--bind", HOST,
        "--save", "",
        *persistence,
        "--dir", str(data),
        "--daemonize", "no",
    ]  # fmt: skip


def write_db_cnf(cluster: Cluster, name: str) -> None:
    # Regenerated on every start: after `promote` the old primary comes back read-only.
    db.write_cnf(
        name=name,
        base=cluster.db_dir(name),
        port=cluster.port(name),
        log=cluster.log(name),
        read_only=name != cluster.writer,
        as_root=os.geteuid() == 0,
    )


def launch(cluster: Cluster, secrets: dict[str, str], name: str) -> subprocess.Popen:
    """Start one component detached, in its own process group, and record it."""
    env = {k: v for k, v in os.environ.items() if k in _INHERITED or k.startswith("LC_")}
    if name in DATABASES:
        write_db_cnf(cluster, name)
        argv = db.server_argv(cluster.db_dir(name), program("mariadbd"))
    elif name == "redis":
        argv = _redis_argv(cluster)
    elif name == "sqs":
        argv = sqs.server_argv(cluster)
    elif name.startswith("worker"):
        argv = [sys.executable, str(PROJECT_ROOT / "manage.py"), "run_worker"]
        env = app_env(cluster, secrets, name)
        log = cluster.log(name)
        _log_offsets[name] = log.stat().st_size if log.exists() else 0
    elif name == "haproxy":
        cluster.haproxy_cfg.write_text(
            lb.render_cfg(
                host=HOST,
                port=cluster.port("haproxy"),
                admin_socket=cluster.haproxy_socket,
                servers={web: cluster.port(web) for web in cluster.webs},
                edge_cache_seconds=cluster.settings.edge_cache,
            )
        )
        cluster.haproxy_socket.unlink(missing_ok=True)
        argv = [program("haproxy"), "-db", "-f", str(cluster.haproxy_cfg)]
    else:
        # The venv's script when there is one: `ps` then says gunicorn, not python.
        script = Path(sys.executable).with_name("gunicorn")
        runner = [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]
        argv = [*runner, "-c", "config/gunicorn.conf.py", *_gunicorn_flags()]
        env = app_env(cluster, secrets, name)
    proc = spawn(argv, env=env, log=cluster.log(name), cwd=PROJECT_ROOT)
    cluster.record(name, proc.pid, start_time_of(proc.pid))
    return proc


def _http_ok(port: int, path: str) -> bool:
    conn = http.client.HTTPConnection(HOST, port, timeout=2)
    try:
        conn.request("GET", path, headers={"Host": HOST})
        return conn.getresponse().status == 200
    except OSError:
        return False
    finally:
        conn.close()


def _redis_ok(port: int) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=1) as conn:
            conn.sendall(b"PING\r\n")
            return conn.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def haproxy_stats(cluster: Cluster) -> dict[str, dict[str, str]]:
    try:
        return lb.server_stats(cluster.haproxy_socket)
    except OSError:
        return {}


def serving(cluster: Cluster, webs: list[str]) -> bool:
    """Has haproxy's own check passed for each of `webs`?"""
    stats = haproxy_stats(cluster)
    return all(lb.is_serving(stats.get(web)) for web in webs)


def _worker_consuming(cluster: Cluster, name: str) -> bool:
    try:
        with cluster.log(name).open("rb") as log:
            log.seek(_log_offsets.get(name, 0))
            return _WORKER_READY.encode() in log.read()
    except OSError:
        return False


def is_ready(cluster: Cluster, name: str) -> bool:
    if name in DATABASES:
        return db.ping(cluster.db_dir(name))
    if name == "redis":
        return _redis_ok(cluster.port(name))
    if name == "sqs":
        return sqs.ping(cluster)
    if name.startswith("worker"):
        return _worker_consuming(cluster, name)
    if name == "haproxy":
        return serving(cluster, [web for web in cluster.webs if running(cluster, web)])
    return _http_ok(cluster.port(name), "/healthz")


def await_ready(cluster: Cluster, name: str, proc: subprocess.Popen | None = None) -> float:
    """Wait until `name` answers; seconds it took. Fails early when the process dies."""
    started = time.monotonic()
    timeout = READY_TIMEOUT.get(name, WEB_READY_TIMEOUT)

    def ready() -> bool:
        if (proc is not None and proc.poll() is not None) or not running(cluster, name):
            raise ClusterError(
                f"{name} exited during start; {cluster.log(name)}:\n{tail(cluster.log(name))}"
            )
        return is_ready(cluster, name)

    if not wait_until(ready, timeout, interval=0.1):
        raise ClusterError(
            f"{name} was not ready after {timeout:g}s; {cluster.log(name)}:\n"
            f"{tail(cluster.log(name))}"
        )
    return time.monotonic() - started
