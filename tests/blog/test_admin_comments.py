"""The comment moderation queue in the admin."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Comment
from tests.blog.test_admin_posts import messages_of, run_action
from tests.factories import make_comment, make_post

pytestmark = pytest.mark.django_db

COMMENTS = reverse("admin:blog_comment_changelist")


@pytest.fixture
def post(author):
    return make_post(author, title="Talked about")


def statuses(*comments) -> list[str]:
    return [Comment.objects.get(pk=c.pk).status for c in comments]


def count_on(post) -> int:
    post.refresh_from_db()
    return post.comment_count


def test_queue_lists_newest_first_and_leaves_out_spam_and_trash(client, editor, post):
    now = timezone.now()
    old = make_comment(post, status="pending", created_at=now - timedelta(days=2))
    new = make_comment(post, status="approved", created_at=now - timedelta(hours=1))
    make_comment(post, status="spam")
    make_comment(post, status="trash")
    client.force_login(editor)
    response = client.get(COMMENTS)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [new, old]
    assert b"Pending (1)" in response.content and b"Spam (1)" in response.content


def test_pending_filter_shows_what_waits_with_the_commenters_address(client, editor, post):
    waiting = make_comment(post, status="pending", ip_address="203.0.113.9")
    make_comment(post, status="approved")
    client.force_login(editor)
    response = client.get(COMMENTS, {"status": "pending"})
    assert list(response.context["cl"].result_list) == [waiting]
    assert b"203.0.113.9" in response.content


def test_approving_publishes_comments_and_counts_them(client, editor, post):
    pending = [make_comment(post, status="pending") for _ in range(2)]
    client.force_login(editor)
    assert run_action(client, COMMENTS, "approve", pending) == ["Approved 2 comments."]
    assert statuses(*pending) == ["approved", "approved"]
    assert count_on(post) == 2


def test_spam_trash_and_hold_take_comments_off_the_count(client, editor, post):
    approved = [make_comment(post) for _ in range(3)]
    assert count_on(post) == 3
    client.force_login(editor)
    run_action(client, COMMENTS, "mark_spam", approved[:1])
    run_action(client, COMMENTS, "move_to_trash", approved[1:2])
    run_action(client, COMMENTS, "hold", approved[2:])
    assert statuses(*approved) == ["spam", "trash", "pending"]
    assert count_on(post) == 0


def test_editing_a_comments_status_in_the_form_recounts(client, editor, post):
    comment = make_comment(post, status="pending", body="Nice post")
    client.force_login(editor)
    url = reverse("admin:blog_comment_change", args=[comment.pk])
    data = {
        "author_name": comment.author_name,
        "author_email": comment.author_email,
        "author_url": "",
        "body": "Nice post, <b>edited</b><script>alert(1)</script>",
        "status": "approved",
    }
    assert client.post(url, data).status_code == 302
    comment.refresh_from_db()
    assert comment.status == "approved"
    assert "<b>edited</b>" in comment.body_html and "script" not in comment.body_html
    assert count_on(post) == 1


def test_comments_are_never_deleted_from_the_admin(client, editor, post):
    spam = make_comment(post, status="spam")
    client.force_login(editor)
    delete_url = reverse("admin:blog_comment_delete", args=[spam.pk])
    assert client.post(delete_url, {"post": "yes"}).status_code == 403
    response = client.post(
        f"{COMMENTS}?status=spam", {"action": "delete_selected", "_selected_action": [spam.pk]}
    )
    assert "No action selected." in messages_of(response)
    assert Comment.objects.filter(pk=spam.pk).exists()


@pytest.mark.parametrize("person", ["author", "contributor"])
def test_people_who_do_not_moderate_cannot_open_the_queue(client, request, person, post):
    comment = make_comment(post, status="pending")
    client.force_login(request.getfixturevalue(person))
    assert client.get(COMMENTS).status_code == 403
    assert client.get(reverse("admin:blog_comment_change", args=[comment.pk])).status_code == 403
    response = client.post(COMMENTS, {"action": "approve", "_selected_action": [comment.pk]})
    assert response.status_code == 403
    assert statuses(comment) == ["pending"]


def test_comments_are_not_in_the_authors_admin_menu(client, author):
    client.force_login(author)
    response = client.get(reverse("admin:index"))
    assert response.status_code == 200
    assert COMMENTS.encode() not in response.content
    assert reverse("admin:blog_post_changelist").encode() in response.content


def test_administrator_moderates_too(client, administrator, post):
    comment = make_comment(post, status="pending")
    client.force_login(administrator)
    response = client.post(COMMENTS, {"action": "approve", "_selected_action": [comment.pk]})
    assert messages_of(response) == ["Approved 1 comment."]
    assert count_on(post) == 1
