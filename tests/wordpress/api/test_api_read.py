"""Reading posts and pages as WordPress's REST API serves them, through HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from blog.models import Post
from tests.factories import make_category, make_page, make_post, make_tag

pytestmark = pytest.mark.django_db


def test_index_lists_namespaces_and_routes_with_their_arguments(client):
    response = client.get("/wp-json/")
    assert response.status_code == 200
    index = response.json()
    assert index["namespaces"] == ["wp/v2"]
    assert index["url"] == "http://testserver"
    posts = index["routes"]["/wp/v2/posts"]
    assert posts["methods"] == ["GET", "POST"]
    assert posts["endpoints"][0]["args"]["per_page"]["maximum"] == 100
    assert "(?P<id>[\\d]+)" in "".join(index["routes"])


def test_every_html_page_links_to_the_api(client, author):
    make_post(author)
    response = client.get("/")
    assert response["Link"] == '<http://testserver/wp-json/>; rel="https://api.w.org/"'
    assert b'<link rel="https://api.w.org/" href="http://testserver/wp-json/">' in response.content


def test_rest_route_parameter_reaches_the_same_routes(client, author):
    post = make_post(author, title="Plain permalinks")
    response = client.get("/", {"rest_route": f"/wp/v2/posts/{post.pk}"})
    assert response.status_code == 200
    assert response.json()["title"]["rendered"] == "Plain permalinks"


def test_post_has_wordpress_fields(client, author):
    category, tag = make_category("News"), make_tag("Python")
    post = make_post(author, title="Hello <world>", categories=[category], tags=[tag])
    data = client.get(f"/wp-json/wp/v2/posts/{post.pk}").json()
    assert data["id"] == post.pk
    assert data["title"] == {"rendered": "Hello &lt;world&gt;"}
    assert data["content"]["protected"] is False
    assert "<p>Body of post" in data["content"]["rendered"]
    assert data["type"] == "post" and data["status"] == "publish"
    assert data["categories"] == [category.pk] and data["tags"] == [tag.pk]
    assert data["link"].startswith("http://testserver/")
    assert (
        data["_links"]["author"][0]["href"] == f"http://testserver/wp-json/wp/v2/users/{author.pk}"
    )
    assert "raw" not in data["content"]


def test_collection_paginates_with_headers_and_links(client, author):
    for _ in range(5):
        make_post(author)
    response = client.get("/wp-json/wp/v2/posts", {"per_page": 2, "page": 2})
    assert response.status_code == 200
    assert len(response.json()) == 2
    assert response["X-WP-Total"] == "5" and response["X-WP-TotalPages"] == "3"
    assert 'rel="prev"' in response["Link"] and 'rel="next"' in response["Link"]
    assert "page=3" in response["Link"] and "per_page=2" in response["Link"]


def test_page_past_the_end_is_wordpress_error(client, author):
    make_post(author)
    response = client.get("/wp-json/wp/v2/posts", {"page": 5})
    assert response.status_code == 400
    assert response.json()["code"] == "rest_post_invalid_page_number"


@pytest.mark.parametrize("per_page", ["0", "101", "ten"])
def test_per_page_out_of_range_is_invalid_param(client, per_page):
    response = client.get("/wp-json/wp/v2/posts", {"per_page": per_page})
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "rest_invalid_param"
    assert body["data"]["status"] == 400 and "per_page" in body["data"]["params"]


def test_categories_filter_takes_both_list_forms(client, author):
    a, b, c = make_category(), make_category(), make_category()
    in_a, in_b = make_post(author, categories=[a]), make_post(author, categories=[b])
    make_post(author, categories=[c])
    for query in (f"categories={a.pk},{b.pk}", f"categories[]={a.pk}&categories[]={b.pk}"):
        ids = {p["id"] for p in client.get(f"/wp-json/wp/v2/posts?{query}").json()}
        assert ids == {in_a.pk, in_b.pk}


def test_drafts_private_and_future_never_reach_anonymous(client, author):
    public = make_post(author)
    hidden = [
        make_post(author, status=Post.Status.DRAFT),
        make_post(author, status=Post.Status.PRIVATE),
        make_post(
            author, status=Post.Status.FUTURE, published_at=timezone.now() + timedelta(days=1)
        ),
    ]
    listed = client.get("/wp-json/wp/v2/posts").json()
    assert [p["id"] for p in listed] == [public.pk]
    for post in hidden:
        response = client.get(f"/wp-json/wp/v2/posts/{post.pk}")
        assert response.status_code == 401
        assert response.json()["code"] == "rest_forbidden"
    response = client.get("/wp-json/wp/v2/posts", {"status": "draft"})
    assert response.status_code == 400 and "status" in response.json()["data"]["params"]


def test_protected_post_hides_content_until_the_password_is_given(client, author):
    post = make_post(author, password="open sesame", body="The secret")
    data = client.get(f"/wp-json/wp/v2/posts/{post.pk}").json()
    assert data["content"] == {"rendered": "", "protected": True}
    assert data["excerpt"]["rendered"] == ""
    data = client.get(f"/wp-json/wp/v2/posts/{post.pk}", {"password": "open sesame"}).json()
    assert "The secret" in data["content"]["rendered"]
    wrong = client.get(f"/wp-json/wp/v2/posts/{post.pk}", {"password": "nope"})
    assert wrong.status_code == 403 and wrong.json()["code"] == "rest_post_incorrect_password"


def test_unknown_ids_and_routes_are_wordpress_errors(client, author):
    page = make_page(author)
    response = client.get(f"/wp-json/wp/v2/posts/{page.pk}")
    assert response.status_code == 404 and response.json()["code"] == "rest_post_invalid_id"
    response = client.get("/wp-json/wp/v2/nothing-here")
    assert response.status_code == 404 and response.json()["code"] == "rest_no_route"


def test_fields_and_edit_context(client, author):
    post = make_post(author)
    data = client.get(f"/wp-json/wp/v2/posts/{post.pk}", {"_fields": "id,title.rendered"}).json()
    assert data == {"id": post.pk, "title": {"rendered": post.title}}
    response = client.get(f"/wp-json/wp/v2/posts/{post.pk}", {"context": "edit"})
    assert response.status_code == 401 and response.json()["code"] == "rest_forbidden_context"


def test_embed_brings_author_terms_and_featured_media(client, author):
    category = make_category("Embedded")
    post = make_post(author, categories=[category])
    data = client.get("/wp-json/wp/v2/posts", {"_embed": "1"}).json()[0]
    assert data["id"] == post.pk
    assert data["_embedded"]["author"][0]["name"] == "Arthur Dent"
    assert data["_embedded"]["wp:term"][0][0]["name"] == "Embedded"
    only_author = client.get("/wp-json/wp/v2/posts", {"_embed": "author"}).json()[0]
    assert set(only_author["_embedded"]) == {"author"}
