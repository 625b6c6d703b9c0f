"""Smoke test of the local cluster: the production topology, driven as an operator would.

On the tier's shared cluster (conftest.py); the tests run in file order, and the last
one, which takes the cluster down, runs after every other test of the tier.
"""

from __future__ import annotations

import json
import re
import secrets
import subprocess
import time
import urllib.request

import pytest

from ops.cluster_proc import group_members, port_free

pytestmark = pytest.mark.cluster


def _served_by(cluster, count: int, path: str = "/") -> list[str]:
    answers = [cluster.fetch(cluster.browser(), cluster.url(path)) for _ in range(count)]
    assert [a.status for a in answers] == [200] * count
    return [a.headers["x-served-by"] for a in answers]


def _sql(socket: str, query: str) -> str:
    result = subprocess.run(
        ["mariadb", f"--socket={socket}", "-uroot", "-N", "-B", "cloudblog", "-e", query],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def _comment_form(cluster, visitor) -> tuple[str, str]:
    """The comment form's action and CSRF token on the first post that takes comments."""
    home = cluster.fetch(cluster.browser(), cluster.url("/"))
    for permalink in dict.fromkeys(re.findall(r'href="(/\d{4}/\d{2}/[\w-]+/)"', home.body)):
        page = cluster.fetch(visitor, cluster.url(permalink))
        action = re.search(r'action="(/posts/\d+/comments/)"', page.body)
        if action:
            token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.body)
            return action.group(1), token.group(1)
    raise AssertionError("no post with a comment form on the home page")


def test_pages_rotate_over_every_instance(cluster):
    assert set(_served_by(cluster, 2 * cluster.instances)) == cluster.webs


def _readiness(cluster, k: int) -> dict:
    """Instance k's /readyz, asked once: deploy tooling (userdata/bootstrap.py) takes the
    first 200 it gets, so "degraded" on a fresh instance would be believed."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{cluster.ports['web'] + k}/readyz", headers={"Host": "127.0.0.1"}
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.load(answer)


def test_every_instance_is_ready_with_writer_replica_cache_and_media(cluster):
    for k in range(cluster.instances):
        report = _readiness(cluster, k)
        assert report["status"] == "ok", report
        # The queue is checked too (TASKS_BACKEND=sqs), but a web instance does not need it.
        assert set(report["checks"]) == {"writer", "replica", "cache", "media", "queue"}
        assert report["checks"]["replica"]["detail"] == "SELECT 1 ok"
        assert "round trip ok" in report["checks"]["cache"]["detail"]


def test_comment_posted_through_the_balancer_reaches_the_replica(cluster):
    visitor = cluster.log_in("admin", cluster.admin_password)
    action, token = _comment_form(cluster, visitor)
    marker = f"smoke-{secrets.token_hex(6)}"
    answer = cluster.fetch(
        visitor,
        cluster.url(action),
        {"body": f"Replicated? {marker}", "csrfmiddlewaretoken": token},
    )
    assert answer.status == 200, answer.body[:500]
    query = f"SELECT COUNT(*) FROM blog_comment WHERE body LIKE '%{marker}%'"  # noqa: S608
    replica = cluster.status()["components"]["replica"]["socket"]
    deadline = time.monotonic() + 5
    while _sql(replica, query) != "1":
        assert time.monotonic() < deadline, "the comment never reached the replica"
        time.sleep(0.1)


def test_replica_refuses_writes_from_the_application_user(cluster):
    result = subprocess.run(
        [
            "mariadb",
            "-h127.0.0.1",
            f"-P{cluster.ports['replica']}",
            "-ucloudblog",
            f"-p{cluster.app_password}",
            "cloudblog",
            "-e",
            "UPDATE blog_post SET title = title LIMIT 1",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "--read-only" in result.stderr


def test_killed_instance_is_hidden_by_haproxy_and_comes_back(cluster):
    before = time.time()
    killed = cluster.ops("kill", "web2", "--json")
    assert killed.returncode == 0, killed.stderr
    report = json.loads(killed.stdout)
    assert report["outcome"] == "killed"
    assert before <= report["signalled_at"] <= time.time()
    # Straight after the crash, before haproxy's checks notice: retries hide it.
    assert "web2" not in _served_by(cluster, 20, "/feed/")
    status = cluster.status()
    assert status["components"]["web2"]["running"] is False
    assert cluster.ops("status").returncode == 3

    started = cluster.ops("start", "web2")
    assert started.returncode == 0, started.stdout + started.stderr
    assert cluster.status()["components"]["web2"]["haproxy"]["check"] == "L7OK"
    assert set(_served_by(cluster, 2 * cluster.instances)) == cluster.webs


@pytest.mark.ends_cluster(step=2)
def test_down_stops_every_process_and_frees_the_ports(cluster):
    groups = [c["pid"] for c in cluster.status()["components"].values() if c["running"]]
    assert groups

    stopped = cluster.ops("down")

    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    assert [pid for pid in groups if group_members(pid)] == []
    ports = [cluster.ports["lb"], cluster.ports["primary"], cluster.ports["replica"]]
    ports += [cluster.ports["redis"], cluster.ports["sqs"]]
    ports += [cluster.ports["web"] + k for k in range(cluster.instances)]
    assert [port for port in ports if not port_free(port)] == []
