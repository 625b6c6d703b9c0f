"""Real gunicorn processes on config/gunicorn.conf.py, for tests that need a live server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.db import connection

ROOT = Path(__file__).resolve().parents[1]
GUNICORN = Path(sys.executable).parent / "gunicorn"
# The test run's own settings must not leak into the server's: it reads only what we give.
_NOT_INHERITED = ("GUNICORN_", "DATABASE_", "REDIS_", "DJANGO_", "MEDIA_", "LOGIN_")


def server_environ(var_dir: Path, **settings: str) -> dict[str, str]:
    """The environment of a server whose data lives under `var_dir` (media included)."""
    if not GUNICORN.exists():
        pytest.skip(f"{GUNICORN} is not installed")
    env = {key: value for key, value in os.environ.items() if not key.startswith(_NOT_INHERITED)}
    (var_dir / "media").mkdir(exist_ok=True)
    env.update(CLOUDBLOG_VAR_DIR=str(var_dir), DJANGO_DEBUG="true", **settings)
    return env


def test_database_url() -> str:
    """The test database, as a URL a server process can share (MariaDB only)."""
    db = connection.settings_dict
    if db["ENGINE"] != "django.db.backends.mysql":
        pytest.skip(
            "a server sharing the test data needs a database server (DATABASE_URL=mysql://...)"
        )
    auth = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"mysql://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 3306}/{db['NAME']}"


test_database_url.__test__ = False  # a helper, not a test, despite its name


def wait_for_port(port: int, proc: subprocess.Popen, log: Path, deadline: float = 15) -> None:
    until = time.monotonic() + deadline
    while time.monotonic() < until:
        if proc.poll() is not None:
            pytest.fail(f"gunicorn exited with {proc.returncode}:\n{log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"gunicorn did not listen on {port}:\n{log.read_text()}")


@contextmanager
def running_gunicorn(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """gunicorn on env's GUNICORN_BIND, listening when this yields; killed on the way out
    if the test did not stop it itself (a test of SIGTERM stops it and checks the code)."""
    port = int(env["GUNICORN_BIND"].rsplit(":", 1)[1])
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(port, proc, log)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
