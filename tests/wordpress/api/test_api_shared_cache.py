"""Signed-in API reads of published content in context=view come from the same page cache
entry as anonymous ones (issue 17); edit context, drafts, private and protected content
never do, and a wrong password is refused even when the answer is cached."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.factories import make_post
from tests.wordpress.api.conftest import basic

pytestmark = pytest.mark.django_db(transaction=True)  # invalidation runs on commit

POSTS = "/wp-json/wp/v2/posts"


@pytest.fixture(autouse=True)
def page_cache(settings):
    if "Redis" not in settings.CACHES["default"]["BACKEND"]:
        pytest.skip("the page cache needs REDIS_URL (make test sets it)")
    settings.PAGE_CACHE_SECONDS = 300
    settings.READ_YOUR_WRITES_SECONDS = 0


def test_a_signed_in_view_read_is_a_hit_after_an_anonymous_one_and_costs_only_the_auth_check(
    author, editor, app_auth
):
    for n in range(3):
        make_post(author, title=f"Public {n}")
    anonymous = Client().get(POSTS, {"_embed": "1"})
    assert anonymous["X-Cache"] == "MISS"
    auth = app_auth(editor)
    Client().get(POSTS, {"_embed": "1"}, **auth)  # records the password's use (a write)
    with CaptureQueriesContext(connection) as queries:
        signed_in = Client().get(POSTS, {"_embed": "1"}, **auth)
    assert signed_in.status_code == 200 and signed_in["X-Cache"] == "HIT"
    assert signed_in.content == anonymous.content
    assert "s-maxage" not in signed_in.get("Cache-Control", "")  # never for an edge cache
    touched = " ".join(q["sql"] for q in queries.captured_queries)
    assert "blog_post" not in touched and "blog_category" not in touched
    assert len(queries) <= 3, touched  # throttling's check and the password


def test_a_signed_in_read_fills_the_entry_anonymous_readers_then_use(author, editor, app_auth):
    make_post(author, title="Shared")
    first = Client().get(POSTS, {"per_page": 5}, **app_auth(editor))
    assert first["X-Cache"] == "MISS" and first.json()[0]["title"]["rendered"] == "Shared"
    anonymous = Client().get(POSTS, {"per_page": 5})
    assert anonymous["X-Cache"] == "HIT" and anonymous.content == first.content


def test_edit_context_is_never_cached_and_keeps_its_fields(author, app_auth):
    make_post(author, title="Mine", body="Raw *markdown*")
    auth = app_auth(author)
    for _ in range(2):
        edit = Client().get(POSTS, {"context": "edit"}, **auth)
        assert edit.status_code == 200 and "X-Cache" not in edit
        assert edit.json()[0]["content"]["raw"] == "Raw *markdown*"
    anonymous = Client().get(POSTS)
    assert anonymous["X-Cache"] == "MISS" and "raw" not in anonymous.json()[0]["content"]


def test_drafts_and_private_posts_never_reach_the_shared_entry(author, editor, app_auth):
    public = make_post(author, title="Out there")
    draft = make_post(author, title="Secret draft", status="draft")
    private = make_post(author, title="Staff only", status="private")
    auth = app_auth(editor)
    drafts = Client().get(POSTS, {"status": "draft"}, **auth)
    assert drafts.json()[0]["title"]["rendered"] == "Secret draft" and "X-Cache" not in drafts
    listed = Client().get(POSTS, **auth)
    assert [p["id"] for p in listed.json()] == [public.pk]  # view context lists published only
    item = Client().get(f"{POSTS}/{draft.pk}", **auth)
    assert item.status_code == 200 and item.json()["title"]["rendered"] == "Secret draft"
    assert item["X-Cache"] == "MISS"
    again = Client().get(f"{POSTS}/{draft.pk}", **auth)
    assert again.status_code == 200 and again["X-Cache"] == "MISS"  # never stored
    assert Client().get(f"{POSTS}/{draft.pk}").status_code == 401
    assert Client().get(f"{POSTS}/{private.pk}", **auth).json()["title"]["rendered"] == (
        "Staff only"
    )
    assert Client().get(f"{POSTS}/{private.pk}").status_code == 401
    anonymous = Client().get(POSTS).content.decode()
    assert "Secret draft" not in anonymous and "Staff only" not in anonymous


def test_a_protected_post_is_shown_to_its_editor_not_from_the_cache(author, app_auth):
    make_post(author, title="Locked", body="The hidden words", password="open-sesame")
    anonymous = Client().get(POSTS)
    assert "The hidden words" not in anonymous.content.decode()
    auth = app_auth(author)
    for _ in range(2):
        own = Client().get(POSTS, **auth)
        assert own["X-Cache"] == "MISS" and "The hidden words" in own.content.decode()


def test_a_wrong_password_is_refused_and_counted_even_when_the_answer_is_cached(
    author, editor, settings
):
    settings.LOGIN_FAILURE_LIMIT = settings.AXES_FAILURE_LIMIT = 3
    make_post(author, title="Cached")
    assert Client().get(POSTS)["X-Cache"] == "MISS"
    wrong = basic(editor, "abcd EFGH 1234 ijkl MNOP 5678")
    first = Client().get(POSTS, **wrong)
    assert first.status_code == 401 and first.json()["code"] == "incorrect_password"
    answers = [Client().get(POSTS, **wrong) for _ in range(3)]
    assert answers[-1].status_code == 429 and answers[-1].json()["code"] == (
        "rest_too_many_attempts"
    )
    assert "Cached" not in answers[-1].content.decode()


def test_a_change_reaches_signed_in_readers_at_once(author, editor, app_auth):
    post = make_post(author, title="Before")
    auth = app_auth(editor)
    Client().get(POSTS, **auth)
    assert Client().get(POSTS, **auth)["X-Cache"] == "HIT"
    changed = Client().post(
        f"{POSTS}/{post.pk}",
        json.dumps({"title": "After"}),
        content_type="application/json",
        **auth,
    )
    assert changed.status_code == 200
    fresh = Client().get(POSTS, **auth)
    assert fresh["X-Cache"] == "MISS" and fresh.json()[0]["title"]["rendered"] == "After"
