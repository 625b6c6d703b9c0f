"""Write-through: after a change, its pages are rendered into the page cache by a task,
and an older render never replaces a newer one."""

from __future__ import annotations

import threading
import time

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client

import webtier.page_cache as page_cache
from blog import tasks
from blog.models import Comment, Post
from blog.services import comment_set_status, post_publish, post_trash, post_write
from tests.factories import make_category, make_comment, make_post, make_tag
from webtier.cache import reset_breaker
from webtier.page_refresh import refresh_pages

# The generation is bumped, and the task queued, on commit.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def page_cache_on(settings):
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the page cache needs REDIS_URL (make test sets it)")
    settings.PAGE_CACHE_SECONDS = 300
    settings.READ_YOUR_WRITES_SECONDS = 5  # the write-through is not held to it
    reset_breaker()


@pytest.fixture
def reader():
    """An anonymous reader who has been here before (so the site knows its address)."""
    client = Client()
    client.get("/")
    return client


def test_after_a_publish_its_pages_are_already_in_the_cache(reader, author, subscriber):
    parent = make_category("Travel")
    category, tag = make_category("Trains", parent=parent), make_tag("Night")
    post = make_post(author, title="Sleeper", status=Post.Status.DRAFT, categories=[category],
                     tags=[tag])  # fmt: skip

    post = post_publish(post=post, by=author)

    urls = [post.get_absolute_url(), "/", category.get_absolute_url(),
            parent.get_absolute_url(), tag.get_absolute_url(), "/feed/", "/feed/atom/",
            f"/category/{category.slug}/feed/", f"/author/{author.username}/"]  # fmt: skip
    for url in urls:
        response = reader.get(url)
        assert (response.status_code, response["X-Cache"]) == (200, "HIT"), url
        assert "Sleeper" in response.content.decode(), url
    member = Client()
    member.force_login(subscriber)
    response = member.get(post.get_absolute_url())
    assert response["X-Cache"] == "HIT" and "Commenting as sue." in response.content.decode()


def test_an_approved_comment_is_in_the_cached_page_for_its_first_reader(reader, author, editor):
    post = make_post(author)
    comment = make_comment(post, body="Worth the wait", status=Comment.Status.PENDING)

    comment_set_status(comments=[comment], status=Comment.Status.APPROVED, by=editor)

    response = reader.get(post.get_absolute_url())
    assert response["X-Cache"] == "HIT" and "Worth the wait" in response.content.decode()
    feed = reader.get("/comments/feed/")
    assert feed["X-Cache"] == "HIT" and "Worth the wait" in feed.content.decode()


def test_edits_and_trash_reach_the_cached_home_page_before_its_first_reader(reader, author):
    post = make_post(author, title="First draft of history")
    post_write(post=post, by=author)

    post.title = "Second draft"
    post_write(post=post, by=author)
    home = reader.get("/")
    assert home["X-Cache"] == "HIT" and "Second draft" in home.content.decode()

    post_trash(post=post, by=author)
    home = reader.get("/")
    assert home["X-Cache"] == "HIT" and "Second draft" not in home.content.decode()
    assert reader.get(post.get_absolute_url()).status_code == 404


def test_the_request_that_changes_only_queues_the_refresh(reader, author, monkeypatch):
    queued = []
    monkeypatch.setattr(
        "blog.services.pages.enqueue_on_commit", lambda task, *args: queued.append(args)
    )
    one, two = make_post(author, status=Post.Status.DRAFT), make_post(author)
    cache.delete_many(list(cache.keys("page*")))

    with transaction.atomic():
        post_publish(post=one, by=author)
        post_write(post=one, by=author)
        post_write(post=two, by=author)

    # One refresh per post and transaction; nothing rendered in the request itself.
    assert queued == [([one.pk], False), ([two.pk], False)]
    assert not cache.keys("page:*")


def test_with_write_through_off_the_first_reader_renders(reader, author, settings):
    settings.PAGE_CACHE_WRITE_THROUGH = False
    post = make_post(author, status=Post.Status.DRAFT)

    post_publish(post=post, by=author)

    assert reader.get("/")["X-Cache"] == "MISS"
    assert refresh_pages(["/"]) == {}


def test_nothing_is_rendered_before_the_site_has_had_a_reader(author):
    assert refresh_pages(["/"]) == {}
    assert not cache.keys("page:*")


def test_write_through_renders_for_site_url_behind_the_load_balancer(author, settings):
    settings.SITE_URL = "https://blog.example.com"
    settings.ALLOWED_HOSTS = ["blog.example.com"]
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    post = make_post(author, title="Over TLS")

    assert refresh_pages([post.get_absolute_url()]) == {
        f"https://blog.example.com{post.get_absolute_url()}": 200
    }
    response = Client().get(
        post.get_absolute_url(), HTTP_HOST="blog.example.com", HTTP_X_FORWARDED_PROTO="https"
    )
    assert response["X-Cache"] == "HIT"
    assert 'href="https://blog.example.com/' in response.content.decode()  # its canonical URL


def test_pages_showing_a_post_start_with_the_post_and_home():
    assert tasks.pages_showing([]) == ["/", "/feed/", "/feed/atom/"]


# --- the version guard ---------------------------------------------------------------


def _render_paused(monkeypatch):
    """Run a refresh of / in a thread that stops after rendering, before it stores."""
    rendered, go_on = threading.Event(), threading.Event()
    fresh_for = page_cache._fresh_for

    def paused(*args, **kwargs):
        if threading.current_thread().name == "older":
            rendered.set()
            go_on.wait(10)
        return fresh_for(*args, **kwargs)

    monkeypatch.setattr(page_cache, "_fresh_for", paused)

    def refresh():
        try:
            refresh_pages(["/"])
        finally:
            connection.close()

    older = threading.Thread(target=refresh, name="older")
    older.start()
    assert rendered.wait(10)
    return older, go_on


def _cached_home(reader) -> str:
    response = reader.get("/")
    assert response["X-Cache"] == "HIT"
    return response.content.decode()


def test_a_render_from_an_older_generation_never_replaces_a_newer_one(reader, author, monkeypatch):
    make_post(author, title="Old news")
    older, go_on = _render_paused(monkeypatch)  # rendered "Old news" only

    # A change: new generation, and its own write-through stores the new page first.
    post_write(post=Post(title="Breaking", author=author, status=Post.Status.PUBLISHED), by=author)
    go_on.set()
    older.join(10)

    assert "Breaking" in _cached_home(reader)


def test_of_two_renders_in_one_generation_the_later_one_stays(
    reader, author, settings, monkeypatch
):
    make_post(author)
    settings.SITE_TAGLINE = "Tagline of the older render"
    older, go_on = _render_paused(monkeypatch)

    settings.SITE_TAGLINE = "Tagline of the newer render"
    refresh_pages(["/"])  # started later, stored first
    go_on.set()
    older.join(10)

    html = _cached_home(reader)
    assert "newer render" in html and "older render" not in html


def test_a_stamp_left_from_a_lost_generation_counter_does_not_block_stores(reader, author):
    make_post(author, title="After the restart")
    key = "page:http:testserver:/"
    entries = {key: {"generation": 0}}
    cache.set(page_cache.GENERATION_KEY, 7, timeout=None)
    assert page_cache.store_if_newer(key, entries, stamp=(7, time.time()), timeout=60)
    assert not page_cache.store_if_newer(key, entries, stamp=(6, time.time()), timeout=60)

    cache.delete(page_cache.GENERATION_KEY)  # Redis lost the counter: generation 0 again

    assert page_cache.store_if_newer(key, entries, stamp=(0, time.time()), timeout=60)
