"""search, settings, types, statuses and taxonomies, through HTTP, as WordPress answers them."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from blog.models import Post
from tests.factories import make_category, make_page, make_post, make_tag

pytestmark = pytest.mark.django_db


def test_index_lists_the_site_routes(client):
    routes = client.get("/wp-json/").json()["routes"]
    for path in (
        "/wp/v2/search",
        "/wp/v2/settings",
        "/wp/v2/types",
        "/wp/v2/types/(?P<type>[\\w-]+)",
        "/wp/v2/statuses",
        "/wp/v2/statuses/(?P<status>[\\w-]+)",
        "/wp/v2/taxonomies",
        "/wp/v2/taxonomies/(?P<taxonomy>[\\w-]+)",
    ):
        assert path in routes, path
    assert routes["/wp/v2/settings"]["methods"] == ["GET", "POST", "PUT", "PATCH"]
    assert routes["/wp/v2/search"]["endpoints"][0]["args"]["type"]["enum"] == [
        "post",
        "term",
        "post-format",
    ]


# --- search ---------------------------------------------------------------------------

# InnoDB's FULLTEXT index sees only committed rows: post searches run in committed tests.
_committed = pytest.mark.django_db(transaction=True)


@_committed
def test_search_finds_posts_and_pages_in_wordpress_result_shape(client, author):
    post = make_post(author, title="Harbour lights", body="Boats at dawn")
    page = make_page(author, title="About the harbour")
    make_post(author, title="Unrelated", body="Nothing")
    response = client.get("/wp-json/wp/v2/search", {"search": "harbour"})
    assert response.status_code == 200
    assert response["X-WP-Total"] == "2" and response["X-WP-TotalPages"] == "1"
    results = {r["id"]: r for r in response.json()}
    assert set(results) == {post.pk, page.pk}
    hit = results[post.pk]
    assert hit["title"] == "Harbour lights"
    assert hit["url"] == f"http://testserver{post.get_absolute_url()}"
    assert (hit["type"], hit["subtype"]) == ("post", "post")
    assert results[page.pk]["subtype"] == "page"
    assert hit["_links"]["self"] == [
        {"embeddable": True, "href": f"http://testserver/wp-json/wp/v2/posts/{post.pk}"}
    ]
    assert hit["_links"]["about"] == [{"href": "http://testserver/wp-json/wp/v2/types/post"}]


@_committed
def test_search_subtype_limits_to_pages(client, author):
    make_post(author, title="Harbour post")
    page = make_page(author, title="Harbour page")
    response = client.get("/wp-json/wp/v2/search", {"search": "harbour", "subtype": "page"})
    assert [r["id"] for r in response.json()] == [page.pk]


@_committed
def test_search_ranks_title_matches_before_body_matches(client, author):
    in_title = make_post(author, title="Kelp forests")
    make_post(author, title="Something else", body="A note about kelp")
    assert client.get("/wp-json/wp/v2/search", {"search": "kelp"}).json()[0]["id"] == in_title.pk


@_committed
def test_search_protected_post_matches_by_title_only(client, author):
    protected = make_post(
        author, title="Locked box", body="The treasure map", excerpt="treasure", password="pw"
    )
    for search in ("treasure", "map"):
        assert client.get("/wp-json/wp/v2/search", {"search": search}).json() == []
        assert client.get("/wp-json/wp/v2/posts", {"search": search}).json() == []
    found = client.get("/wp-json/wp/v2/search", {"search": "locked"}).json()
    assert [r["id"] for r in found] == [protected.pk]


@_committed
def test_search_never_returns_unpublished_content_even_to_its_author(client, author, app_auth):
    make_post(author, title="Secret draft", status=Post.Status.DRAFT)
    make_post(author, title="Secret private", status=Post.Status.PRIVATE)
    response = client.get("/wp-json/wp/v2/search", {"search": "secret"}, **app_auth(author))
    assert response.status_code == 200 and response.json() == []


def test_search_terms_by_type(client):
    category, tag = make_category("Sailing"), make_tag("Sailboats")
    make_category("Cooking")
    response = client.get("/wp-json/wp/v2/search", {"search": "sail", "type": "term"})
    results = {(r["subtype"], r["id"]): r for r in response.json()}
    assert set(results) == {("category", category.pk), ("post_tag", tag.pk)}
    hit = results[("category", category.pk)]
    assert hit["type"] == "term" and hit["title"] == "Sailing"
    assert hit["url"] == f"http://testserver{category.get_absolute_url()}"
    assert hit["_links"]["about"] == [
        {"href": "http://testserver/wp-json/wp/v2/taxonomies/category"}
    ]
    only_tags = client.get(
        "/wp-json/wp/v2/search", {"search": "sail", "type": "term", "subtype": "post_tag"}
    ).json()
    assert [r["id"] for r in only_tags] == [tag.pk]


@_committed
def test_posts_search_is_the_site_search_and_editors_also_find_their_drafts(
    client, author, editor, app_auth
):
    published = make_post(author, title="Harbour", body="Seals on the pier")
    draft = make_post(author, title="Pier plans", body="Seals again", status=Post.Status.DRAFT)
    make_post(author, title="Locked", body="Seals", password="pw", status=Post.Status.DRAFT)

    anonymous = client.get("/wp-json/wp/v2/posts", {"search": "seals"}).json()
    listed = client.get(
        "/wp-json/wp/v2/posts", {"search": "seals", "status": "publish,draft"}, **app_auth(editor)
    ).json()
    odd = client.get("/wp-json/wp/v2/posts", {"search": '+-*"()~<>@ seals'})

    assert [p["id"] for p in anonymous] == [published.pk]
    assert {p["id"] for p in listed} == {published.pk, draft.pk}
    assert odd.status_code == 200 and [p["id"] for p in odd.json()] == [published.pk]
    assert client.get("/wp-json/wp/v2/search", {"search": "()~<>"}).json() == []


@_committed
def test_search_paginates_and_refuses_bad_arguments(client, author):
    for n in range(3):
        make_post(author, title=f"Tide table {n}")
    response = client.get("/wp-json/wp/v2/search", {"search": "tide", "per_page": 2, "page": 2})
    assert len(response.json()) == 1 and 'rel="prev"' in response["Link"]
    bad = client.get("/wp-json/wp/v2/search", {"type": "user"})
    assert bad.status_code == 400 and bad.json()["code"] == "rest_invalid_param"
    past = client.get("/wp-json/wp/v2/search", {"search": "tide", "page": 9})
    assert past.status_code == 400 and past.json()["code"] == "rest_post_invalid_page_number"


@_committed
def test_search_embeds_each_results_post_with_the_same_few_queries_for_5_or_40(client, author):
    category = make_category(name="Harbours")
    for n in range(40):
        make_post(author, title=f"Harbour log {n}", categories=[category])
    make_page(author, title="Harbour map")

    def embedded(per_page):
        with CaptureQueriesContext(connection) as queries:
            response = client.get(
                "/wp-json/wp/v2/search", {"search": "harbour", "per_page": per_page, "_embed": "1"}
            )
        assert response.status_code == 200
        return len(queries), response.json()

    small, five = embedded(5)
    large, forty = embedded(40)
    assert len(five) == 5 and len(forty) == 40 and small == large, (small, large)
    first = forty[0]["_embedded"]["self"][0]
    assert first["id"] == forty[0]["id"] and first["title"]["rendered"].startswith("Harbour")
    assert first["link"] == forty[0]["url"] and "content" not in first  # embed context
    pages = client.get(
        "/wp-json/wp/v2/search", {"search": "map", "subtype": "page", "_embed": "self"}
    ).json()
    assert pages[0]["_embedded"]["self"][0]["type"] == "page"
    plain = client.get("/wp-json/wp/v2/search", {"search": "harbour"}).json()
    assert "_embedded" not in plain[0]


def test_search_embeds_terms_too(client):
    make_category(name="Tides")
    found = client.get(
        "/wp-json/wp/v2/search", {"type": "term", "search": "tides", "_embed": "1"}
    ).json()
    term = found[0]["_embedded"]["self"][0]
    assert term["name"] == "Tides" and term["taxonomy"] == "category"


# --- types, statuses, taxonomies ------------------------------------------------------


def test_types_collection_and_item_in_view_context(client):
    types = client.get("/wp-json/wp/v2/types").json()
    assert set(types) == {"post", "page", "attachment"}
    post = types["post"]
    assert post["slug"] == "post" and post["rest_base"] == "posts"
    assert post["taxonomies"] == ["category", "post_tag"] and post["hierarchical"] is False
    assert "capabilities" not in post and "labels" not in post  # edit context only
    assert post["_links"]["wp:items"] == [{"href": "http://testserver/wp-json/wp/v2/posts"}]
    page = client.get("/wp-json/wp/v2/types/page").json()
    assert page["hierarchical"] is True and page["rest_base"] == "pages"
    embed = client.get("/wp-json/wp/v2/types/page", {"context": "embed"}).json()
    assert set(embed) - {"_links"} == {"name", "slug", "rest_base", "rest_namespace", "icon"}
    missing = client.get("/wp-json/wp/v2/types/product")
    assert missing.status_code == 404 and missing.json()["code"] == "rest_type_invalid"


def test_types_edit_context_needs_edit_posts(client, contributor, app_auth):
    assert client.get("/wp-json/wp/v2/types", {"context": "edit"}).status_code == 401
    denied = client.get("/wp-json/wp/v2/types/post", {"context": "edit"})
    assert denied.status_code == 401 and denied.json()["code"] == "rest_forbidden_context"
    auth = app_auth(contributor)
    types = client.get("/wp-json/wp/v2/types", {"context": "edit"}, **auth).json()
    assert set(types) == {"post"}  # a contributor edits posts, not pages or media
    assert types["post"]["labels"]["singular_name"] == "Post"
    page = client.get("/wp-json/wp/v2/types/page", {"context": "edit"}, **auth)
    assert page.status_code == 403


def test_statuses_anonymous_see_publish_editors_see_all(client, editor, app_auth):
    anonymous = client.get("/wp-json/wp/v2/statuses").json()
    assert list(anonymous) == ["publish"]
    assert anonymous["publish"] == {
        "name": "Published",
        "public": True,
        "queryable": True,
        "slug": "publish",
        "date_floating": False,
        "_links": {"archives": [{"href": "http://testserver/wp-json/wp/v2/posts"}]},
    }
    draft = client.get("/wp-json/wp/v2/statuses/draft")
    assert draft.status_code == 401 and draft.json()["code"] == "rest_cannot_read_status"
    auth = app_auth(editor)
    every = client.get("/wp-json/wp/v2/statuses", {"context": "edit"}, **auth).json()
    assert list(every) == ["publish", "future", "draft", "pending", "private", "trash"]
    assert every["private"]["private"] is True and "public" not in every["private"]
    assert every["draft"]["_links"]["archives"] == [
        {"href": "http://testserver/wp-json/wp/v2/posts?status=draft"}
    ]
    assert client.get("/wp-json/wp/v2/statuses/nope", **auth).status_code == 404


def test_taxonomies_collection_item_and_edit_context(client, contributor, editor, app_auth):
    taxonomies = client.get("/wp-json/wp/v2/taxonomies").json()
    assert set(taxonomies) == {"category", "post_tag"}
    assert taxonomies["category"]["hierarchical"] is True
    assert taxonomies["post_tag"]["rest_base"] == "tags"
    assert taxonomies["category"]["types"] == ["post"]
    assert "capabilities" not in taxonomies["category"]
    assert client.get("/wp-json/wp/v2/taxonomies", {"type": "page"}).json() == {}
    tag = client.get("/wp-json/wp/v2/taxonomies/post_tag").json()
    assert tag["_links"]["wp:items"] == [{"href": "http://testserver/wp-json/wp/v2/tags"}]
    assert client.get("/wp-json/wp/v2/taxonomies/genre").json()["code"] == "rest_taxonomy_invalid"
    assert client.get("/wp-json/wp/v2/taxonomies", {"context": "edit"}).status_code == 401
    as_contributor = client.get(
        "/wp-json/wp/v2/taxonomies/category", {"context": "edit"}, **app_auth(contributor)
    )
    assert as_contributor.status_code == 403
    assert as_contributor.json()["code"] == "rest_forbidden_context"
    as_editor = client.get(
        "/wp-json/wp/v2/taxonomies/category", {"context": "edit"}, **app_auth(editor)
    ).json()
    assert as_editor["capabilities"]["assign_terms"] == "edit_posts"
