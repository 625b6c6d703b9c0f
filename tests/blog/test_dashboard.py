"""The dashboard at /admin/ over HTTP: what each role sees, moderation in place, the quick
draft, the System section, and where the public login sends people."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Comment, Post
from tests.factories import PASSWORD, make_comment, make_post

pytestmark = pytest.mark.django_db

INDEX = reverse("admin:index")
JSON = {"HTTP_ACCEPT": "application/json"}


def as_user(client, user):
    client.logout()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def moderate(comment, action: str) -> str:
    return reverse("admin:dashboard_moderate", args=[comment.pk, action])


@pytest.fixture
def site(author, other_author, editor):
    post = make_post(author, title="Morning light")
    return {
        "post": post,
        "pending": make_comment(post, author_name="Pat", body="Lovely!", status="pending"),
        "approved": make_comment(post, author_name="Sam"),
        "my_draft": make_post(author, title="My half-written draft", status="draft"),
        "their_draft": make_post(other_author, title="Ford's draft", status="draft"),
        "my_scheduled": make_post(
            author, title="Mine, tomorrow", status="future",
            published_at=timezone.now() + timedelta(days=1),
        ),
        "their_scheduled": make_post(
            other_author, title="Theirs, next week", status="future",
            published_at=timezone.now() + timedelta(days=7),
        ),
    }  # fmt: skip


def test_an_author_sees_their_drafts_and_schedule_but_no_moderation(client, author, site):
    html = as_user(client, author).get(INDEX).content.decode()
    assert "At a glance" in html
    assert "My half-written draft" in html
    assert "Ford's draft" not in html
    assert "Mine, tomorrow" in html
    assert "Theirs, next week" not in html
    assert "Comments awaiting moderation" not in html
    assert "Lovely!" not in html
    assert "Quick draft" in html
    assert ">System<" not in html
    assert "Task runs" not in html


def test_an_editor_moderates_and_sees_everyones_schedule(client, editor, site):
    html = as_user(client, editor).get(INDEX).content.decode()
    assert "Comments awaiting moderation" in html
    assert "Lovely!" in html
    assert moderate(site["pending"], "approve") in html
    assert "Theirs, next week" in html
    assert 'data-glance="awaiting-moderation">1<' in html
    assert ">System<" not in html
    assert "Task runs" not in html


def test_an_administrator_finds_the_internal_models_under_system(client, administrator, site):
    response = as_user(client, administrator).get(INDEX)
    apps = {app["name"]: app for app in response.context["app_list"]}
    assert "System" in apps
    assert "Task runs" in [m["name"] for m in apps["System"]["models"]]
    assert not {"Worker", "Tasks database backend"} & apps.keys()
    elsewhere = [m["name"] for name, a in apps.items() if name != "System" for m in a["models"]]
    assert "Task runs" not in elsewhere


def test_approve_in_place_answers_json_and_recounts(client, editor, site):
    response = as_user(client, editor).post(moderate(site["pending"], "approve"), **JSON)
    assert response.status_code == 200
    assert response.json() == {"message": "Approved: the comment by Pat.", "pending": 0}
    site["pending"].refresh_from_db()
    assert site["pending"].status == Comment.Status.APPROVED
    site["post"].refresh_from_db()
    assert site["post"].comment_count == 2


@pytest.mark.parametrize("action,status", [("spam", "spam"), ("trash", "trash")])
def test_spam_and_trash_without_javascript_come_back_to_the_dashboard(
    client, editor, site, action, status
):
    response = as_user(client, editor).post(moderate(site["pending"], action))
    assert response.status_code == 302
    assert response["Location"] == INDEX
    site["pending"].refresh_from_db()
    assert site["pending"].status == status


def test_an_author_cannot_moderate_by_a_forged_post(client, author, site):
    response = as_user(client, author).post(moderate(site["pending"], "approve"), **JSON)
    assert response.status_code == 403
    site["pending"].refresh_from_db()
    assert site["pending"].status == Comment.Status.PENDING


def test_unknown_moderation_action_is_404(client, editor, site):
    assert as_user(client, editor).post(moderate(site["pending"], "delete")).status_code == 404


def test_quick_draft_saves_a_draft_through_the_services(client, contributor):
    url = reverse("admin:quick_draft")
    response = as_user(client, contributor).post(url, {"title": "An idea", "body": "**Later**"})
    assert response.status_code == 302
    draft = Post.objects.get(title="An idea")
    assert (draft.status, draft.author, draft.kind) == ("draft", contributor, "post")
    assert "<strong>Later</strong>" in draft.body_html
    assert draft.revisions.count() == 1
    assert "An idea" in client.get(INDEX).content.decode()

    client.post(url, {"title": "", "body": "no title"})
    assert not Post.objects.filter(body="no title").exists()


@pytest.mark.parametrize(
    "who,expected",
    [("editor", "/admin/"), ("author", "/admin/"), ("subscriber", "/accounts/profile/")],
)
def test_public_login_sends_staff_to_the_dashboard_and_readers_to_their_profile(
    client, request, who, expected
):
    user = request.getfixturevalue(who)
    response = client.post(reverse("blog:login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == expected


def test_public_login_next_still_wins(client, editor):
    response = client.post(
        reverse("blog:login") + "?next=/feed/",
        {"username": editor.username, "password": PASSWORD, "next": "/feed/"},
    )
    assert response["Location"] == "/feed/"
