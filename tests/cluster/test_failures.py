"""Failures of the stateless tier, as a visitor behind haproxy lives through them.

An instance, Redis, replication and finally the primary fail while people use the
site; each test says what they must (not) notice. They run on the tier's shared cluster
(conftest.py) and each leaves three instances, Redis and replication as it found them,
except the promotion of the replica, which changes the topology for good and so runs
after every other test of the tier (`ends_cluster`).

Every simulated visitor comes from 127.0.0.1 behind haproxy: one address for the
per-IP comment limit, which is raised for the shared cluster.
"""

from __future__ import annotations

import http.client
import re
import secrets
import subprocess
import time
import urllib.request
from http.cookiejar import CookieJar

import pytest

from tests.cluster.conftest import Response
from tests.cluster.faults import (
    assert_instance_kill_unnoticed,
    failed,
    kill_under_load,
    lost_writes,
    ops,
    summary,
    until_every_instance,
)
from tests.loadgen import LOGIN_PATH, PROFILE_PATH, Load, User

pytestmark = pytest.mark.cluster

LOAD_USERS = 20
# How long a process may keep its copy of the cache epoch (CACHE_EPOCH_TTL_MS default).
EPOCH_TTL = 1.0
# Seconds an instance skips Redis after a failure (CACHE_RETRY_SECONDS default).
CACHE_RETRY = 5.0
_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_POST_LINK = re.compile(r'href="(/\d{4}/\d{2}/[\w-]+/)"')
_COMMENT_ACTION = re.compile(r'action="(/posts/\d+/comments/)"')


# --- helpers ---------------------------------------------------------------------


