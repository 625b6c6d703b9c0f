"""Autosave and the post lock over HTTP: the editor's unsaved text kept without new
revisions and offered back, and a warning when two people edit one post (WordPress's)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Autosave, EditLock, Post
from tests.factories import PASSWORD, make_post

pytestmark = pytest.mark.django_db


def as_user(client, user):
    client.logout()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def autosave_url(post) -> str:
    return reverse("admin:blog_post_autosave", args=[post.pk])


def change_url(post) -> str:
    return reverse("admin:blog_post_change", args=[post.pk])


@pytest.fixture
def draft(author):
    post = make_post(author, title="Draft title", body="Saved text.", status="draft")
    post.revisions.create(title=post.title, body=post.body, body_format="markdown", author=author)
    return post


def test_autosave_keeps_one_copy_and_makes_no_revision(client, author, draft):
    as_user(client, author)
    for text in ("First unsaved words.", "Second unsaved words."):
        response = client.post(autosave_url(draft), {"title": "T", "body": text, "excerpt": ""})
        assert response.status_code == 200
        assert response.json()["saved_at"]
    assert Autosave.objects.get().body == "Second unsaved words."
    assert draft.revisions.count() == 1
    draft.refresh_from_db()
    assert draft.body == "Saved text."


def test_a_newer_autosave_is_offered_back_and_dropped_on_save(client, author, draft):
    as_user(client, author)
    client.post(autosave_url(draft), {"title": "Draft title", "body": "Lost in a crash."})
    html = client.get(change_url(draft)).content.decode()
    assert "There is an autosave of this post" in html
    assert client.get(autosave_url(draft)).json()["autosave"]["body"] == "Lost in a crash."

    from tests.blog.test_admin_posts import post_form

    client.post(change_url(draft), post_form(title="Draft title", body="Lost in a crash."))
    assert not Autosave.objects.exists()
    assert "There is an autosave" not in client.get(change_url(draft)).content.decode()


def test_an_autosave_older_than_the_post_is_not_offered(client, author, draft):
    as_user(client, author)
    client.post(autosave_url(draft), {"title": "Old", "body": "Old text."})
    Autosave.objects.update(saved_at=timezone.now() - timedelta(hours=1))
    assert client.get(autosave_url(draft)).json() == {"autosave": None}


def test_autosave_of_someone_elses_post_is_refused(client, other_author, draft):
    response = as_user(client, other_author).post(autosave_url(draft), {"body": "mine now"})
    assert response.status_code == 403
    assert not Autosave.objects.exists()


def test_two_editors_are_warned_and_one_may_take_over(client, author, editor, draft):
    as_user(client, author).get(change_url(draft))
    assert EditLock.objects.get().user == author

    html = as_user(client, editor).get(change_url(draft)).content.decode()
    assert "Arthur Dent is currently editing this post." in html
    assert 'href="?take-over=1"' in html
    assert EditLock.objects.get().user == author  # looking does not take it

    client.get(change_url(draft) + "?take-over=1")
    assert EditLock.objects.get().user == editor

    beat = as_user(client, author).post(autosave_url(draft))
    assert beat.json() == {"saved_at": None, "locked_by": "edith"}


def test_a_lock_lapses_when_its_heartbeat_stops(client, author, editor, draft):
    as_user(client, author).get(change_url(draft))
    EditLock.objects.update(heartbeat_at=timezone.now() - timedelta(seconds=151))
    html = as_user(client, editor).get(change_url(draft)).content.decode()
    assert "is currently editing" not in html
    assert EditLock.objects.get().user == editor


NEW_POST_AUTOSAVE = reverse("admin:blog_post_autosave_new")


def test_the_first_autosave_of_a_new_post_makes_it_a_draft(client, author):
    as_user(client, author)
    add_form = client.get(reverse("admin:blog_post_add")).content.decode()
    assert (
        f'data-autosave-url="{NEW_POST_AUTOSAVE}"' in add_form and "data-autosave-new" in add_form
    )

    response = client.post(
        NEW_POST_AUTOSAVE, {"title": "", "body": "Typed before any save.", "excerpt": ""}
    )

    assert response.status_code == 201, response.content
    data = response.json()
    post = Post.objects.get(pk=data["id"])
    assert (post.status, post.author, post.body) == ("draft", author, "Typed before any save.")
    assert data["change_url"] == change_url(post) and data["autosave_url"] == autosave_url(post)
    # From here on it is a saved draft: its change form holds the text, autosaves are its own.
    assert "Typed before any save." in client.get(change_url(post)).content.decode()
    client.post(data["autosave_url"], {"title": "", "body": "Typed before any save. More."})
    assert Autosave.objects.get(post=post).body == "Typed before any save. More."
    listed = client.get(reverse("admin:blog_post_changelist")).content.decode()
    assert "(no title)" in listed


def test_an_empty_new_post_is_not_kept_and_a_subscriber_gets_nothing(client, author, subscriber):
    as_user(client, author)
    response = client.post(NEW_POST_AUTOSAVE, {"title": " ", "body": "", "excerpt": ""})
    assert response.status_code == 400
    as_user(client, subscriber)
    response = client.post(NEW_POST_AUTOSAVE, {"title": "Mine", "body": "Text"})
    assert response.status_code in (302, 403)  # the admin sends non-staff to its login
    assert not Post.objects.exists()


def test_a_contributor_new_page_autosave_is_refused_but_a_post_is_kept(client, contributor):
    as_user(client, contributor)
    page = client.post(reverse("admin:blog_page_autosave_new"), {"title": "P", "body": "x"})
    assert page.status_code == 403
    post = client.post(NEW_POST_AUTOSAVE, {"title": "Mine", "body": "Text"})
    assert post.status_code == 201
    assert Post.objects.get().status == "draft"
