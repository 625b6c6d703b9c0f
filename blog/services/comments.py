"""Comments: WordPress's moderation rules on submit, moderation, and edits from the admin."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.validators import validate_ipv46_address
from django.db import connection, transaction
from django.db.models import Count, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone

from blog.models import Comment, Post
from blog.rendering import count_links, render_comment
from blog.services.pages import posts_changed
from blog.tasks import notify_comment
from worker.enqueue import enqueue_on_commit

logger = logging.getLogger(__name__)


class CommentRefused(Exception):
    """Not a comment to consider at all: a bot, or a client over its rate."""

    def __init__(self, message: str, *, status: int, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status, self.retry_after = status, retry_after


def comment_admit(*, post: Post, honeypot: str, ip: str | None) -> None:
    """Raise CommentRefused before a submitted comment is even validated.

    A filled honeypot field is a bot (humans never see it). Every attempt counts
    against the client's rate, valid or not, so a bot cannot probe for free.
    """
    if honeypot.strip():
        logger.info("comment honeypot tripped from %s on post %s", ip, post.pk)
        raise CommentRefused("Your comment could not be accepted.", status=400)
    if comment_rate_limited(ip=ip):
        raise CommentRefused(
            "You are commenting too fast.", status=429, retry_after=settings.COMMENT_RATE_WINDOW
        )


def comment_rate_limited(*, ip: str | None) -> bool:
    """True once `ip` has posted COMMENT_RATE_LIMIT comments in the current window.

    The counter lives in the shared cache, so the limit holds across instances.
    """
    if not ip:
        return False
    window = settings.COMMENT_RATE_WINDOW
    key = f"comment-rate:{ip}:{int(timezone.now().timestamp()) // window}"
    try:
        if cache.add(key, 1, timeout=window):
            return False
        return cache.incr(key) > settings.COMMENT_RATE_LIMIT
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window)
        return False


def _comment_depth(comment: Comment) -> int:
    depth, node = 1, comment
    while node.parent_id is not None and depth <= settings.COMMENT_THREAD_DEPTH:
        node = node.parent
        depth += 1
    return depth


def _comment_initial_status(*, name: str, email: str, body: str, user) -> str:
    if user is not None and user.has_perm("blog.moderate_comments"):
        return Comment.Status.APPROVED
    if count_links(body) > settings.COMMENT_MAX_LINKS:
        return Comment.Status.PENDING
    known = Comment.objects.filter(
        author_email__iexact=email, author_name=name, status=Comment.Status.APPROVED
    ).exists()
    return Comment.Status.APPROVED if known else Comment.Status.PENDING


@transaction.atomic
def comment_submit(
    *,
    post: Post,
    body: str,
    name: str = "",
    email: str = "",
    url: str = "",
    parent_id: int | None = None,
    user=None,
    ip: str | None = None,
    user_agent: str = "",
) -> Comment:
    """Add a visitor's comment; it is approved or held by WordPress's moderation rules."""
    if not post.comments_open() or post.password:
        raise ValidationError("Comments are closed on this post.")
    if user is not None and user.is_authenticated:
        name = user.get_full_name() or user.get_username()
        email = user.email or email
    else:
        user = None
    if not name.strip() or not email.strip():
        raise ValidationError("Name and email are required.")
    if not body.strip():
        raise ValidationError("A comment needs some text.")
    parent = Comment.objects.filter(pk=parent_id, post=post).first() if parent_id else None
    if parent is not None:
        if parent.post_id != post.pk or parent.status != Comment.Status.APPROVED:
            raise ValidationError("You can only reply to a published comment on this post.")
        # Past the thread depth a reply joins its parent's level, as WordPress shows it.
        while _comment_depth(parent) >= settings.COMMENT_THREAD_DEPTH:
            parent = parent.parent
    comment = Comment(
        post=post,
        parent=parent,
        user=user,
        author_name=name.strip()[:100],
        author_email=email.strip(),
        author_url=url.strip(),
        body=body,
        body_html=render_comment(body),
        ip_address=ip,
        user_agent=user_agent[:300],
    )
    comment.status = _comment_initial_status(
        name=comment.author_name, email=comment.author_email, body=body, user=user
    )
    comment.full_clean(exclude=["post", "parent", "user"])
    if comment.status == Comment.Status.APPROVED:
        # The post's row first, for writing: the insert below takes a shared lock on it
        # (the foreign key), and two approved comments on one post that both held one
        # would deadlock when each then updates the post's count (MySQL error 1213).
        list(Post.objects.select_for_update().filter(pk=post.pk).values_list("pk"))
    comment.save()
    if comment.status == Comment.Status.APPROVED:
        post_recount_comments(post_ids=[post.pk])
        posts_changed(post.pk, comments=True)
    # Mail to the post's author (published) or the moderators (held), off the request.
    enqueue_on_commit(notify_comment, comment.pk)
    return comment


@transaction.atomic
def comment_set_status(*, comments, status: str, by) -> int:
    """Moderate: approve, spam, trash or hold one or many comments."""
    if not by.has_perm("blog.moderate_comments"):
        raise PermissionDenied("You may not moderate comments.")
    if status not in Comment.Status.values:
        raise ValidationError(f"Unknown comment status {status!r}.")
    ids = [c.pk for c in comments]
    rows = Comment.objects.filter(pk__in=ids)
    post_ids = list(rows.values_list("post_id", flat=True).distinct())
    trashed_at = timezone.now() if status == Comment.Status.TRASH else None
    changed = rows.exclude(status=status).update(status=status, trashed_at=trashed_at)
    post_recount_comments(post_ids=post_ids)
    if changed:
        posts_changed(*post_ids, comments=True)
    return changed


@transaction.atomic
def comment_delete(*, comments, by) -> int:
    """Delete comments for good, skipping the trash (the API's `force=true`); replies go too."""
    if not by.has_perm("blog.moderate_comments"):
        raise PermissionDenied("You may not moderate comments.")
    rows = Comment.objects.filter(pk__in=[c.pk for c in comments])
    post_ids = list(rows.values_list("post_id", flat=True).distinct())
    deleted, _ = rows.delete()
    post_recount_comments(post_ids=post_ids)
    posts_changed(*post_ids, comments=True)
    return deleted


def _clean_ip(value: str | None) -> str | None:
    if not value:
        return None
    try:
        validate_ipv46_address(value)
    except ValidationError:
        return None
    return value


def comment_import(*, post: Post, comments: list[Comment], by) -> list[Comment]:
    """Add comments moved from another platform to `post`, with their own dates, states and
    authors (no moderation rules, no notifications: they were decided there).

    A comment's `parent` may be another comment of the same list, before or after it; a
    parent on another post, or a loop, is dropped. The text is rendered and sanitized as
    any comment is. Saved a thread level at a time (one insert per level where the database
    returns the new ids), in the caller's transaction without a savepoint of its own, like
    post_import: when it raises, the caller's atomic block must be rolled back.
    """
    return comment_import_threads(threads=[(post, comments)], by=by)


def comment_import_threads(*, threads: list[tuple[Post, list[Comment]]], by) -> list[Comment]:
    """comment_import for the comments of many posts at once (a batch of an import): the
    same rules, each thread level of all of them in one insert, one recount."""
    if not by.has_perm("blog.moderate_comments"):
        raise PermissionDenied("You may not import comments.")
    with transaction.atomic(savepoint=False):
        return _comment_import(threads=threads)


def _imported_fields(comment: Comment) -> None:
    """An imported comment's fields as this site keeps them, its text rendered and sanitized."""
    if comment.status not in Comment.Status.values:
        raise ValidationError(f"Unknown comment status {comment.status!r}.")
    comment.author_name = comment.author_name.strip()[:100] or "Anonymous"
    comment.author_email = comment.author_email.strip()[:254]
    url = comment.author_url.strip()
    comment.author_url = url if len(url) <= 300 else ""
    comment.user_agent = comment.user_agent[:300]
    comment.ip_address = _clean_ip(comment.ip_address)
    comment.body_html = render_comment(comment.body)
    if comment.status == Comment.Status.TRASH and comment.trashed_at is None:
        comment.trashed_at = timezone.now()


def comment_reimport(*, comment: Comment, by) -> Comment:
    """Save an imported comment changed since on the platform it came from, with the import's
    rules (comment_import): its text, author and status as given there, no moderation."""
    if not by.has_perm("blog.moderate_comments"):
        raise PermissionDenied("You may not import comments.")
    with transaction.atomic(savepoint=False):
        _imported_fields(comment)
        comment.save()
        post_recount_comments(post_ids=[comment.post_id])
    posts_changed(comment.post_id, comments=True)
    return comment


def _comment_import(*, threads: list[tuple[Post, list[Comment]]]) -> list[Comment]:
    pending = []
    for post, comments in threads:
        for comment in comments:
            comment.post = post
            pending.append(comment)
    batch = {id(c) for c in pending}
    saved: list[Comment] = []
    while pending:
        # Parents first: a comment waits until its parent (if in this list) is saved.
        ready = [c for c in pending if c.parent is None or c.parent.pk or id(c.parent) not in batch]
        if not ready:  # a loop: the rest become top-level
            for c in pending:
                c.parent = None
            ready = pending
        for comment in ready:
            if comment.parent is not None and (
                comment.parent.pk is None or comment.parent.post_id != comment.post_id
            ):
                comment.parent = None
            _imported_fields(comment)
        if connection.features.can_return_rows_from_bulk_insert:
            Comment.objects.bulk_create(ready, batch_size=500)  # within max_allowed_packet
        else:
            for comment in ready:
                comment.save()
        saved.extend(ready)
        done = {id(c) for c in ready}
        pending = [c for c in pending if id(c) not in done]
    post_ids = [post.pk for post, _ in threads]
    post_recount_comments(post_ids=post_ids)
    posts_changed(*post_ids, comments=True)
    return saved


def post_recount_comments(*, post_ids) -> None:
    approved = (
        Comment.objects.filter(post=OuterRef("pk"), status=Comment.Status.APPROVED)
        .order_by()
        .values("post")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Post.objects.filter(pk__in=post_ids).update(comment_count=Coalesce(Subquery(approved), 0))


@transaction.atomic
def comment_update(*, comment: Comment, by, status: str | None = None) -> Comment:
    """Save a moderator's edit of a comment (text, name, email, URL) and, if asked, its status.

    The text is rendered again; a status change goes through comment_set_status, so the
    post's count and the pages follow.
    """
    if not by.has_perm("blog.moderate_comments"):
        raise PermissionDenied("You may not moderate comments.")
    stored_status = Comment.objects.filter(pk=comment.pk).values_list("status", flat=True).first()
    wanted = status or comment.status
    comment.status = stored_status or comment.status  # comment_set_status moves it
    comment.body_html = render_comment(comment.body)
    comment.full_clean(exclude=["post", "parent", "user"])
    comment.save()
    posts_changed(comment.post_id, comments=True)
    if wanted != comment.status:
        comment_set_status(comments=[comment], status=wanted, by=by)
        comment.status = wanted
    return comment
