"""Deep `?page=N` pages seek from cached anchors and counts are taken once per change,
yet every page shows exactly the posts a plain ORDER BY ... OFFSET would show.

Anchors are every ANCHOR_EVERY rows (500 in production); here every 7, with 4 posts a
page, so pages start before, on and after an anchor with a few dozen posts.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from blog import listing
from blog.models import Category, Post
from tests.factories import make_post

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("steady_epoch")]

PER_PAGE = 4


@pytest.fixture(autouse=True)
def _small_pages(settings, monkeypatch):
    settings.POSTS_PER_PAGE = PER_PAGE
    monkeypatch.setattr(listing, "ANCHOR_EVERY", 7)


@pytest.fixture
def site(author, other_author):
    """45 posts: two sticky, runs sharing one published_at (ties broken by id), two
    authors, a category holding every third post, a draft and a private post."""
    category = Category.objects.create(name="Garden", slug="garden")
    base = timezone.now() - timedelta(days=1)
    for n in range(45):
        when = base - timedelta(hours=n // 3)  # three posts per timestamp
        make_post(
            author if n % 2 else other_author,
            title=f"Post {n:02d}",
            published_at=when,
            sticky=n in (30, 41),
            categories=[category] if n % 3 == 0 else [],
        )
    make_post(author, title="A draft", status=Post.Status.DRAFT)
    make_post(author, title="A private one", status=Post.Status.PRIVATE)
    return category


def _titles(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    return re.findall(r'<h2><a href="[^"]+">([^<]+)</a></h2>', response.content.decode())


def _naive_pages(queryset) -> list[list[str]]:
    titles = list(queryset.values_list("title", flat=True))
    return [titles[i : i + PER_PAGE] for i in range(0, len(titles), PER_PAGE)]


def _home_order():
    return Post.objects.posts().published().order_by("-sticky", "-published_at", "-id")


def test_every_home_page_shows_the_same_posts_as_a_plain_offset(client, site):
    expected = _naive_pages(_home_order())
    assert len(expected) == 12

    for number, titles in enumerate(expected, 1):
        assert _titles(client, f"/?page={number}") == titles, number
    # Again, now from the cached anchors.
    for number, titles in enumerate(expected, 1):
        assert _titles(client, f"/?page={number}") == titles, number


def test_every_category_page_shows_the_same_posts_as_a_plain_offset(client, site):
    posts = Post.objects.posts().published().in_categories([site.pk])
    expected = _naive_pages(posts.order_by("-published_at", "-id"))

    for number, titles in enumerate(expected, 1):
        assert _titles(client, f"/category/garden/?page={number}") == titles, number


def test_a_new_post_moves_every_deep_page_at_once(client, site, author):
    _titles(client, "/?page=9")  # anchors and count cached
    make_post(author, title="Brand new", published_at=timezone.now() - timedelta(minutes=1))

    expected = _naive_pages(_home_order())
    assert _titles(client, "/?page=9") == expected[8]
    assert f"Page 1 of {len(expected)}" in client.get("/").content.decode()


def test_a_scheduled_post_shifts_the_pages_when_its_time_comes_with_no_write(client, site, author):
    make_post(
        author,
        title="Scheduled",
        status=Post.Status.FUTURE,
        published_at=timezone.now() + timedelta(minutes=5),
    )
    before = _titles(client, "/?page=9")
    assert "Page 1 of 12" in client.get("/").content.decode()

    with time_machine.travel(timezone.now() + timedelta(minutes=6)):
        expected = _naive_pages(_home_order())
        assert "Scheduled" in expected[0]
        assert _titles(client, "/?page=9") == expected[8] != before
        assert "Page 1 of 12" in client.get("/").content.decode()  # 46 posts, 4 a page


def test_a_page_past_the_end_is_404(client, site):
    assert client.get("/?page=12").status_code == 200
    assert client.get("/?page=13").status_code == 404
    assert client.get("/?page=zero").status_code == 404


def _sql(client, url: str) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def _offsets(queries: list[str]) -> list[int]:
    return [int(n) for q in queries for n in re.findall(r"OFFSET (\d+)", q)]


def test_a_deep_page_skips_fewer_rows_than_an_anchor_gap_and_counts_nothing_when_warm(client, site):
    _sql(client, "/?page=11")
    warm = _sql(client, "/?page=11")

    assert not [q for q in warm if "COUNT(" in q], warm
    assert max(_offsets(warm), default=0) < listing.ANCHOR_EVERY, warm


@pytest.mark.parametrize("url", ["/?page=10", "/category/garden/?page=3", "/author/arthur/?page=5"])
def test_a_deep_page_costs_the_same_queries_with_45_or_200_posts(client, site, author, url):
    from django.core.cache import cache

    small_cold, small_warm = _sql(client, url), _sql(client, url)
    for n in range(155):
        make_post(
            author,
            title=f"More {n}",
            published_at=timezone.now() - timedelta(days=30 + n),
            categories=[site] if n % 3 == 0 else [],
        )
    cache.clear()
    large_cold, large_warm = _sql(client, url), _sql(client, url)

    assert len(large_cold) == len(small_cold), (small_cold, large_cold)
    assert len(large_warm) == len(small_warm) < len(small_cold)


# --- The admin's post list: `?p=N` by seek, in its default order -------------

ADMIN_POSTS = "/admin/blog/post/"


@pytest.fixture
def admin_site(site, author, monkeypatch):
    """The site above plus drafts with no date (they sort last, newest first), and small
    admin pages."""
    from blog.admin import PostAdmin

    monkeypatch.setattr(PostAdmin, "list_per_page", PER_PAGE)
    for n in range(9):
        make_post(author, title=f"Undated draft {n}", status=Post.Status.DRAFT)
    make_post(author, title="Trashed", status=Post.Status.TRASH)
    return site


def _admin_titles(client, url: str) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    html = response.content.decode()
    return re.findall(r'class="desk-title"><a href="[^"]+">([^<]+)</a>', html)


def _admin_order(queryset):
    return queryset.order_by("-published_at", "-id")


@pytest.mark.parametrize(
    "query, expected",
    [
        ("", lambda site: _admin_order(Post.objects.posts().exclude(status=Post.Status.TRASH))),
        ("status=draft", lambda site: _admin_order(Post.objects.posts().filter(status="draft"))),
        (
            "categories__id__exact={site.pk}",
            lambda site: _admin_order(
                Post.objects.posts().exclude(status="trash").filter(categories=site)
            ),
        ),
        (
            "author__id__exact={author.pk}",
            lambda site: _admin_order(
                Post.objects.posts().exclude(status="trash").filter(author__username="arthur")
            ),
        ),
        (
            "q=draft",
            lambda site: _admin_order(
                Post.objects.posts().exclude(status="trash").filter(title__icontains="draft")
            ),
        ),
    ],
)
def test_every_admin_post_list_page_shows_the_same_posts_as_a_plain_offset(
    client, admin_site, editor, author, query, expected
):
    client.force_login(editor)
    query = query.format(site=admin_site, author=author)
    pages = _naive_pages(expected(admin_site))
    assert len(pages) > 2 or query in ("status=draft", "q=draft")

    shown = [
        _admin_titles(client, f"{ADMIN_POSTS}?{query}&p={n}") for n in range(1, len(pages) + 1)
    ]

    assert shown == pages


def test_a_deep_admin_page_seeks_and_counts_nothing_when_warm(client, admin_site, editor):
    client.force_login(editor)
    _sql(client, f"{ADMIN_POSTS}?p=13")
    warm = _sql(client, f"{ADMIN_POSTS}?p=13")

    assert not [q for q in warm if "COUNT(" in q], warm
    assert max(_offsets(warm), default=0) < listing.ANCHOR_EVERY, warm
    everything = _admin_order(Post.objects.posts().exclude(status=Post.Status.TRASH))
    assert _admin_titles(client, f"{ADMIN_POSTS}?p=13") == _naive_pages(everything)[12]


def test_an_admin_list_sorted_by_a_column_pages_the_plain_way(client, admin_site, editor):
    client.force_login(editor)
    by_title = list(
        Post.objects.posts()
        .exclude(status="trash")
        .order_by("title", "-pk")
        .values_list("title", flat=True)
    )

    shown = _admin_titles(client, f"{ADMIN_POSTS}?o=1&p=4")

    assert shown == by_title[3 * PER_PAGE : 4 * PER_PAGE]
