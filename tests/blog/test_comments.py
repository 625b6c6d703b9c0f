"""Comments through the public form: moderation rules, threading, bots."""

from __future__ import annotations

import pytest
from django.urls import reverse

from blog.models import Comment, Post
from blog.services import comment_set_status
from tests.factories import make_comment, make_post

pytestmark = pytest.mark.django_db


@pytest.fixture
def post(author):
    return make_post(author, title="Open for comments")


def _submit(client, post, **fields):
    data = {"name": "Jane Reader", "email": "jane@example.org", "body": "Nice post!"}
    data.update(fields)
    return client.post(
        reverse("blog:comment-post", args=[post.pk]), data, REMOTE_ADDR="198.51.100.7"
    )


def test_first_time_commenter_is_held_for_moderation(client, post):
    response = _submit(client, post)

    comment = Comment.objects.get()
    assert comment.status == Comment.Status.PENDING
    assert response.status_code == 302
    page = client.get(response["Location"]).content.decode()
    assert "awaiting moderation" in page
    assert "Nice post!" not in page


def test_commenter_with_an_approved_comment_is_auto_approved(client, post, editor):
    _submit(client, post)
    comment_set_status(comments=Comment.objects.all(), status=Comment.Status.APPROVED, by=editor)

    response = _submit(client, post, body="Me again.")

    second = Comment.objects.latest()
    assert second.status == Comment.Status.APPROVED
    assert response["Location"].endswith(f"#comment-{second.pk}")
    assert "Me again." in client.get(post.get_absolute_url()).content.decode()
    post.refresh_from_db()
    assert post.comment_count == 2


def test_known_commenter_is_still_held_when_the_comment_carries_more_than_two_links(client, post):
    make_comment(post, author_name="Jane Reader", author_email="jane@example.org")

    _submit(client, post, body="See http://a.example http://b.example")
    assert Comment.objects.latest().status == Comment.Status.APPROVED

    _submit(client, post, body='<a href="http://a.example">a</a> http://b.example http://c.example')
    assert Comment.objects.latest().status == Comment.Status.PENDING


def test_spam_and_trashed_comments_do_not_vouch_for_a_commenter(client, post):
    make_comment(
        post, author_name="Jane Reader", author_email="jane@example.org", status=Comment.Status.SPAM
    )

    _submit(client, post)

    assert Comment.objects.latest().status == Comment.Status.PENDING


def test_honeypot_filled_in_by_a_bot_saves_nothing(client, post):
    response = _submit(client, post, homepage="http://spam.example")

    assert response.status_code == 400
    assert not Comment.objects.exists()


def test_rate_limit_per_ip_stops_a_flood(client, post, settings):
    settings.COMMENT_RATE_LIMIT = 3

    codes = [_submit(client, post, body=f"Comment {n}").status_code for n in range(5)]

    assert codes == [302, 302, 302, 429, 429]
    assert Comment.objects.count() == 3
    other_ip = client.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"name": "Bob", "email": "bob@example.org", "body": "Hi"},
        REMOTE_ADDR="198.51.100.8",
    )
    assert other_ip.status_code == 302


def test_rate_limit_uses_the_client_address_behind_trusted_proxies(client, post, settings):
    settings.COMMENT_RATE_LIMIT = 1
    settings.TRUSTED_PROXY_COUNT = 1

    def from_client(address):
        return client.post(
            reverse("blog:comment-post", args=[post.pk]),
            {"name": "Bob", "email": "bob@example.org", "body": "Hi"},
            REMOTE_ADDR="10.0.0.5",
            HTTP_X_FORWARDED_FOR=f"6.6.6.6, {address}",
        )

    assert from_client("203.0.113.1").status_code == 302
    assert from_client("203.0.113.2").status_code == 302
    assert from_client("203.0.113.1").status_code == 429
    assert Comment.objects.first().ip_address == "203.0.113.1"


def test_missing_name_or_email_is_a_clear_error_and_saves_nothing(client, post):
    response = _submit(client, post, name="", email="not-an-email")

    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and "Enter a valid email address." in html
    assert not Comment.objects.exists()


def test_comments_closed_refuses_new_comments(client, author):
    post = make_post(author, comment_status=Post.CommentStatus.CLOSED)

    response = _submit(client, post)

    assert response.status_code == 400
    assert "Comments are closed" in response.content.decode()
    assert not Comment.objects.exists()


def test_cannot_comment_on_drafts_or_private_posts(client, author):
    for status in (Post.Status.DRAFT, Post.Status.PRIVATE):
        post = make_post(author, status=status)
        assert _submit(client, post).status_code == 404
    assert not Comment.objects.exists()


