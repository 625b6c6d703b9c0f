"""The blog's work off the web request: comment mail, pages rendered into the cache.

Every task may run twice (SQS delivers at least once), so each one is idempotent or
harmless twice. Services enqueue with `enqueue_on_commit` (worker/enqueue.py), never
from a signal or `save()`: a task must not see a row its transaction then rolled back,
nor miss one not yet committed. The periodic jobs are in blog/periodic.py.
"""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Q
from django.urls import reverse
from django_tasks import task

from blog.models import Category, Comment, Post
from blog.site_settings import site_settings
from webtier import page_refresh


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
            subject=f"[{site_settings().title}] New comment on “{post.title}”",
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
            subject=f"[{site_settings().title}] Comment awaiting moderation on “{post.title}”",
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


def pages_showing(post_ids: list[int], *, comments: bool = False) -> list[str]:
    """The pages a change to these posts shows on, the most read first: each public post,
    the home page, the first page of its categories (and theirs above), tags and author,
    then the feeds."""
    posts = (
        Post.objects.filter(pk__in=post_ids)
        .select_related("author")
        .prefetch_related("categories", "tags")
    )
    own, archives = [], []
    feeds = [reverse("blog:feed"), reverse("blog:feed-atom")]
    if comments:
        feeds += [reverse("blog:comments-feed"), reverse("blog:comments-feed-atom")]
    parents = None
    for post in posts:
        if not post.is_public:
            continue
        own.append(post.get_absolute_url())
        if post.is_page:
            continue
        if parents is None:
            parents = dict(Category.objects.values_list("slug", "parent__slug"))
        for category in post.categories.all():
            slug = category.slug
            while slug and (archive := reverse("blog:category", args=[slug])) not in archives:
                archives.append(archive)
                feeds.append(reverse("blog:category-feed", args=[slug]))
                slug = parents.get(slug)
        for tag in post.tags.all():
            archives.append(tag.get_absolute_url())
            feeds.append(reverse("blog:tag-feed", args=[tag.slug]))
        if post.author is not None:
            username = post.author.get_username()
            archives.append(reverse("blog:author", args=[username]))
            feeds.append(reverse("blog:author-feed", args=[username]))
    return list(dict.fromkeys([*own, reverse("blog:home"), *archives, *feeds]))


@task
def refresh_pages(post_ids: list[int], comments: bool = False) -> str:
    """Write-through: render the pages these posts show on into the page cache, so their
    first reader after a change finds them there (webtier/page_refresh.py). Harmless twice:
    the cache keeps whichever render started last."""
    statuses = page_refresh.refresh_pages(pages_showing(post_ids, comments=comments))
    return f"{len(statuses)} pages rendered"
