"""The local cluster, started once per session through the operators' own CLI.

`python -m ops cluster up` runs on ports picked free for this session (a developer's
cluster on the default ports is left alone) and `down --wipe` always runs at the end.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode

import pytest

from ops.cluster_proc import port_free

ROOT = Path(__file__).resolve().parents[2]
INSTANCES = 3


def pytest_configure(config):
    # Also listed in pyproject.toml; registered here so --strict-markers accepts it regardless.
    config.addinivalue_line("markers", "cluster: starts the local cluster (ops cluster up)")


def _lower(headers) -> dict[str, str]:
    # haproxy writes header names in lower case; compare them that way.
    return {name.lower(): value for name, value in headers.items()}


@dataclass
class Response:
    status: int
    headers: dict[str, str]  # names in lower case
    body: str
    url: str


@dataclass
class LocalCluster:
    dir: Path
    ports: dict[str, int]
    instances: int = INSTANCES

    @property
    def webs(self) -> set[str]:
        return {f"web{k}" for k in range(1, self.instances + 1)}

    @staticmethod
    def browser() -> urllib.request.OpenerDirector:
        """A visitor: keeps cookies, follows redirects."""
        return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    @staticmethod
    def fetch(opener, url: str, data: dict | None = None) -> Response:
        body = urlencode(data).encode() if data is not None else None
        try:
            with opener.open(urllib.request.Request(url, data=body), timeout=10) as answer:
                text = answer.read().decode()
                return Response(answer.status, _lower(answer.headers), text, answer.url)
        except HTTPError as error:
            return Response(error.code, _lower(error.headers), error.read().decode(), url)

    def ops(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "ops", "cluster", *args, "--dir", str(self.dir)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def status(self) -> dict:
        return json.loads(self.ops("status", "--json").stdout)

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.ports['lb']}{path}"

    @property
    def admin_password(self) -> str:
        return (self.dir / "admin-password").read_text().strip()

    @property
    def app_password(self) -> str:
        return json.loads((self.dir / "secrets.json").read_text())["app_password"]


def _free_port_block(size: int) -> int:
    # Below Linux's ephemeral range (32768+), where clients' source ports come from.
    for base in random.sample(range(20000, 32000, 20), 200):
        if all(port_free(base + offset) for offset in range(size)):
            return base
    raise RuntimeError("no block of free ports found")


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    base = _free_port_block(20)
    ports = {
        "lb": base,
        "web": base + 1,
        "primary": base + 10,
        "replica": base + 11,
        "redis": base + 12,
    }
    local = LocalCluster(dir=tmp_path_factory.mktemp("cluster"), ports=ports)
    try:
        started = local.ops(
            "up",
            *("--instances", str(INSTANCES), "--seed-posts", "30"),
            *("--port", str(ports["lb"]), "--web-port", str(ports["web"])),
            *("--primary-port", str(ports["primary"]), "--replica-port", str(ports["replica"])),
            *("--redis-port", str(ports["redis"])),
            timeout=180,
        )
        if started.returncode != 0:
            pytest.fail(f"ops cluster up failed:\n{started.stdout}\n{started.stderr}")
        yield local
    finally:
        stopped = local.ops("down", "--wipe", timeout=90)
        assert stopped.returncode == 0, f"{stopped.stdout}\n{stopped.stderr}"
