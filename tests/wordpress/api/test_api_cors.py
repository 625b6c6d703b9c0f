"""CORS on the API as WordPress sends it: a browser front-end on another origin may
preflight, then read with credentials; pages outside the API get no CORS headers."""

from __future__ import annotations

import re

import pytest
from django.core.cache import cache

from tests.factories import make_post

pytestmark = pytest.mark.django_db

FRONT_END = "https://front.example.org"


def test_preflight_is_answered_as_wordpress_does_with_the_route_and_cors_headers(client):
    response = client.options(
        "/wp-json/wp/v2/posts",
        HTTP_ORIGIN=FRONT_END,
        HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
        HTTP_ACCESS_CONTROL_REQUEST_HEADERS="authorization, content-type, x-wp-nonce",
    )
    assert response.status_code == 200
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    assert response["Access-Control-Allow-Credentials"] == "true"
    assert response["Access-Control-Allow-Methods"] == "OPTIONS, GET, POST, PUT, PATCH, DELETE"
    assert response["Access-Control-Allow-Headers"] == (
        "Authorization, X-WP-Nonce, Content-Disposition, Content-MD5, Content-Type"
    )
    assert response["Access-Control-Expose-Headers"] == "X-WP-Total, X-WP-TotalPages, Link"
    assert "origin" in response["Vary"].lower()
    assert "Access-Control-Max-Age" not in response  # WordPress sends none
    # The body is the route's description, as rest_handle_options_request gives it.
    body = response.json()
    assert body["namespace"] == "wp/v2" and body["methods"] == ["GET", "POST"]
    assert body["schema"]["title"] == "post" and "per_page" in body["endpoints"][0]["args"]
    assert response["Allow"] == "GET"  # what an anonymous caller may do here


def test_options_allow_lists_what_the_caller_may_do(client, editor, administrator, app_auth):
    post = make_post(editor)
    item = f"/wp-json/wp/v2/posts/{post.pk}"
    assert client.options(item)["Allow"] == "GET"
    signed_in = client.options(item, **app_auth(editor))
    assert signed_in["Allow"] == "GET, POST, PUT, PATCH, DELETE"
    assert signed_in.json()["schema"]["title"] == "post"
    settings_route = "/wp-json/wp/v2/settings"
    assert "Allow" not in client.options(settings_route)
    assert "Allow" not in client.options(settings_route, **app_auth(editor, "2"))
    admin = client.options(settings_route, **app_auth(administrator))
    assert admin["Allow"] == "GET, POST, PUT, PATCH"
    me = "/wp-json/wp/v2/users/me"
    assert "Allow" not in client.options(me)
    assert client.options(me, **app_auth(editor, "3"))["Allow"] == "GET"


def test_every_route_answers_options_with_its_description(client, author):
    post = make_post(author)
    routes = client.get("/wp-json/").json()["routes"]
    samples = {"id": str(post.pk), "type": "post", "status": "publish", "taxonomy": "category"}
    for pattern, described in routes.items():
        path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: samples.get(m[1], "1"), pattern)
        response = client.options(f"/wp-json{path}", HTTP_ORIGIN=FRONT_END)
        assert response.status_code == 200, (pattern, response.content[:200])
        assert response.json()["methods"] == described["methods"], pattern
        assert response["Access-Control-Allow-Origin"] == FRONT_END
    unknown = client.options("/wp-json/wp/v2/no-such-thing", HTTP_ORIGIN=FRONT_END)
    assert unknown.status_code == 200 and unknown.json() == []


def test_errors_carry_the_callers_allow_and_unknown_routes_none(client, author):
    draft = make_post(author, status="draft")
    hidden = client.get(f"/wp-json/wp/v2/posts/{draft.pk}")
    assert hidden.status_code == 401 and hidden["Allow"] == "GET"
    missing = client.get("/wp-json/wp/v2/no-such-thing")
    assert missing.status_code == 404 and "Allow" not in missing


def test_credentialed_get_from_another_origin_is_readable_with_its_paging_headers(
    client, author, app_auth
):
    make_post(author)
    response = client.get("/wp-json/wp/v2/users/me", HTTP_ORIGIN=FRONT_END, **app_auth(author))
    assert response.status_code == 200 and response.json()["id"] == author.pk
    assert response["Access-Control-Allow-Origin"] == FRONT_END
    assert response["Access-Control-Allow-Credentials"] == "true"
    listed = client.get("/wp-json/wp/v2/posts", HTTP_ORIGIN=FRONT_END, **app_auth(author, "2"))
    assert listed["X-WP-Total"] == "1"
    assert listed["Access-Control-Expose-Headers"] == "X-WP-Total, X-WP-TotalPages, Link"


def test_cached_anonymous_answer_carries_each_callers_origin(client, author, settings):
    settings.PAGE_CACHE_SECONDS = 300
    cache.clear()
    make_post(author)
    first = client.get("/wp-json/wp/v2/posts", HTTP_ORIGIN=FRONT_END)
    second = client.get("/wp-json/wp/v2/posts", HTTP_ORIGIN="https://other.example.net")
    assert (first["X-Cache"], second["X-Cache"]) == ("MISS", "HIT")
    assert second["Access-Control-Allow-Origin"] == "https://other.example.net"
    third = client.get("/wp-json/wp/v2/posts")
    assert "Access-Control-Allow-Origin" not in third
    assert "origin" in third["Vary"].lower()  # a shared cache in front keys on it


def test_rest_route_gets_cors_and_html_pages_do_not(client, author):
    post = make_post(author)
    api = client.get("/", {"rest_route": f"/wp/v2/posts/{post.pk}"}, HTTP_ORIGIN=FRONT_END)
    assert api.status_code == 200 and api["Access-Control-Allow-Origin"] == FRONT_END
    page = client.get(post.get_absolute_url(), HTTP_ORIGIN=FRONT_END)
    assert page.status_code == 200 and "Access-Control-Allow-Origin" not in page
