"""The posts collection costs a fixed number of queries, and anonymous reads are served
from the page cache until the content they mirror changes."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from media_library.models import MediaItem
from tests.factories import make_category, make_comment, make_post, make_tag

pytestmark = pytest.mark.django_db

# Measured on MariaDB (count, posts, categories, tags, media in bodies, replies) plus slack.
EMBED_CEILING = 8


def _seed(author, count):
    categories = [make_category() for _ in range(3)]
    tag = make_tag()
    item = MediaItem.objects.create(title="pic", uploaded_by=author, width=10, height=10)
    for n in range(count):
        post = make_post(
            author, categories=categories[: 1 + n % 3], tags=[tag], featured_image=item,
            body=f'Post {n}\n\n<img src="media:{item.pk}" alt="x">', body_format="html",
        )  # fmt: skip
        if n % 4 == 0:
            make_comment(post)


def _queries(client, per_page):
    with CaptureQueriesContext(connection) as captured:
        response = client.get("/wp-json/wp/v2/posts", {"per_page": per_page, "_embed": "1"})
    assert response.status_code == 200
    return len(captured), response.json()


def test_embedded_collection_costs_the_same_for_10_and_100_posts(client, author):
    _seed(author, 100)
    small, ten = _queries(client, 10)
    large, hundred = _queries(client, 100)
    assert len(ten) == 10 and len(hundred) == 100
    assert small == large <= EMBED_CEILING, (small, large)
    first = hundred[0]["_embedded"]
    assert first["wp:featuredmedia"][0]["id"] and first["wp:term"][1][0]["taxonomy"] == "post_tag"


@pytest.fixture
def page_cache(settings):
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the page cache needs REDIS_URL (make test sets it)")
    settings.PAGE_CACHE_SECONDS = 300
    settings.READ_YOUR_WRITES_SECONDS = 0


@pytest.mark.django_db(transaction=True)  # invalidation runs on commit
def test_anonymous_reads_come_from_the_page_cache_and_follow_changes(
    client, author, editor, app_auth, page_cache
):
    post = make_post(author, title="Before")
    url = f"/wp-json/wp/v2/posts/{post.pk}"
    assert client.get(url)["X-Cache"] == "MISS"
    cached = client.get(url)
    assert cached["X-Cache"] == "HIT" and cached.json()["title"]["rendered"] == "Before"
    body = json.dumps({"title": "After"})
    writer = Client()  # the editor's app; the reader keeps no cookie of theirs
    edit = writer.post(url, body, content_type="application/json", **app_auth(editor))
    assert edit.status_code == 200
    fresh = client.get(url)
    assert fresh["X-Cache"] == "MISS" and fresh.json()["title"]["rendered"] == "After"


@pytest.mark.django_db(transaction=True)
def test_authenticated_reads_never_use_or_fill_the_page_cache(
    client, author, editor, app_auth, page_cache
):
    make_post(author, status="draft", title="Secret draft")
    auth = app_auth(editor)
    drafts = client.get("/wp-json/wp/v2/posts", {"status": "draft"}, **auth)
    assert drafts.json()[0]["title"]["rendered"] == "Secret draft" and "X-Cache" not in drafts
    anonymous = client.get("/wp-json/wp/v2/posts", {"status": "draft"})
    assert anonymous.status_code == 400 and "Secret draft" not in anonymous.content.decode()
