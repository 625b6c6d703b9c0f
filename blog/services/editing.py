"""While a post is open in the editor: its autosave and its lock (WordPress's both).

An autosave is the writer's unsaved text, one row per post and writer, overwritten about
once a minute and dropped when the post is saved: never a revision. A lock says who has
the post open; it lapses when that editor's heartbeat stops for LOCK_SECONDS (a closed
tab), and another writer may take it over, as in WordPress.
"""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from blog.models import Autosave, EditLock, Post
from blog.services.permissions import post_can_edit
from blog.services.posts import post_write

LOCK_SECONDS = 150  # WordPress's wp_check_post_lock window


def _may_edit(post: Post, by) -> None:
    if not post_can_edit(user=by, post=post) or post.status == Post.Status.TRASH:
        raise PermissionDenied("You may not edit this.")


def autosave_write(*, post: Post, by, title: str, body: str, excerpt: str) -> Autosave:
    """Keep `by`'s unsaved text of `post`, replacing their previous autosave."""
    _may_edit(post, by)
    fields = {"title": title[:300], "body": body, "excerpt": excerpt, "saved_at": timezone.now()}
    try:
        with transaction.atomic():
            autosave, _ = Autosave.objects.update_or_create(post=post, author=by, defaults=fields)
    except IntegrityError:  # two tabs of the same writer at the same moment
        autosave, _ = Autosave.objects.update_or_create(post=post, author=by, defaults=fields)
    return autosave


def post_autodraft(*, kind: str, by, title: str, body: str, excerpt: str, body_format: str) -> Post:
    """The first autosave of a post never saved (WordPress's auto-draft): it becomes a
    draft of `by`'s, so text typed into "Add post" outlives a closed tab. The editor
    goes on as for a saved draft, and later autosaves are autosaves of it."""
    if not (title.strip() or body.strip() or excerpt.strip()):
        raise ValidationError("Nothing to keep yet.")
    if body_format not in Post.Format.values:
        raise ValidationError({"body_format": "Unknown format."})
    post = Post(
        kind=kind,
        author=by,
        status=Post.Status.DRAFT,
        title=title.strip()[:300],
        body=body,
        excerpt=excerpt,
        body_format=body_format,
    )
    with transaction.atomic():
        post_write(post=post, by=by)  # checks that `by` may create one
        post_lock_take(post=post, by=by)
    return post


def autosave_pending(*, post: Post, by) -> Autosave | None:
    """`by`'s autosave when it is newer than the saved post and says something else."""
    autosave = Autosave.objects.filter(post=post, author=by).first()
    if autosave is None or autosave.saved_at <= post.updated_at:
        return None
    if (autosave.title, autosave.body, autosave.excerpt) == (post.title, post.body, post.excerpt):
        return None
    return autosave


def autosave_discard(*, post: Post, by) -> None:
    Autosave.objects.filter(post=post, author=by).delete()


def post_lock_holder(*, post: Post, by, now=None):
    """The other user who has `post` open now, or None."""
    now = now or timezone.now()
    lock = EditLock.objects.filter(post=post).select_related("user").first()
    if lock is None or lock.user_id == by.pk:
        return None
    if lock.heartbeat_at < now - timedelta(seconds=LOCK_SECONDS):
        return None
    return lock.user


def post_lock_take(*, post: Post, by, take_over: bool = False):
    """Hold the lock for `by` unless someone else holds it; returns that someone, or None.

    With `take_over`, `by` takes it anyway (the other editor is told at their next beat).
    """
    _may_edit(post, by)
    with transaction.atomic():
        holder = post_lock_holder(post=post, by=by)
        if holder is not None and not take_over:
            return holder
        EditLock.objects.update_or_create(
            post=post, defaults={"user": by, "heartbeat_at": timezone.now()}
        )
    return None


def post_lock_release(*, post: Post, by) -> None:
    EditLock.objects.filter(post=post, user=by).delete()
