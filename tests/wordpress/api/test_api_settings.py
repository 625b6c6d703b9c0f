"""/wp/v2/settings: administrators read and change the site's settings, and the whole
site (pages, feeds, the API index, new posts) follows; anyone else is refused."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client

from blog.models import Post
from tests.factories import make_category, make_post

pytestmark = pytest.mark.django_db

URL = "/wp-json/wp/v2/settings"


def _send(client, auth, body, method="post"):
    send = getattr(client, method)
    return send(URL, json.dumps(body), content_type="application/json", **auth)


def test_settings_are_for_administrators_only(client, author, administrator, app_auth):
    anonymous = client.get(URL)
    assert anonymous.status_code == 401
    assert anonymous.json() == {
        "code": "rest_forbidden",
        "message": "Sorry, you are not allowed to do that.",
        "data": {"status": 401},
    }
    as_author = client.get(URL, **app_auth(author))
    assert as_author.status_code == 403 and as_author.json()["code"] == "rest_forbidden"
    refused = _send(client, app_auth(author, "2"), {"title": "Mine now"})
    assert refused.status_code == 403 and refused.json()["code"] == "rest_forbidden"
    assert _send(Client(), {}, {"title": "Mine now"}).status_code == 401
    assert client.get(URL, **app_auth(administrator)).json()["title"] == settings.SITE_NAME


def test_administrator_reads_the_environments_values_until_a_change(
    client, administrator, app_auth
):
    data = client.get(URL, **app_auth(administrator)).json()
    assert data["title"] == settings.SITE_NAME
    assert data["description"] == settings.SITE_TAGLINE
    assert data["posts_per_page"] == settings.POSTS_PER_PAGE
    assert data["timezone"] == settings.TIME_ZONE
    assert data["url"] == "http://testserver"
    assert data["date_format"] == "j F Y" and data["language"] == "en_US"
    assert data["default_comment_status"] == "open" and data["default_category"] == 0


def test_a_change_reaches_the_pages_feeds_index_and_new_posts(
    client, administrator, author, app_auth
):
    for n in range(3):
        make_post(author, title=f"Listed {n}")
    news = make_category(name="News")
    auth = app_auth(administrator)
    changed = _send(
        client,
        auth,
        {
            "title": "Harbour Notes",
            "description": "Boats & tides",
            "posts_per_page": 2,
            "default_comment_status": "closed",
            "default_category": news.pk,
            "timezone": "Asia/Kolkata",
            "date_format": "Y-m-d",
            "start_of_week": 0,
        },
    )
    assert changed.status_code == 200, changed.content
    assert changed.json()["title"] == "Harbour Notes" and changed.json()["posts_per_page"] == 2
    assert client.get(URL, **auth).json() == changed.json()

    home = Client().get("/").content.decode()
    assert "<title>Harbour Notes</title>" in home and "Boats &amp; tides" in home
    assert "Listed 2" in home and "Listed 1" in home and "Listed 0" not in home  # 2 a page
    feed = Client().get("/feed/").content.decode()
    assert "<title>Harbour Notes</title>" in feed and "Boats &amp; tides" in feed
    index = Client().get("/wp-json/").json()
    assert index["name"] == "Harbour Notes" and index["description"] == "Boats & tides"
    assert index["timezone_string"] == "Asia/Kolkata" and index["gmt_offset"] == 5.5

    created = client.post(
        "/wp-json/wp/v2/posts",
        json.dumps({"title": "Quiet one", "status": "publish"}),
        content_type="application/json",
        **app_auth(author, "writer"),
    )
    assert created.status_code == 201 and created.json()["comment_status"] == "closed"
    assert Post.objects.get(pk=created.json()["id"]).comment_status == "closed"
    # A local time in India, in the chosen format, where the theme prints dates.
    post = Post.objects.get(pk=created.json()["id"])
    page = Client().get(post.get_absolute_url()).content.decode()
    local = post.published_at.astimezone(ZoneInfo("Asia/Kolkata"))
    assert f">{local:%Y-%m-%d}</time>" in page


def test_put_and_patch_change_settings_too_and_null_restores_the_default(
    client, administrator, app_auth
):
    auth = app_auth(administrator)
    assert _send(client, auth, {"title": "By PUT"}, "put").json()["title"] == "By PUT"
    assert _send(client, auth, {"description": "By PATCH"}, "patch").json()["description"] == (
        "By PATCH"
    )
    restored = _send(client, auth, {"title": None}).json()
    assert restored["title"] == settings.SITE_NAME and restored["description"] == "By PATCH"


def test_sending_the_whole_object_back_changes_nothing(client, administrator, app_auth):
    auth = app_auth(administrator)
    current = client.get(URL, **auth).json()
    same = _send(client, auth, current)
    assert same.status_code == 200 and same.json() == current


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"posts_per_page": "many"}, "posts_per_page"),
        ({"posts_per_page": 0}, "posts_per_page"),
        ({"start_of_week": 9}, "start_of_week"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"email": "not an address"}, "email"),
        ({"default_comment_status": "maybe"}, "default_comment_status"),
        ({"default_category": 987654}, "default_category"),
        ({"title": ["a", "list"]}, "title"),
        ({"url": "https://elsewhere.example"}, "url"),
        ({"use_smilies": True}, "use_smilies"),
        ({"blogname": "WordPress's option name"}, "blogname"),
    ],
)
def test_a_bad_value_is_refused_by_name_and_changes_nothing(
    client, administrator, app_auth, body, param
):
    auth = app_auth(administrator)
    before = client.get(URL, **auth).json()
    refused = _send(client, auth, {"title": "Should not stick", **body})
    assert refused.status_code == 400, refused.content
    assert refused.json()["code"] == "rest_invalid_param"
    assert param in refused.json()["data"]["params"]
    assert client.get(URL, **auth).json() == before
    assert "Should not stick" not in Client().get("/").content.decode()


@pytest.mark.django_db(transaction=True)  # the page generation is bumped on commit
def test_a_change_makes_cached_pages_and_every_instance_read_it_at_once(
    client, administrator, app_auth, settings
):
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the page cache needs REDIS_URL (make test sets it)")
    settings.PAGE_CACHE_SECONDS = 300
    settings.READ_YOUR_WRITES_SECONDS = 0
    reader = Client()
    assert reader.get("/")["X-Cache"] == "MISS"
    assert reader.get("/")["X-Cache"] == "HIT"
    assert _send(client, app_auth(administrator), {"title": "Renamed"}).status_code == 200
    fresh = reader.get("/")
    assert fresh["X-Cache"] == "MISS" and "<title>Renamed</title>" in fresh.content.decode()
    # Shared through Redis under the new generation: another instance reads the new value.
    assert cache.get("shared:site-settings")["value"]["title"] == "Renamed"
