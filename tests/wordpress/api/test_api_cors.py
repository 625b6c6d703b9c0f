"""CORS on the API as WordPress sends it: a browser front-end on another origin may
preflight, then read with credentials; pages outside the API get no CORS headers."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.factories import make_post

pytestmark = pytest.mark.django_db

FRONT_END = "https://front.example.org"


def test_preflight_allows_wordpress_methods_and_headers_with_credentials(client):
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
    assert "origin" in response["Vary"].lower()


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
