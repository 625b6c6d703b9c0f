"""The local cluster, started through the operators' own CLI and shared by the tier.

`python -m ops cluster up` runs on ports picked free for this session (a developer's
cluster on the default ports is left alone) and `down --wipe` always runs at the end.

A start costs 15-26 s on the loaded development machine, so one cluster (`cluster`,
package scope) serves the smoke, failure, throttle and worker-tier tests; only a
cluster with other settings (DynamoDB sessions) starts its own. Each test leaves it as
it found it (a killed component is started again in the test's own `finally`, and
`_whole_again` checks after every test); the two tests that end it for good (the
promotion and `down`) are marked `ends_cluster` and run after all the others.
"""

from __future__ import annotations

import json
import random
import re
import shutil
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

from ops.cluster_db import socket_path
from ops.cluster_proc import port_free
from ops.cluster_run import running
from ops.cluster_state import load

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
INSTANCES = 3
# The shared cluster's work queue visibility (--queue-visibility): how long a killed
# worker's messages stay hidden (test_worker_tier.py). WORKER_TASK_TIME_LIMIT follows it.
QUEUE_VISIBILITY = 4
# Lower than production's 5 and 20, so that the throttle test reaches them in a few
# guesses (each one hashes a password); no other test fails a login.
LOGIN_FAILURE_LIMIT = 4
LOGIN_IP_FAILURE_LIMIT = 6
SHARED_ENV = {
    # Production's settings with a cheap password hash (tests/cluster/settings.py).
    "DJANGO_SETTINGS_MODULE": "tests.cluster.settings",
    # Every simulated visitor comes from 127.0.0.1 behind haproxy: one address for the
    # per-IP comment limit.
    "COMMENT_RATE_LIMIT": "100000",
    # A comment's job that could not reach SQS is resent by the worker's outbox sweeper
    # after this long (30 s in production): test_worker_tier.py waits for it.
    "WORKER_OUTBOX_RESEND_AFTER": "5",
    "LOGIN_FAILURE_LIMIT": str(LOGIN_FAILURE_LIMIT),
    "LOGIN_IP_FAILURE_LIMIT": str(LOGIN_IP_FAILURE_LIMIT),
}


def pytest_configure(config):
    # Also listed in pyproject.toml; registered here so --strict-markers accepts it regardless.
    config.addinivalue_line("markers", "cluster: starts the local cluster (ops cluster up)")
    config.addinivalue_line(
        "markers",
        "ends_cluster(step): leaves the shared cluster changed for good; runs after every "
        "other test of tests/cluster/, in the order of `step`",
    )


def pytest_collection_modifyitems(items):
    """Move the `ends_cluster` tests behind the rest of this folder's tests (nowhere else:
    the cluster stops with them instead of idling through the rest of the suite)."""
    mine = [k for k, item in enumerate(items) if HERE in item.path.parents]
    if not mine:
        return

    def step(item) -> int:
        marker = item.get_closest_marker("ends_cluster")
        return marker.kwargs["step"] if marker else 0

    ordered = sorted((items[k] for k in mine), key=step)  # stable: file order otherwise
    for k, item in zip(mine, ordered, strict=True):
        items[k] = item


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
        # Where `status` would say, without its second or more of start-up and queries.
        socket = socket_path(self.dir / server)
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
        # `down --wipe` deletes the logs with the rest: keep them beside the directory
        # (pytest's tmp, the last three runs) for whoever reads why a test failed.
        if (directory / "logs").is_dir():
            shutil.copytree(directory / "logs", directory.with_name(f"{directory.name}-logs"))
        stopped = local.ops("down", "--wipe", timeout=90)
        assert stopped.returncode == 0, f"{stopped.stdout}\n{stopped.stderr}"


@pytest.fixture(scope="package")
def cluster(tmp_path_factory):
    with running_cluster(
        tmp_path_factory.mktemp("cluster"),
        env=SHARED_ENV,
        options=("--queue-visibility", str(QUEUE_VISIBILITY)),
    ) as local:
        yield local


@pytest.fixture(autouse=True)
def _whole_again(request):
    """After a test on the shared cluster, every component runs again.

    The fault tests restart what they kill in a `finally`; should one fail to, the next
    test would meet a cluster it did not expect and fail for a reason not its own. Read
    from the state file and /proc: milliseconds, not an `ops status` run.
    """
    yield
    if "cluster" not in request.fixturenames or request.node.get_closest_marker("ends_cluster"):
        return
    local = request.getfixturevalue("cluster")
    state = load(local.dir)
    if state is None:
        return
    dead = [name for name in state.components if not running(state, name)]
    for name in dead:
        started = local.ops("start", name)
        assert started.returncode == 0, f"{name}: {started.stdout}\n{started.stderr}"
    assert dead == [], f"the test left {dead} stopped (started again for the next test)"