def _raw_get(cluster, path: str, cookie: str = "") -> Response:
    """One GET through haproxy that follows no redirect and sends exactly `cookie`."""
    conn = http.client.HTTPConnection("127.0.0.1", cluster.ports["lb"], timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        answer = conn.getresponse()
        body = answer.read().decode()
    finally:
        conn.close()
    headers = {name.lower(): value for name, value in answer.getheaders()}
    return Response(answer.status, headers, body, cluster.url(path))


class _KeepRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # the 3xx comes back as the answer


def _cookie(visitor, name: str) -> str | None:
    jar = next(h.cookiejar for h in visitor.handlers if hasattr(h, "cookiejar"))
    return next((c.value for c in jar if c.name == name), None)


def _commentable_post(cluster) -> tuple[str, str]:
    """The permalink and comment action of a post on the home page that takes comments."""
    home = cluster.fetch(cluster.browser(), cluster.url("/"))
    for permalink in dict.fromkeys(_POST_LINK.findall(home.body)):
        page = cluster.fetch(cluster.browser(), cluster.url(permalink))
        if action := _COMMENT_ACTION.search(page.body):
            return permalink, action.group(1)
    raise AssertionError("no post with a comment form on the home page")


def _post_comment(cluster, visitor, permalink: str, action: str, body: str, **anonymous):
    """Comment as `visitor` does: the form's CSRF token when logged in, name and email if not."""
    form = {"body": body, "parent": "", "homepage": "", **anonymous}
    if not anonymous:
        page = cluster.fetch(visitor, cluster.url(permalink))
        form["csrfmiddlewaretoken"] = _CSRF.search(page.body).group(1)
    return cluster.fetch(visitor, cluster.url(action), form)


def _redis_keys(cluster, pattern: str) -> list[str]:
    result = subprocess.run(
        ["redis-cli", "-p", str(cluster.ports["redis"]), "--scan", "--pattern", pattern],
        capture_output=True,
        text=True,
        check=True,
        timeout=10,
    )
    return result.stdout.split()


def _await_replica_caught_up(cluster, timeout: float = 15) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        replica = cluster.status()["components"]["replica"]
        replication = replica.get("replication", {})
        if replication.get("caught_up") and replication.get("sql_running") == "Yes":
            return replica
        assert time.monotonic() < deadline, f"the replica did not catch up: {replica}"
        time.sleep(0.2)


# --- the tests -------------------------------------------------------------------


def test_a_logged_in_user_rotates_over_every_instance_stays_logged_in_and_sees_their_comment(
    cluster,
):
    visitor = cluster.log_in("admin", cluster.admin_password)

    profiles = [cluster.fetch(visitor, cluster.url(PROFILE_PATH)) for _ in range(30)]

    assert {a.headers["x-served-by"] for a in profiles} == cluster.webs
    assert [(a.status, a.url) for a in profiles] == [(200, cluster.url(PROFILE_PATH))] * 30
    permalink, action = _commentable_post(cluster)
    marker = f"rotation-{secrets.token_hex(6)}"
    # The redirect after the comment is the visitor's next GET: the comment is on it.
    answer = _post_comment(cluster, visitor, permalink, action, f"Mine: {marker}")
    assert answer.status == 200 and answer.url.startswith(cluster.url(permalink)), answer.url
    assert marker in answer.body
    pages = until_every_instance(cluster, lambda: cluster.fetch(visitor, cluster.url(permalink)))
    assert [(p.status, marker in p.body) for p in pages] == [(200, True)] * len(pages)


def test_killing_an_instance_under_load_logs_nobody_out_and_loses_no_acknowledged_comment(
    cluster,
):
    users = [User("admin", cluster.admin_password)] * LOAD_USERS
    run, report, killed_at = kill_under_load(cluster, users, "web2", logins=LOAD_USERS)

    assert_instance_kill_unnoticed(
        cluster, run, report, killed_at, f"{LOAD_USERS} logged-in users", instance="web2"
    )


def test_killing_redis_under_load_keeps_the_site_serving_and_everyone_logged_in(cluster):
    users = [User("admin", cluster.admin_password)] * (LOAD_USERS // 2) + [User()] * (
        LOAD_USERS // 2
    )
    run, report, killed_at = kill_under_load(cluster, users, "redis", logins=LOAD_USERS // 2)

    server_errors = [s for s in failed(report) if s.error or s.status >= 500]
    after = [s for s in report.samples if s.t > killed_at]
    text = summary(
        f"Redis killed at {killed_at:.1f}s of {report.elapsed:.1f}s, "
        f"{LOAD_USERS // 2} logged-in and {LOAD_USERS // 2} anonymous users",
        report,
        killed_at=round(killed_at, 1),
        answered_after_kill=sum(s.status == 200 for s in after),
        lost_writes=(lost := lost_writes(cluster, "primary", run)),
    )
    assert report.login_failures == 0, text
    assert report.sessions_lost == 0, text
    assert lost == [], text
    assert server_errors == [], text
    assert sum(s.status == 200 for s in after) > len(after) * 0.9, text
    # Back with Redis: after the breaker's window the cache is used again. A query string
    # nobody asked for before: the first request renders it, a later one is a hit.
    path = f"{_commentable_post(cluster)[0]}?warm={secrets.token_hex(4)}"
    deadline = time.monotonic() + CACHE_RETRY + 10
    states = [_raw_get(cluster, path).headers.get("x-cache")]
    assert states == ["MISS"]
    while "HIT" not in states:
        assert time.monotonic() < deadline, f"no cache hit after Redis came back: {states}"
        states.append(_raw_get(cluster, path).headers.get("x-cache"))
        time.sleep(0.1)
    print(f"X-Cache after Redis came back: {states}")


def test_a_logout_while_redis_hangs_stays_a_logout_when_redis_comes_back(cluster):
    visitor = cluster.log_in("admin", cluster.admin_password)
    session_key = _cookie(visitor, "sessionid")
    old_session = f"sessionid={session_key}"
    profiles = until_every_instance(cluster, lambda: _raw_get(cluster, PROFILE_PATH, old_session))
    assert {p.status for p in profiles} == {200}
    # The session is in Redis (an instance that failed to reach it in the last
    # CACHE_RETRY seconds skips it: then the next reader stores it).
    deadline = time.monotonic() + CACHE_RETRY + 5
    while not _redis_keys(cluster, f"*{session_key}*"):
        assert time.monotonic() < deadline, "the session never reached Redis"
        assert _raw_get(cluster, PROFILE_PATH, old_session).status == 200
        time.sleep(0.1)
    token = _CSRF.search(cluster.fetch(visitor, cluster.url(PROFILE_PATH)).body).group(1)

    ops(cluster, "kill", "redis", "--signal", "STOP")
    try:
        logged_out = cluster.fetch(
            visitor, cluster.url("/accounts/logout/"), {"csrfmiddlewaretoken": token}
        )
        # An outage longer than the time an instance may trust its copy of the cache
        # epoch (README: the window left is a shorter one that no instance noticed).
        time.sleep(EPOCH_TTL + 0.5)
    finally:
        ops(cluster, "kill", "redis", "--signal", "CONT")

    assert logged_out.status == 200 and logged_out.url == cluster.url("/"), logged_out.url
    assert _cookie(visitor, "sessionid") is None
    # The trap is set: Redis came back with the session the logout could not delete.
    assert _redis_keys(cluster, f"*{session_key}*")
    replays = until_every_instance(cluster, lambda: _raw_get(cluster, PROFILE_PATH, old_session))
    assert [(r.status, r.headers.get("location", "").split("?")[0]) for r in replays] == [
        (302, LOGIN_PATH)
    ] * len(replays)


def test_a_visitor_sees_their_own_comment_at_once_while_the_replica_lags(cluster):
    permalink, action = _commentable_post(cluster)
    # A browser whose redirects the test follows itself, to let someone in between.
    reader = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(CookieJar()), _KeepRedirects()
    )
    tag = secrets.token_hex(4)
    me = {"name": f"Reader {tag}", "email": f"reader-{tag}@example.com"}
    first = _post_comment(cluster, reader, permalink, action, f"first-{tag}", **me)
    assert first.status == 302 and first.headers["location"].endswith("#respond")
    held = cluster.fetch(reader, cluster.url(permalink))
    assert "awaiting moderation" in held.body
    # A moderator approves it from the comment list: the reader is now a known commenter.
    admin = cluster.log_in("admin", cluster.admin_password)
    queue = cluster.fetch(admin, cluster.url(f"/admin/blog/comment/?q=first-{tag}"))
    selected = re.findall(r'name="_selected_action" value="(\d+)"', queue.body)
    assert len(selected) == 1, queue.body[:2000]
    approved = cluster.fetch(
        admin,
        cluster.url("/admin/blog/comment/"),
        {
            "action": "approve",
            "_selected_action": selected[0],
            "index": "0",
            "csrfmiddlewaretoken": _CSRF.search(queue.body).group(1),
        },
    )
    assert approved.status == 200 and "Approved 1 comment" in approved.body
    _await_replica_caught_up(cluster)

    ops(cluster, "pause-replica")
    try:
        marker = f"second-{tag}"
        answer = _post_comment(cluster, reader, permalink, action, marker, **me)
        # Someone else reads the post first: rendered from the replica, without it.
        stranger = cluster.fetch(cluster.browser(), cluster.url(permalink))
        pages = until_every_instance(cluster, lambda: cluster.fetch(reader, cluster.url(permalink)))
        query = f"SELECT COUNT(*) FROM blog_comment WHERE body = '{marker}'"  # noqa: S608
        on_replica = cluster.sql("replica", query)
    finally:
        ops(cluster, "resume-replica")

    # Approved at once (the redirect goes to the comment itself) and on every page they
    # load next, from every instance, although the replica does not have it yet.
    assert answer.status == 302 and "#comment-" in answer.headers["location"]
    assert [(p.status, marker in p.body) for p in pages] == [(200, True)] * len(pages), [
        (p.headers["x-served-by"], p.headers["x-request-id"]) for p in pages
    ]
    assert on_replica == ["0"], "the paused replica applied the comment: no lag was tested"
    print(
        f"\na reader without the pin saw the comment: {marker in stranger.body} "
        f"(X-Cache {stranger.headers.get('x-cache')}, via {stranger.headers['x-served-by']})"
    )
    replica = _await_replica_caught_up(cluster)
    primary = cluster.status()["components"]["primary"]
    print(f"replica at GTID {replica['gtid_slave_pos']}, primary {primary['gtid_binlog_pos']}")
    assert cluster.sql("replica", query) == ["1"]


@pytest.mark.ends_cluster(step=1)
def test_a_dead_primary_keeps_reads_answers_writes_503_and_promotion_loses_nothing(cluster):
    permalink, action = _commentable_post(cluster)
    admin = cluster.log_in("admin", cluster.admin_password)
    token = _CSRF.search(cluster.fetch(admin, cluster.url(permalink)).body).group(1)
    writers = Load(
        cluster.url(), users=[User("admin", cluster.admin_password)] * 4, comment_ratio=0.5
    ).start()
    try:
        deadline = time.monotonic() + 30
        while len(writers.report().writes) < 10:
            assert time.monotonic() < deadline, summary("too few comments", writers.report())
            time.sleep(0.1)
        ops(cluster, "kill", "primary")
        time.sleep(1)  # the writers meet the dead primary
    finally:
        report = writers.stop()
    summary("comments written until the primary was killed", report)

    # Reads go on: anonymous pages from the page cache or the replica, on every instance.
    home = cluster.fetch(cluster.browser(), cluster.url("/"))
    posts = list(dict.fromkeys(_POST_LINK.findall(home.body)))[:3]
    for path in ["/", *posts]:
        pages = until_every_instance(cluster, lambda p=path: _raw_get(cluster, p))
        assert [p.status for p in pages] == [200] * len(pages), path
        print(f"{path}: X-Cache {[p.headers.get('x-cache') for p in pages]}")
    # A query string no one asked for before is not in the page cache: the replica's.
    uncached = until_every_instance(
        cluster, lambda: _raw_get(cluster, f"{posts[0]}?fresh={secrets.token_hex(4)}")
    )
    assert [(p.status, p.headers.get("x-cache")) for p in uncached] == [(200, "MISS")] * len(
        uncached
    )
    # Writes get the friendly 503 with Retry-After, logged in or not; nothing is half-done.
    rejected = {
        "anonymous": cluster.fetch(
            cluster.browser(),
            cluster.url(action),
            {"body": "rejected-anon", "name": "Anon", "email": "anon@example.com"},
        ),
        "logged in": cluster.fetch(
            admin, cluster.url(action), {"body": "rejected-admin", "csrfmiddlewaretoken": token}
        ),
    }
    for who, answer in rejected.items():
        assert answer.status == 503, (who, answer.status, answer.body[:300])
        assert answer.headers.get("retry-after") == "30", (who, answer.headers)
        assert "Back in a moment" in answer.body, who

    promoted = ops(cluster, "promote", timeout=180)
    print(f"\n{promoted}")

    assert cluster.status()["writer"] == "replica"
    marker = f"after-promotion-{secrets.token_hex(6)}"
    answer = _post_comment(cluster, admin, permalink, action, marker)
    assert answer.status == 200 and marker in answer.body, answer.body[:500]
    lost = lost_writes(cluster, "replica", writers)
    assert lost == [], summary(f"{len(lost)} acknowledged comments lost", report)
    rejected_rows = "SELECT COUNT(*) FROM blog_comment WHERE body LIKE 'rejected-%'"
    assert cluster.sql("replica", rejected_rows) == ["0"]
