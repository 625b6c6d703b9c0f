"""The edge cache: anonymous pages offered to a shared cache in front, and haproxy's use of it.

The headers are checked through Django's test client; the behaviour through the real
haproxy of the local cluster (its configuration from ops.cluster_lb) in front of a live
server of this test run.
"""

from __future__ import annotations

import http.client
import shutil
import subprocess
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from blog.models import Post
from blog.services import post_write
from ops.cluster_lb import render_cfg
from tests.factories import make_post
from tests.net import unused_port
from webtier.cache import reset_breaker

pytestmark = pytest.mark.django_db(transaction=True)

EDGE_SECONDS = 2


@pytest.fixture(autouse=True)
def page_cache(settings):
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the page cache needs REDIS_URL (make test sets it)")
    settings.PAGE_CACHE_SECONDS = 300
    settings.READ_YOUR_WRITES_SECONDS = 0
    settings.EDGE_CACHE_SECONDS = EDGE_SECONDS
    reset_breaker()


def _s_maxage(response) -> int | None:
    for part in response.get("Cache-Control", "").split(","):
        name, _, value = part.strip().partition("=")
        if name == "s-maxage":
            return int(value)
    return None


# --- what Django offers ------------------------------------------------------------


def test_a_cached_anonymous_page_is_offered_to_shared_caches_only(client, author):
    make_post(author)

    miss, hit = client.get("/"), client.get("/")

    assert (miss["X-Cache"], hit["X-Cache"]) == ("MISS", "HIT")
    for response in (miss, hit):
        # s-maxage binds shared caches only; with no max-age, Expires or Last-Modified a
        # browser keeps nothing. (haproxy stores nothing with max-age=0 beside s-maxage.)
        assert response["Cache-Control"] == f"public, s-maxage={EDGE_SECONDS}"
        assert not response.has_header("Expires") and not response.has_header("Last-Modified")


def test_nothing_is_offered_to_the_edge_when_it_is_off(client, author, settings):
    settings.EDGE_CACHE_SECONDS = 0
    make_post(author)

    assert [_s_maxage(client.get("/")) for _ in range(2)] == [None, None]


def test_logged_in_pages_and_uncached_paths_are_never_offered(client, author):
    make_post(author)
    assert _s_maxage(client.get("/search/?q=post")) is None

    client.force_login(author)

    assert _s_maxage(client.get("/")) is None


def test_the_edge_may_not_keep_a_page_past_the_next_scheduled_post(client, author, settings):
    settings.EDGE_CACHE_SECONDS = 600
    due = timezone.now() + timedelta(seconds=30)
    make_post(author, status=Post.Status.FUTURE, published_at=due)

    offered = _s_maxage(client.get("/"))

    assert offered is not None and 25 <= offered <= 30


# --- haproxy in front ------------------------------------------------------------


def _get(port: int, path: str, cookie: str = "") -> tuple[int, dict[str, str], str]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        answer = conn.getresponse()
        body = answer.read().decode()
        return answer.status, {k.lower(): v for k, v in answer.getheaders()}, body
    finally:
        conn.close()


@pytest.fixture
def haproxy(live_server, tmp_path):
    program = shutil.which("haproxy") or "/usr/sbin/haproxy"
    if not Path(program).exists():
        pytest.fail("haproxy is not installed: scripts/test.sh installs it (apt-get)")
    port = unused_port()
    backend = int(live_server.url.rsplit(":", 1)[1])
    cfg = tmp_path / "haproxy.cfg"
    cfg.write_text(
        render_cfg(
            host="127.0.0.1",
            port=port,
            admin_socket=tmp_path / "admin.sock",
            servers={"web1": backend},
            edge_cache_seconds=EDGE_SECONDS,
        )
    )
    proc = subprocess.Popen(
        [program, "-db", "-f", str(cfg)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 15
        while True:
            try:
                if _get(port, "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "haproxy never found the live server healthy"
            time.sleep(0.2)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_haproxy_answers_repeat_anonymous_views_itself(haproxy, author):
    make_post(author, title="Edge cached")

    answers = [_get(haproxy, "/") for _ in range(4)]

    assert [status for status, _, _ in answers] == [200] * 4
    assert answers[0][1]["x-served-by"] == "web1"
    assert {headers["x-served-by"] for _, headers, _ in answers[1:]} == {"edge"}
    assert {headers["x-cache"] for _, headers, _ in answers[1:]} == {"EDGE"}
    assert all("Edge cached" in body for _, _, body in answers)


def test_a_visitor_with_a_cookie_always_reaches_an_instance(haproxy, author, client):
    make_post(author)
    client.force_login(author)
    session = f"sessionid={client.cookies['sessionid'].value}"
    _get(haproxy, "/")  # the anonymous copy is now at the edge

    served_by = {_get(haproxy, "/", cookie)[1]["x-served-by"] for cookie in [session] * 3}
    pinned = _get(haproxy, "/", "cb_pin=anything")[1]["x-served-by"]

    assert served_by == {"web1"} and pinned == "web1"


def test_a_new_post_reaches_anonymous_readers_within_the_edge_lifetime(haproxy, author):
    make_post(author, title="Older post")
    assert _get(haproxy, "/")[1]["x-served-by"] == "web1"
    assert _get(haproxy, "/")[1]["x-served-by"] == "edge"

    post = Post(title="Fresh news", body="Hello.", status=Post.Status.PUBLISHED)
    post_write(post=post, by=author)
    published = time.monotonic()
    while "Fresh news" not in _get(haproxy, "/")[2]:
        assert time.monotonic() - published < EDGE_SECONDS + 1, "the edge kept the old page"
        time.sleep(0.1)
