"""The local cluster, started once per session through the operators' own CLI.

`python -m ops cluster up` runs on ports picked free for this session (a developer's
cluster on the default ports is left alone) and `down --wipe` always runs at the end.
"""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import urllib.request
from contextlib import contextmanager
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

    def sql(self, server: str, query: str) -> list[str]:
        """Rows of `query` (first column) on `primary` or `replica`, as root over its socket."""
        socket = self.status()["components"][server]["socket"]
        result = subprocess.run(
            ["mariadb", f"--socket={socket}", "-uroot", "-N", "-B", "cloudblog", "-e", query],
            capture_output=True,
            text=True,
            check=True,
            timeout=30,
        )
        return [line.split("\t")[0] for line in result.stdout.splitlines()]

    def log_in(self, username: str, password: str) -> urllib.request.OpenerDirector:
        """A visitor logged in through the login form, as a person would."""
        visitor = self.browser()
        form = self.fetch(visitor, self.url("/accounts/login/"))
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.body).group(1)
        answer = self.fetch(
            visitor,
            self.url("/accounts/login/"),
            {"username": username, "password": password, "csrfmiddlewaretoken": token},
        )
        # Staff land on the dashboard, everyone else on their profile.
        landed = answer.url.endswith(("/admin/", "/accounts/profile/"))
        assert answer.status == 200 and landed, answer.url
        return visitor


def _free_port_block(size: int) -> int:
    # Below Linux's ephemeral range (32768+), where clients' source ports come from.
    for base in random.sample(range(20000, 32000, 20), 200):
        if all(port_free(base + offset) for offset in range(size)):
            return base
    raise RuntimeError("no block of free ports found")


@contextmanager
def running_cluster(
    directory: Path,
    *,
    env: dict[str, str] | None = None,
    instances: int = INSTANCES,
    options: tuple[str, ...] = (),
):
    """`ops cluster up` in `directory` on free ports (extra `--env` settings for every
    instance, extra `up` options), the cluster while the block runs, `down --wipe` after."""
    base = _free_port_block(20)
    ports = {
        "lb": base,
        "web": base + 1,
        "primary": base + 10,
        "replica": base + 11,
        "redis": base + 12,
        "sqs": base + 13,
    }
    local = LocalCluster(dir=directory, ports=ports, instances=instances)
    settings = [arg for name, value in (env or {}).items() for arg in ("--env", f"{name}={value}")]
    try:
        started = local.ops(
            "up",
            *("--instances", str(instances), "--seed-posts", "30"),
            *("--port", str(ports["lb"]), "--web-port", str(ports["web"])),
            *("--primary-port", str(ports["primary"]), "--replica-port", str(ports["replica"])),
            *("--redis-port", str(ports["redis"]), "--sqs-port", str(ports["sqs"])),
            *options,
            *settings,
            timeout=180,
        )
        if started.returncode != 0:
            pytest.fail(f"ops cluster up failed:\n{started.stdout}\n{started.stderr}")
        yield local
    finally:
        stopped = local.ops("down", "--wipe", timeout=90)
        assert stopped.returncode == 0, f"{stopped.stdout}\n{stopped.stderr}"


@pytest.fixture(scope="session")
def cluster(tmp_path_factory):
    with running_cluster(tmp_path_factory.mktemp("cluster")) as local:
        yield local
