"""A post's life: scheduled, published on time by itself, trashed, restored, emptied."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from blog.models import Post, Revision
from blog.services import post_restore, post_trash, post_write, trash_empty

pytestmark = pytest.mark.django_db

NOON = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


def _schedule(author, when):
    return post_write(
        post=Post(
            title="From the future",
            body="Arrives on time.",
            author=author,
            status=Post.Status.PUBLISHED,
            published_at=when,
        ),
        by=author,
    )


def test_scheduled_post_appears_at_its_publish_time_with_no_job_running(client, author):
    with time_machine.travel(NOON, tick=False):
        post = _schedule(author, NOON + timedelta(hours=1))
        assert post.status == Post.Status.FUTURE
        assert client.get(post.get_absolute_url()).status_code == 404
        assert b"From the future" not in client.get(reverse("blog:home")).content
        assert b"From the future" not in client.get(reverse("blog:feed")).content

    with time_machine.travel(NOON + timedelta(minutes=59, seconds=59), tick=False):
        assert client.get(post.get_absolute_url()).status_code == 404

    with time_machine.travel(NOON + timedelta(hours=1), tick=False):
        assert client.get(post.get_absolute_url()).status_code == 200
        assert b"From the future" in client.get(reverse("blog:home")).content
        assert b"From the future" in client.get(reverse("blog:feed")).content
        assert post.get_absolute_url().encode() in client.get("/sitemap.xml").content


def test_scheduled_post_reads_as_published_once_its_time_has_passed(author):
    with time_machine.travel(NOON, tick=False):
        post = _schedule(author, NOON + timedelta(hours=1))
        assert post.display_status == "Scheduled"
    with time_machine.travel(NOON + timedelta(hours=2), tick=False):
        assert post.display_status == "Published"


def test_publishing_without_a_date_publishes_now(author):
    with time_machine.travel(NOON, tick=False):
        post = post_write(
            post=Post(title="Now", author=author, status=Post.Status.PUBLISHED), by=author
        )
    assert post.status == Post.Status.PUBLISHED and post.published_at == NOON


def test_contributor_cannot_publish_or_schedule_through_the_service(contributor):
    for status in (Post.Status.PUBLISHED, Post.Status.FUTURE, Post.Status.PRIVATE):
        with pytest.raises(PermissionDenied):
            post_write(post=Post(title="Sneaky", author=contributor, status=status), by=contributor)
    assert not Post.objects.exists()
    pending = post_write(
        post=Post(title="For review", author=contributor, status=Post.Status.PENDING),
        by=contributor,
    )
    assert pending.status == Post.Status.PENDING


def test_every_content_save_keeps_a_revision(author):
    post = post_write(post=Post(title="v1", body="first", author=author), by=author)
    post.body = "second"
    post_write(post=post, by=author)
    post.sticky = True  # not content: no new revision
    post_write(post=post, by=author)

    assert list(Revision.objects.filter(post=post).values_list("body", flat=True)) == [
        "second",
        "first",
    ]


def test_trash_hides_a_post_and_restore_brings_back_its_status(client, author):
    post = post_write(
        post=Post(title="Oops", author=author, status=Post.Status.PUBLISHED), by=author
    )

    post_trash(post=post, by=author)
    assert client.get(post.get_absolute_url()).status_code == 404

    post_restore(post=post, by=author)
    post.refresh_from_db()
    assert post.status == Post.Status.PUBLISHED and post.trashed_at is None
    assert client.get(post.get_absolute_url()).status_code == 200


def test_trash_cannot_be_set_from_the_editor_form(author):
    post = post_write(post=Post(title="x", author=author), by=author)
    post.status = Post.Status.TRASH
    with pytest.raises(ValidationError):
        post_write(post=post, by=author)


def test_other_authors_cannot_trash_a_post(author, other_author):
    post = post_write(post=Post(title="Mine", author=author), by=author)
    with pytest.raises(PermissionDenied):
        post_trash(post=post, by=other_author)
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT


def test_trash_is_emptied_after_thirty_days_only(author):
    with time_machine.travel(NOON, tick=False):
        old = post_write(post=Post(title="Old", author=author), by=author)
        post_trash(post=old, by=author)
    with time_machine.travel(NOON + timedelta(days=25), tick=False):
        recent = post_write(post=Post(title="Recent", author=author), by=author)
        post_trash(post=recent, by=author)
    with time_machine.travel(NOON + timedelta(days=31), tick=False):
        assert trash_empty(dry_run=True) == {"posts": 1, "comments": 0}
        assert Post.objects.count() == 2
        assert trash_empty() == {"posts": 1, "comments": 0}
    assert list(Post.objects.values_list("title", flat=True)) == ["Recent"]


def test_slugs_stay_unique_and_never_shadow_site_urls(author, editor):
    first = post_write(post=Post(title="Same title", author=author), by=author)
    second = post_write(post=Post(title="Same title", author=author), by=author)
    feed_page = post_write(post=Post(title="Feed", kind=Post.Kind.PAGE, author=editor), by=editor)
    year_post = post_write(post=Post(title="2024", author=author), by=author)

    assert (first.slug, second.slug) == ("same-title", "same-title-2")
    assert feed_page.slug == "page-feed"
    assert year_post.slug == "post-2024"
    clash = Post(title="Clash", slug="same-title", author=author)
    with pytest.raises(ValidationError):
        post_write(post=clash, by=author)


def test_contributor_cannot_make_a_post_sticky(contributor):
    with pytest.raises(PermissionDenied):
        post_write(post=Post(title="Pin me", author=contributor, sticky=True), by=contributor)
    assert not Post.objects.exists()


def test_a_page_cannot_sit_under_a_post_or_under_itself(editor):
    post = post_write(post=Post(title="A post", author=editor), by=editor)
    page = post_write(post=Post(title="A page", kind=Post.Kind.PAGE, author=editor), by=editor)
    child = post_write(
        post=Post(title="Child", kind=Post.Kind.PAGE, parent=page, author=editor), by=editor
    )
    page.parent = post
    with pytest.raises(ValidationError):
        post_write(post=page, by=editor)
    page.parent = child
    with pytest.raises(ValidationError):
        post_write(post=page, by=editor)
    page.refresh_from_db()
    assert page.parent_id is None
