"""Work that leaves the web request: comment mail and the periodic housekeeping.

Every task may run twice (SQS delivers at least once; a periodic job can fire again
before the last one is acknowledged), so each one is idempotent or harmless twice.
Services enqueue with `enqueue_on_commit`, never from a signal or `save()`: a task
must not see a row its transaction then rolled back, nor miss one not yet committed.
The periodic ones are named in cron.yaml and mapped in blog/worker.py.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django_tasks import task

from blog.models import Comment

logger = logging.getLogger(__name__)


def enqueue_on_commit(task_obj, *args, **kwargs) -> None:
    """Enqueue once the current transaction commits (at once outside one).

    robust=True: the write the user asked for has committed; a queue that is down
    must not turn it into an error page. The failure is logged with its traceback.

    A transactional backend (SQS with the outbox) enqueues at once instead: its row
    joins the caller's transaction, so the job commits or rolls back with the write.
    """
    if getattr(task_obj.get_backend(), "transactional", False):
        task_obj.enqueue(*args, **kwargs)
        return

    def enqueue() -> None:
        task_obj.enqueue(*args, **kwargs)

    # A named function: Django logs a robust callback's failure by its __qualname__.
    enqueue.__qualname__ = f"enqueue {task_obj.module_path}"
    transaction.on_commit(enqueue, robust=True)


def _moderators():
    User = get_user_model()
    perm = Q(codename="moderate_comments", content_type__app_label="blog")
    return (
        User.objects.filter(is_active=True)
        .exclude(email="")
        .filter(
            Q(is_superuser=True)
            | Q(user_permissions__in=_permissions(perm))
            | Q(groups__permissions__in=_permissions(perm))
        )
        .distinct()
        .order_by("pk")
    )


def _permissions(condition: Q):
    from django.contrib.auth.models import Permission

    return Permission.objects.filter(condition)


@task
def notify_comment(comment_id: int) -> str:
    """Mail the post's author about a published comment, or the moderators about a held one."""
    comment = Comment.objects.select_related("post__author").filter(pk=comment_id).first()
    if comment is None:
        return "comment gone"  # deleted before the worker got to it: nothing to say
    post = comment.post
    link = comment.get_absolute_url()
    if comment.status == Comment.Status.APPROVED:
        author = post.author
        if author is None or not author.email or comment.user_id == author.pk:
            return "no author to tell"
        send_mail(
            subject=f"[{settings.SITE_NAME}] New comment on “{post.title}”",
            message=(
                f"{comment.author_name} commented on “{post.title}”:\n\n"
                f"{comment.body}\n\nSee it at {link}\n"
            ),
            from_email=None,
            recipient_list=[author.email],
        )
        return "author told"
    if comment.status == Comment.Status.PENDING:
        recipients = [u.email for u in _moderators() if u.pk != comment.user_id]
        if not recipients:
            return "no moderators"
        queue = reverse("admin:blog_comment_changelist") + "?status__exact=pending"
        send_mail(
            subject=f"[{settings.SITE_NAME}] Comment awaiting moderation on “{post.title}”",
            message=(
                f"{comment.author_name} <{comment.author_email}> wrote on “{post.title}”:\n\n"
                f"{comment.body}\n\nApprove or reject it in the moderation queue: {queue}\n"
            ),
            from_email=None,
            recipient_list=recipients,
        )
        return f"{len(recipients)} moderators told"
    # Moderated (spam, trash) before the mail went out: say nothing.
    return f"comment is {comment.status}"


# --- Periodic (cron.yaml) -----------------------------------------------------------


@task
def empty_trash() -> dict[str, int]:
    """Delete what has been in the trash longer than TRASH_DAYS; twice deletes nothing more."""
    from blog.services import trash_empty

    counts = trash_empty()
    logger.info("empty-trash: deleted %(posts)d posts and %(comments)d comments", counts)
    return counts


@task
def clear_sessions() -> int:
    """Delete expired sessions from the database (what `clearsessions` does for `db`)."""
    # Only database-backed stores keep expired rows; Redis expires its own keys and a
    # signed cookie is the visitor's to keep.
    if settings.SESSION_STORE not in ("db", "cached_db"):
        return 0
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    logger.info("clear-sessions: deleted %d expired sessions", deleted)
    return deleted


@task
def flush_outbox() -> dict[str, int]:
    """Send outbox rows nobody sent (blog/outbox.py); twice sends nothing more."""
    from blog.outbox import outbox_flush

    result = outbox_flush()
    return {"sent": result.sent, "failed": result.failed, "waiting": result.waiting}


@task
def refresh_sitemap() -> dict:
    """Re-render /sitemap.xml into the shared cache, so no crawler makes an instance do it."""
    from blog.sitemaps import refresh_sitemap as refresh

    if not settings.SITEMAP_REFRESH_SECONDS:
        return {"skipped": "SITEMAP_REFRESH_SECONDS is 0: the sitemap is not cached"}
    if not settings.SITE_URL:
        # Without a canonical host the job cannot know which address to render for;
        # instances then render on a miss, once per host and refresh period.
        logger.warning("refresh-sitemap: SITE_URL is unset; nothing refreshed")
        return {"skipped": "SITE_URL is unset"}
    return refresh(settings.SITE_URL)