def test_replies_thread_five_deep_and_deeper_replies_stay_at_the_last_level(client, post):
    parent = None
    for depth in range(1, 7):
        parent = make_comment(post, parent=parent, body=f"Level {depth}")
    deepest = parent  # stored at depth 6 by hand; a visitor cannot create that

    html = client.get(post.get_absolute_url()).content.decode()
    for depth in range(1, 6):
        assert f"depth-{depth}" in html

    level5 = Comment.objects.get(body="Level 5")
    make_comment(post, author_name="Jane Reader", author_email="jane@example.org")
    _submit(client, post, body="Reply to level five", parent=level5.pk)
    reply = Comment.objects.get(body="Reply to level five")
    assert reply.parent_id == level5.parent_id  # joins level 5, not level 6
    assert deepest.pk != reply.parent_id


def test_reply_link_prefills_the_parent_without_javascript(client, post):
    comment = make_comment(post)

    html = client.get(post.get_absolute_url(), {"replyto": comment.pk}).content.decode()

    assert f'name="parent" value="{comment.pk}"' in html
    assert "cancel reply" in html


def test_reply_to_a_comment_on_another_post_is_refused(client, author, post):
    elsewhere = make_comment(make_post(author))

    response = _submit(client, post, parent=elsewhere.pk)

    # The parent is looked up on this post only, so the reply becomes top level.
    assert response.status_code == 302
    assert Comment.objects.latest().parent_id is None


def test_logged_in_subscriber_comments_under_their_own_name(client, post, subscriber):
    subscriber.first_name, subscriber.last_name = "Sue", "Scriber"
    subscriber.save()
    client.force_login(subscriber)

    client.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"body": "As a subscriber", "name": "Forged Name"},
    )

    comment = Comment.objects.get()
    assert comment.author_name == "Sue Scriber" and comment.user == subscriber
    assert comment.author_email == subscriber.email


def test_editor_comments_are_approved_at_once(client, post, editor):
    client.force_login(editor)

    client.post(reverse("blog:comment-post", args=[post.pk]), {"body": "Editor here"})

    assert Comment.objects.get().status == Comment.Status.APPROVED


def test_comment_markup_is_limited_to_the_comment_allowlist(client, post):
    make_comment(post, author_name="Jane Reader", author_email="jane@example.org")

    _submit(client, post, body="<b>bold</b> <img src=x onerror=alert(1)> <h1>big</h1>")

    comment = Comment.objects.latest()
    assert "<b>bold</b>" in comment.body_html
    assert "<img" not in comment.body_html and "<h1>" not in comment.body_html


def test_moderation_requires_the_moderate_permission(post, author):
    from django.core.exceptions import PermissionDenied

    comment = make_comment(post, status=Comment.Status.PENDING)
    with pytest.raises(PermissionDenied):
        comment_set_status(comments=[comment], status=Comment.Status.APPROVED, by=author)
    comment.refresh_from_db()
    assert comment.status == Comment.Status.PENDING


def test_trashed_comments_are_emptied_by_time_in_the_trash_not_by_age(post, editor):
    from datetime import timedelta

    import time_machine
    from django.utils import timezone

    from blog.services import trash_empty

    old = make_comment(post, created_at=timezone.now() - timedelta(days=90))
    comment_set_status(comments=[old], status=Comment.Status.TRASH, by=editor)
    assert trash_empty() == {"posts": 0, "comments": 0}
    with time_machine.travel(timezone.now() + timedelta(days=31)):
        assert trash_empty() == {"posts": 0, "comments": 1}


def test_comment_paragraphs_come_from_blank_lines_and_never_nest(client, post):
    make_comment(post, author_name="Jane Reader", author_email="jane@example.org")

    _submit(client, post, body="<p>one</p>\n\ntwo<br>three\nfour")

    assert Comment.objects.latest().body_html == "<p>one</p>\n\n<p>two<br>three<br>four</p>"


@pytest.mark.django_db(transaction=True)
def test_two_approved_comments_on_one_post_at_the_same_moment_both_land(author, monkeypatch):
    """Each insert holds a shared lock on the post row; both then updating its count was a
    deadlock (MySQL 1213, a 500 in the cluster tier). The comments meet before recounting."""
    import contextlib
    import threading

    from django.db import connection

    from blog.services import comments as comment_services

    post = make_post(author)
    for name in ("Ann", "Bob"):  # known commenters: approved at once
        make_comment(post, author_name=name, author_email=f"{name}@example.org")
    meet = threading.Barrier(2, timeout=3)
    recount = comment_services.post_recount_comments

    def recount_together(**kwargs):
        # With the fix, the second is still waiting for the post's row: nobody comes.
        with contextlib.suppress(threading.BrokenBarrierError):
            meet.wait()
        recount(**kwargs)

    monkeypatch.setattr(comment_services, "post_recount_comments", recount_together)
    errors = []

    def comment(name):
        try:
            comment_services.comment_submit(
                post=post, body=f"{name} again", name=name, email=f"{name}@example.org"
            )
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=comment, args=(name,)) for name in ("Ann", "Bob")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    post.refresh_from_db()
    assert post.comment_count == 4
    assert Comment.objects.filter(post=post, status=Comment.Status.APPROVED).count() == 4
