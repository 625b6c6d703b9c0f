"""The full-page cache: anonymous pages from Redis, fresh on every change, no stampede."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
import time_machine
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from blog.models import Comment, Post
from blog.services import comment_set_status, post_trash, post_write
from tests.factories import make_comment, make_post
from webtier.cache import reset_breaker
from webtier.page_cache import GENERATION_KEY, lock_key

# on_commit invalidation needs real commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def page_cache(settings):
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the page cache needs REDIS_URL (make test sets it)")
    settings.PAGE_CACHE_SECONDS = 300
    settings.READ_YOUR_WRITES_SECONDS = 0  # its own test below
    reset_breaker()


def _get(client, url):
    response = client.get(url)
    return response, response.content.decode()


def test_second_anonymous_view_is_a_hit_with_no_queries(client, author, django_assert_num_queries):
    make_post(author, title="Cached post")
    first, _ = _get(client, "/")
    assert first["X-Cache"] == "MISS"

    with django_assert_num_queries(0):
        second, html = _get(client, "/")

    assert second["X-Cache"] == "HIT" and "Cached post" in html


def test_posts_searches_and_the_desk_never_use_the_page_cache(client, author):
    make_post(author)
    client.force_login(author)  # signed-in readers: tests/webtier/test_page_holes.py

    assert "X-Cache" not in client.post(reverse("blog:search"))
    assert "X-Cache" not in client.get(reverse("blog:search") + "?q=post")
    assert "X-Cache" not in client.get("/admin/")


def test_publishing_a_post_refreshes_home_at_once(client, author):
    _get(client, "/")

    post_write(
        post=Post(title="Fresh news", author=author, status=Post.Status.PUBLISHED), by=author
    )

    response, html = _get(client, "/")
    # Rendered again already, by the write-through (tests/webtier/test_write_through.py).
    assert response["X-Cache"] == "HIT" and "Fresh news" in html


def test_editing_and_trashing_a_post_refresh_its_pages(client, author):
    post = post_write(
        post=Post(title="Before", author=author, status=Post.Status.PUBLISHED), by=author
    )
    url = post.get_absolute_url()
    _get(client, url)

    post.title = "After"
    post_write(post=post, by=author)
    assert "After" in _get(client, url)[1]

    post_trash(post=post, by=author)
    assert client.get(url).status_code == 404
    assert "After" not in _get(client, "/")[1]


def test_approving_a_comment_shows_it_to_anonymous_readers(client, author, editor):
    post = make_post(author)
    comment = make_comment(post, body="Worth the wait", status=Comment.Status.PENDING)
    assert "Worth the wait" not in _get(client, post.get_absolute_url())[1]

    comment_set_status(comments=[comment], status=Comment.Status.APPROVED, by=editor)

    assert "Worth the wait" in _get(client, post.get_absolute_url())[1]


def test_a_generation_bump_reaches_every_instance(author):
    """Two clients stand in for two instances: the counter lives in Redis, not in memory."""
    make_post(author, title="Shared")
    one, two = Client(), Client()
    _get(one, "/")
    assert _get(two, "/")[0]["X-Cache"] == "HIT"

    post_write(
        post=Post(title="Seen by both", author=author, status=Post.Status.PUBLISHED), by=author
    )

    assert "Seen by both" in _get(one, "/")[1]
    assert "Seen by both" in _get(two, "/")[1]


def test_a_scheduled_post_appears_on_time_on_a_cached_home_page(client, author):
    now = timezone.now()
    post_write(
        post=Post(
            title="Due soon",
            author=author,
            status=Post.Status.PUBLISHED,
            published_at=now + timedelta(seconds=30),
        ),
        by=author,
    )
    assert "Due soon" not in _get(client, "/")[1]
    assert _get(client, "/")[0]["X-Cache"] == "HIT"

    with time_machine.travel(now + timedelta(seconds=31)):
        response, html = _get(client, "/")

    assert "Due soon" in html and response["X-Cache"] == "MISS"


def test_a_stale_page_is_served_while_one_request_renders_it(client, author, monkeypatch):
    make_post(author, title="Old copy")
    _get(client, "/")
    key = next(k for k in cache.keys("page:*") if ":lock:" not in k)
    entry = cache.get(key)
    entry["fresh_until"] = time.time() - 1  # went stale
    cache.set(key, entry, timeout=60)
    # Another instance is re-rendering it.
    cache.set(lock_key(key, entry["generation"], entry), 1, timeout=10)

    response, html = _get(client, "/")

    assert response["X-Cache"] == "STALE" and "Old copy" in html


def test_a_cold_miss_waits_briefly_for_the_render_in_progress(client, author, monkeypatch):
    import webtier.page_cache as page_cache

    monkeypatch.setattr(page_cache, "WAIT_SECONDS", 0.3)
    make_post(author)
    generation = cache.get(GENERATION_KEY) or 0
    cache.set(lock_key("page:http:testserver:/", generation, None), 1, timeout=10)

    started = time.monotonic()
    response = client.get("/")

    assert response.status_code == 200 and response["X-Cache"] == "MISS"
    assert 0.3 <= time.monotonic() - started < 2


@pytest.mark.parametrize("path", ["/worker/", "/posts/1/comments/"])
def test_a_response_that_cannot_be_cached_makes_nobody_wait(client, path):
    first = client.get(path)
    started = time.monotonic()
    second = client.get(path)

    assert first.status_code == second.status_code == 405
    assert time.monotonic() - started < 0.5  # not the 2 s wait for a render to store


def test_a_waiter_stops_waiting_when_the_render_in_progress_stores_nothing(client):
    generation = cache.get(GENERATION_KEY) or 0
    lock = lock_key("page:http:testserver:/worker/", generation, None)
    cache.set(lock, 1, timeout=10)  # another instance is rendering it...
    # ...and after 0.2 s finds it cannot be stored, so it lets go of the lock.
    threading.Timer(0.2, cache.delete, [lock]).start()

    started = time.monotonic()
    response = client.get("/worker/")

    assert response.status_code == 405
    assert 0.2 <= time.monotonic() - started < 1  # not the whole 2 s


def test_pages_render_from_the_database_when_redis_is_down(client, author, settings):
    make_post(author, title="Still here")
    settings.CACHES = {
        "default": {
            **settings.CACHES["default"],
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 0.2, "SOCKET_TIMEOUT": 0.2},
        }
    }
    reset_breaker()

    for _ in range(3):
        response, html = _get(client, "/")
        assert response.status_code == 200 and "Still here" in html


def test_anonymous_comment_needs_no_csrf_token_but_a_logged_in_one_does(author, subscriber):
    post = make_post(author)
    anonymous = Client(enforce_csrf_checks=True)
    html = _get(anonymous, post.get_absolute_url())[1]
    assert "csrfmiddlewaretoken" not in html

    response = anonymous.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"name": "Ann", "email": "ann@example.org", "body": "Hi"},
    )
    assert response.status_code == 302

    member = Client(enforce_csrf_checks=True)
    member.force_login(subscriber)
    response = member.post(reverse("blog:comment-post", args=[post.pk]), {"body": "Forged"})
    assert response.status_code == 403
    assert not Comment.objects.filter(body="Forged").exists()


def test_a_page_rendered_just_after_a_change_expires_when_replica_lag_would_be_over(
    client, author, settings
):
    """The render may have read a replica that had not caught up: keep it briefly only."""
    settings.READ_YOUR_WRITES_SECONDS = 5
    post_write(
        post=Post(title="Just changed", author=author, status=Post.Status.PUBLISHED), by=author
    )
    started = time.time()
    _get(client, "/")

    key = next(k for k in cache.keys("page:*") if ":lock:" not in k)
    assert cache.get(key)["fresh_until"] <= started + 5.5


def test_logged_in_pages_reuse_the_shared_post_list_and_stay_personal(
    client, author, editor, subscriber, django_assert_max_num_queries
):
    make_post(author, title="Shared listing")
    client.force_login(editor)
    client.get("/")  # renders the shared fragments

    with django_assert_max_num_queries(3):  # the user, the menu pages; no post queries
        html = client.get("/").content.decode()

    assert "Shared listing" in html and "Dashboard" in html
    client.force_login(subscriber)
    assert "Dashboard" not in client.get("/").content.decode()


def test_logged_in_readers_see_a_change_at_once(client, author, subscriber):
    client.force_login(subscriber)
    post = post_write(
        post=Post(title="First title", author=author, status=Post.Status.PUBLISHED), by=author
    )
    client.get("/")
    client.get(post.get_absolute_url())

    post.title = "Second title"
    post_write(post=post, by=author)

    assert "Second title" in client.get("/").content.decode()
    assert "Second title" in client.get(post.get_absolute_url()).content.decode()


def test_the_shared_post_fragment_carries_no_edit_link_or_form_of_its_first_reader(
    client, author, editor
):
    post = make_post(author, body="Shared body")
    client.force_login(editor)
    assert "Edit this post" in client.get(post.get_absolute_url()).content.decode()

    anonymous = Client().get(post.get_absolute_url()).content.decode()

    assert "Shared body" in anonymous
    assert "Edit this post" not in anonymous and "Commenting as" not in anonymous


def test_a_visitor_who_just_wrote_never_gets_a_shared_fragment(rf, settings):
    """After a write (the signed pin cookie) the fragment is rendered, not shared: a
    shared copy may come from a replica that has not caught up with that write."""
    from django.http import HttpResponse

    from webtier.page_cache import cached_fragment
    from webtier.routing import ReplicaRoutingMiddleware

    settings.READ_YOUR_WRITES_SECONDS = 5
    cached_fragment("probe", lambda: "old copy")
    writer = ReplicaRoutingMiddleware(lambda request: HttpResponse())
    pin = writer(rf.post("/posts/1/comments/")).cookies["cb_pin"].value
    seen = []

    def render(request):
        seen.append(cached_fragment("probe", lambda: "fresh render"))
        return HttpResponse()

    pinned_request = rf.get("/")
    pinned_request.COOKIES["cb_pin"] = pin
    ReplicaRoutingMiddleware(render)(pinned_request)
    ReplicaRoutingMiddleware(render)(rf.get("/"))

    assert seen == ["fresh render", "old copy"]
