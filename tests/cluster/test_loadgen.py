"""The load generator itself, against a live server on the test database."""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.contrib.sessions.models import Session
from django.core.cache import cache

from blog import roles
from blog.models import Comment
from tests.factories import PASSWORD, make_post, make_user
from tests.loadgen import Load, User
from tests.net import unused_port


@pytest.fixture
def site(transactional_db, settings):
    # Every simulated visitor comes from 127.0.0.1: one address for the rate limit.
    settings.COMMENT_RATE_LIMIT = 100_000
    editor = make_user(roles.EDITOR, username="edith")
    for _ in range(15):  # two pages of posts on the home page
        make_post(editor)
    return editor


@pytest.mark.django_db(transaction=True)
def test_logged_in_visitors_browse_comment_and_stay_logged_in(site, live_server):
    run = Load(live_server.url, users=[User("edith", PASSWORD)] * 5, duration=60, comment_ratio=0.3)
    run.start()
    # At least 3 s and 3 comments: how many rounds fit in 3 s depends on the machine's
    # load (at load average 13 none of 5 visitors had commented by then).
    deadline = time.monotonic() + 60
    while (sofar := run.report()).elapsed < 3 or len(sofar.writes) < 3:
        assert time.monotonic() < deadline, sofar.summary()
        time.sleep(0.1)
    report = run.stop()

    assert report.requests > 20
    assert report.errors == {}
    assert report.login_failures == 0
    assert report.sessions_lost == 0
    assert report.statuses[200] > 0
    assert report.latency_ms["p50"] <= report.latency_ms["p95"] <= report.latency_ms["p99"]
    assert report.requests_per_second > 0
    # Every profile check found the visitor logged in, and every visitor logged in.
    profile = [s for s in report.samples if s.path == "/accounts/profile/"]
    assert profile and {s.status for s in profile} == {200}
    assert {s.path for s in report.samples} >= {"/", "/accounts/login/"}

    assert len(report.writes) >= 3
    markers = {w.marker for w in report.writes}
    assert len(markers) == len(report.writes)
    stored = Comment.objects.filter(body__in=markers)
    assert {c.body for c in stored} == markers
    assert {c.status for c in stored} == {Comment.Status.APPROVED}
    post_of = {c.body: c.post_id for c in stored}
    assert all(post_of[w.marker] == w.post_id for w in report.writes)


@pytest.mark.django_db(transaction=True)
def test_anonymous_comments_are_acknowledged_and_held(site, live_server):
    report = Load(live_server.url, users=2, duration=1.5, comment_ratio=1.0).run()

    assert report.errors == {}
    assert report.writes
    held = Comment.objects.filter(body__in=[w.marker for w in report.writes])
    assert held.count() == len(report.writes)
    assert {c.status for c in held} == {Comment.Status.PENDING}


def test_a_dead_server_is_counted_not_fatal_and_stop_ends_the_run():
    port = unused_port()
    stop = threading.Event()
    run = Load(f"http://127.0.0.1:{port}", users=3, duration=60, stop_event=stop).start()
    threading.Timer(0.5, stop.set).start()
    report = run.join(timeout=5)

    assert report.elapsed < 5
    assert report.requests > 0
    assert set(report.errors) == {"refused"}
    assert report.errors["refused"] == report.requests
    assert report.latency_ms["p50"] is None


def test_visitors_arrive_over_the_ramp_up_not_all_at_once():
    arrived: dict[int, float] = {}

    def scenario(visitor):
        arrived.setdefault(visitor.index, time.perf_counter() - visitor.load.started)
        time.sleep(0.01)

    Load("http://127.0.0.1:9", users=4, duration=1, ramp_up=0.6, scenario=scenario).run()

    assert sorted(arrived) == [0, 1, 2, 3]
    # One every 0.15 s (4 visitors over 0.6 s), each allowed 0.1 s late on a busy machine.
    assert all(0.15 * i <= arrived[i] < 0.15 * i + 0.1 for i in arrived), arrived


class _ClosesEveryConnection(BaseHTTPRequestHandler):
    """Answers as if keeping the connection alive, then closes it: a stale keep-alive."""

    protocol_version = "HTTP/1.1"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_a_get_on_a_connection_closed_while_idle_is_resent_not_an_error():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _ClosesEveryConnection)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        report = Load(url, users=1, duration=0.5, scenario=lambda v: v.request("GET", "/")).run()
    finally:
        server.shutdown()
        server.server_close()

    assert report.requests > 2
    assert report.errors == {}
    assert report.retries >= report.requests - 1


@pytest.mark.django_db(transaction=True)
def test_a_logged_out_session_is_reported_lost(site, live_server):
    run = Load(live_server.url, users=[User("edith", PASSWORD)], duration=10).start()
    # Once the visitor is logged in, end every session behind its back.
    for _ in range(100):
        if any(s.path == "/accounts/profile/" for s in run.report().samples):
            break
        time.sleep(0.05)
    Session.objects.all().delete()
    cache.clear()
    time.sleep(1.0)
    report = run.stop()

    assert report.sessions_lost >= 1
    assert report.errors == {}
    # The visitor logged in again and carried on: a loss is counted, not fatal.
    assert report.statuses[302] >= 2


class _LogsOutAtTheComment(BaseHTTPRequestHandler):
    """A blog whose session ends between a logged-in visitor's post page and comment,
    or (with `anonymous_post_page`) before the post page: answers as the real site does."""

    protocol_version = "HTTP/1.1"
    anonymous_post_page = False
    logged_in_form = (
        '<form action="/posts/7/comments/">'
        '<input type="hidden" name="csrfmiddlewaretoken" value="t0ken"></form>'
    )
    anonymous_form = '<form action="/posts/7/comments/"><input name="email"></form>'

    def _answer(self, status, body="", location=None):
        data = body.encode()
        self.send_response(status)
        if location:
            self.send_header("Location", location)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/accounts/login/":
            self._answer(200, '<input name="csrfmiddlewaretoken" value="t0ken">')
        elif self.path == "/":
            self._answer(200, '<a href="/2026/01/a-post/">a post</a>')
        elif self.path == "/2026/01/a-post/":
            anonymous = type(self).anonymous_post_page
            self._answer(200, self.anonymous_form if anonymous else self.logged_in_form)
        else:
            self._answer(200, "your profile")

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        if self.path == "/accounts/login/":
            self._answer(302, location="/accounts/profile/")
        else:  # the comment: the session has gone, so the form wants a name and an email
            self._answer(400, self.anonymous_form + "This field is required.")

    def log_message(self, *args):
        pass


@pytest.mark.parametrize("anonymous_post_page", [False, True], ids=["in-flight", "before"])
def test_a_session_lost_around_a_comment_is_a_lost_session_not_an_error(anonymous_post_page):
    handler = type("Handler", (_LogsOutAtTheComment,), {"anonymous_post_page": anonymous_post_page})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}"
        report = Load(url, users=[User("edith", "pw")], duration=0.5, comment_ratio=1.0).run()
    finally:
        server.shutdown()
        server.server_close()

    assert report.errors == {}
    assert report.writes == []
    assert report.sessions_lost >= 2
    comments = [s for s in report.samples if s.path == "/posts/7/comments/"]
    if anonymous_post_page:
        # The page showed the anonymous form: no logged-in comment was even tried.
        assert comments == []
    else:
        assert comments and {(s.status, s.session_lost) for s in comments} == {(400, True)}
    # Each loss was followed by a new login, as a person would.
    logins = [s for s in report.samples if s.method == "POST" and s.path == "/accounts/login/"]
    assert len(logins) >= report.sessions_lost
