"""A real gunicorn on config/gunicorn.conf.py: JSON access log lines and a clean SIGTERM."""

from __future__ import annotations

import json
import os
import runpy
import signal
import subprocess
import sys
import urllib.request

import pytest

from tests.gunicorn import ROOT, running_gunicorn, server_environ
from tests.net import unused_port

GRACEFUL_TIMEOUT = 5
USER_AGENT = 'probe "quoted" \\ agent/1.0'
REQUEST_ID = "test-request-0123456789"


def _get(url: str, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, headers=headers)
    with urllib.request.urlopen(request, timeout=5) as response:
        return response.status, dict(response.headers), response.read()


@pytest.fixture
def gunicorn_env(tmp_path):
    env = server_environ(
        tmp_path,
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        GUNICORN_BIND=f"127.0.0.1:{unused_port()}",
        GUNICORN_WORKERS="1",
        GUNICORN_GRACEFUL_TIMEOUT=str(GRACEFUL_TIMEOUT),
    )
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--verbosity=0"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=60,
    )
    return env


def test_gunicorn_logs_one_json_line_per_request_and_stops_cleanly(gunicorn_env, tmp_path):
    port = int(gunicorn_env["GUNICORN_BIND"].rsplit(":", 1)[1])
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(gunicorn_env, log) as proc:
        base = f"http://127.0.0.1:{port}"
        health = _get(
            f"{base}/healthz?probe=1",
            {"User-Agent": USER_AGENT, "X-Request-ID": REQUEST_ID},
        )
        ready = _get(f"{base}/readyz", {})
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=GRACEFUL_TIMEOUT + 5)

    output = log.read_text()
    assert returncode == 0, output
    assert health[0] == 200
    assert health[1]["X-Request-ID"] == REQUEST_ID
    assert health[2] == b"ok"
    assert ready[0] == 200
    assert json.loads(ready[2])["status"] == "ok", ready[2]

    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    by_path = {line["path"]: line for line in lines}
    assert len(lines) == 2, output
    assert set(by_path) == {"/healthz", "/readyz"}, output
    entry = by_path["/healthz"]
    assert entry["method"] == "GET"
    assert entry["query"] == "probe=1"
    assert entry["status"] == 200
    assert entry["request_id"] == REQUEST_ID
    assert entry["user_agent"] == USER_AGENT
    assert entry["remote"] == "127.0.0.1"
    assert entry["bytes"] == 2
    assert isinstance(entry["duration_ms"], float)
    assert 0 <= entry["duration_ms"] < 5000
    # No id sent: the middleware made one, and the log has it.
    assert len(by_path["/readyz"]["request_id"]) == 32


def _load_config(monkeypatch, **env: str) -> dict:
    for key in list(os.environ):
        if key.startswith("GUNICORN_"):
            monkeypatch.delenv(key)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))


def test_gunicorn_defaults_suit_an_instance_behind_nginx_and_the_alb(monkeypatch):
    config = _load_config(monkeypatch)

    assert config["keepalive"] > 60  # the ALB's default idle timeout
    assert config["forwarded_allow_ips"] == "127.0.0.1"
    assert config["workers"] >= 3
    assert config["threads"] > 1
    # A request allowed to run `timeout` seconds may finish when the instance stops.
    assert config["graceful_timeout"] >= config["timeout"]


def test_gunicorn_names_the_variable_it_cannot_read(monkeypatch):
    with pytest.raises(SystemExit, match="GUNICORN_WORKERS must be a whole number"):
        _load_config(monkeypatch, GUNICORN_WORKERS="four")
    with pytest.raises(SystemExit, match="GUNICORN_THREADS must be at least 1"):
        _load_config(monkeypatch, GUNICORN_THREADS="0")
