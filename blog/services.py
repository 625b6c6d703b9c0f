"""Actions with rules: every write the admin, the site or a command makes goes through here.

Permissions are enforced here as well as in the admin, so a forged POST that gets
past a form still meets the same rule. Functions are keyword-only and named
noun_verb; they raise PermissionDenied for "not allowed" and ValidationError for
"not valid", and change nothing when they raise.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.text import slugify

from blog import roles
from blog.media_services import media_check_use, media_link_post
from blog.models import Comment, Post, Revision
from blog.page_cache import pages_changed
from blog.rendering import count_links, render_comment, render_post_body
from blog.tasks import enqueue_on_commit, notify_comment

logger = logging.getLogger(__name__)

PUBLIC_STATUSES = (Post.Status.PUBLISHED, Post.Status.FUTURE, Post.Status.PRIVATE)
CONTENT_FIELDS = ("title", "body", "body_format", "excerpt")
# Top-level page slugs that would be shadowed by the site's own URLs.
RESERVED_SLUGS = {
    "accounts", "admin", "author", "category", "comments", "feed", "healthz", "media",
    "page", "preview", "readyz", "robots.txt", "search", "sitemap.xml", "static", "tag",
    "worker",
}  # fmt: skip


# --- Permissions ------------------------------------------------------------


def _is_page(post: Post) -> bool:
    return post.kind == Post.Kind.PAGE


def post_can_create(*, user, kind: str) -> bool:
    if kind == Post.Kind.PAGE:
        return user.has_perm("blog.add_page")
    return user.has_perm("blog.add_post")


def post_can_edit(*, user, post: Post) -> bool:
    """May `user` change `post` as it is stored now?"""
    # Editing happens in the admin, which only staff reach: a reader's question is
    # answered without loading their permissions (two queries on every post page).
    if not user.is_authenticated or not user.is_staff:
        return False
    if _is_page(post):
        return user.has_perm("blog.change_page")
    if not user.has_perm("blog.change_post"):
        return False
    if post.author_id != user.pk and not user.has_perm("blog.edit_others_posts"):
        return False
    if post.status in PUBLIC_STATUSES and not user.has_perm("blog.edit_published_posts"):
        return False
    return True


def post_can_delete(*, user, post: Post) -> bool:
    perm = "blog.delete_page" if _is_page(post) else "blog.delete_post"
    return user.has_perm(perm) and post_can_edit(user=user, post=post)


def post_can_publish(*, user, post: Post) -> bool:
    if _is_page(post):
        return user.has_perm("blog.change_page")
    if not user.has_perm("blog.publish_post"):
        return False
    return post.author_id in (None, user.pk) or user.has_perm("blog.edit_others_posts")


def post_can_read(*, user, post: Post) -> bool:
    """Can `user` open this post by its URL (drafts and previews included)?"""
    if post.status == Post.Status.TRASH:
        return False
    if post.is_public:
        return True
    if post.status == Post.Status.PRIVATE and user.is_authenticated:
        if post.author_id == user.pk or user.has_perm("blog.read_private_posts"):
            return True
    return post_can_edit(user=user, post=post)


def post_allowed_statuses(*, user, post: Post) -> list[str]:
    """The statuses `user` may give `post` from the editor (trash has its own action)."""
    if post_can_publish(user=user, post=post):
        return [s for s in Post.Status.values if s != Post.Status.TRASH]
    return [Post.Status.DRAFT, Post.Status.PENDING]


# --- Posts and pages --------------------------------------------------------


def _unique_slug(title: str, *, exclude_pk: int | None, kind: str) -> str:
    base = slugify(title, allow_unicode=True)[:180].strip("-") or kind
    if base in RESERVED_SLUGS or base.isdigit():
        base = f"{kind}-{base}"
    taken = set(
        Post.objects.filter(slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    if base not in taken:
        return base
    n = 2
    while f"{base}-{n}" in taken:
        n += 1
    return f"{base}-{n}"


def _page_path(page: Post) -> str:
    if page.parent_id is None:
        return page.slug
    ancestor, seen = page.parent, {page.pk}
    while ancestor is not None:
        if ancestor.pk in seen:
            raise ValidationError({"parent": "A page cannot be its own ancestor."})
        seen.add(ancestor.pk)
        ancestor = ancestor.parent
    return f"{page.parent.path or page.parent.slug}/{page.slug}"


def post_check(*, post: Post, by, stored: Post | None = None) -> None:
    """Raise if `by` may not save `post` as it now is. Forms call it to show errors early."""
    if stored is None and post.pk:
        stored = Post.objects.filter(pk=post.pk).first()
    if stored is None:
        if not post_can_create(user=by, kind=post.kind):
            raise PermissionDenied("You may not create this.")
    elif not post_can_edit(user=by, post=stored):
        raise PermissionDenied("You may not edit this.")
    if stored is not None and stored.kind != post.kind:
        raise PermissionDenied("A post cannot turn into a page.")
    author_changed = stored is None or stored.author_id != post.author_id
    if (
        author_changed
        and post.author_id not in (None, by.pk)
        and not _is_page(post)
        and not by.has_perm("blog.edit_others_posts")
    ):
        raise PermissionDenied("You may not write as another user.")
    if post.status == Post.Status.TRASH and (stored is None or stored.status != Post.Status.TRASH):
        raise ValidationError({"status": "Use the trash action to move this to the trash."})
    allowed = post_allowed_statuses(user=by, post=post)
    unchanged = stored is not None and stored.status == post.status
    if post.status not in allowed and not unchanged:
        raise PermissionDenied(
            f"You may not set the status to {Post.Status(post.status).label}; "
            "submit it for review instead."
        )
    if post.slug:
        clash = Post.objects.filter(slug=post.slug).exclude(pk=post.pk).exists()
        if clash:
            raise ValidationError({"slug": "Another post or page already uses this slug."})
        if post.slug.isdigit():
            raise ValidationError({"slug": "A slug needs at least one letter (numbers are dates)."})
        if _is_page(post) and post.parent_id is None and post.slug in RESERVED_SLUGS:
            raise ValidationError({"slug": f"“{post.slug}” is reserved for the site's own pages."})
    if post.password and post.status == Post.Status.PRIVATE:
        raise ValidationError({"password": "A private post cannot also have a password."})
    if not _is_page(post) and post.parent_id:
        raise ValidationError({"parent": "Only pages have a parent."})
    if _is_page(post) and post.parent_id:
        if post.parent.kind != Post.Kind.PAGE:
            raise ValidationError({"parent": "A page's parent must be a page."})
        _page_path(post)  # raises on a loop
    # Images from the media library: only those `by` may use.
    media_check_use(post=post, by=by, stored=stored)
    sticky_changed = post.sticky != (stored.sticky if stored else False)
    if sticky_changed and not post_can_publish(user=by, post=post):
        # As in WordPress: making a post sticky is a publishing decision.
        raise PermissionDenied("You may not make posts sticky.")


def _normalize_schedule(post: Post, now) -> None:
    if post.status in (Post.Status.PUBLISHED, Post.Status.FUTURE):
        post.published_at = post.published_at or now
        post.status = Post.Status.FUTURE if post.published_at > now else Post.Status.PUBLISHED
    elif post.status == Post.Status.PRIVATE:
        post.published_at = post.published_at or now


def _refresh_descendant_paths(page: Post) -> None:
    for child in Post.objects.filter(parent=page, kind=Post.Kind.PAGE):
        child.parent = page
        child.path = f"{page.path}/{child.slug}"
        child.save(update_fields=["path"])
        _refresh_descendant_paths(child)


@transaction.atomic
def post_save(*, post: Post, by) -> Post:
    """Create or update a post or page: permissions, slug, schedule, rendering, revision."""
    stored = Post.objects.select_for_update().filter(pk=post.pk).first() if post.pk else None
    if post.author_id is None:
        post.author = by
    post_check(post=post, by=by, stored=stored)
    now = timezone.now()
    _normalize_schedule(post, now)
    if not post.slug:
        post.slug = _unique_slug(post.title, exclude_pk=post.pk, kind=post.kind)
    post.body_html = render_post_body(
        post.body, post.body_format, allow_embeds=by.has_perm("blog.unfiltered_html")
    )
    old_path = stored.path if stored else None
    post.path = _page_path(post) if _is_page(post) else ""
    post.save()
    if _is_page(post) and old_path and old_path != post.path:
        _refresh_descendant_paths(post)
    media_link_post(post=post)
    if stored is None or any(getattr(stored, f) != getattr(post, f) for f in CONTENT_FIELDS):
        Revision.objects.create(
            post=post,
            title=post.title,
            body=post.body,
            body_format=post.body_format,
            excerpt=post.excerpt,
            author=by,
            created_at=now,
        )
    pages_changed()
    return post


@transaction.atomic
def post_publish(*, post: Post, by, when=None) -> Post:
    if not post_can_edit(user=by, post=post) or not post_can_publish(user=by, post=post):
        raise PermissionDenied("You may not publish this.")
    if post.status == Post.Status.TRASH:
        raise ValidationError("Restore the post from the trash before publishing it.")
    post.status = Post.Status.PUBLISHED
    post.published_at = when or post.published_at
    _normalize_schedule(post, timezone.now())
    post.save(update_fields=["status", "published_at", "updated_at"])
    pages_changed()
    return post


@transaction.atomic
def post_trash(*, post: Post, by) -> Post:
    if not post_can_delete(user=by, post=post):
        raise PermissionDenied("You may not move this to the trash.")
    if post.status == Post.Status.TRASH:
        return post
    post.status_before_trash = post.status
    post.status = Post.Status.TRASH
    post.trashed_at = timezone.now()
    post.save(update_fields=["status", "status_before_trash", "trashed_at", "updated_at"])
    pages_changed()
    return post


@transaction.atomic
def post_restore(*, post: Post, by) -> Post:
    """Take a post out of the trash, with its old status if `by` may give it that status."""
    perm = "blog.delete_page" if _is_page(post) else "blog.delete_post"
    owner_ok = post.author_id == by.pk or by.has_perm("blog.edit_others_posts") or _is_page(post)
    if not (by.has_perm(perm) and owner_ok):
        raise PermissionDenied("You may not restore this.")
    if post.status != Post.Status.TRASH:
        return post
    previous = post.status_before_trash or Post.Status.DRAFT
    if previous not in post_allowed_statuses(user=by, post=post):
        previous = Post.Status.DRAFT
    post.status = previous
    post.status_before_trash = ""
    post.trashed_at = None
    _normalize_schedule(post, timezone.now())
    post.save(
        update_fields=["status", "status_before_trash", "trashed_at", "published_at", "updated_at"]
    )
    pages_changed()
    return post


def trash_empty(*, days: int | None = None, now=None, dry_run: bool = False) -> dict[str, int]:
    """Delete posts and comments that have been in the trash longer than `days`."""
    days = settings.TRASH_DAYS if days is None else days
    cutoff = (now or timezone.now()) - timedelta(days=days)
    posts = Post.objects.filter(status=Post.Status.TRASH, trashed_at__lt=cutoff)
    comments = Comment.objects.filter(status=Comment.Status.TRASH, trashed_at__lt=cutoff)
    counts = {"posts": posts.count(), "comments": comments.count()}
    if not dry_run:
        with transaction.atomic():
            comments.delete()
            # Children of a deleted page move up to the top level.
            posts.delete()
    return counts


@transaction.atomic
def revision_restore(*, revision: Revision, by) -> Post:
    post = Post.objects.select_for_update().get(pk=revision.post_id)
    if not post_can_edit(user=by, post=post):
        raise PermissionDenied("You may not edit this.")
    if post.status == Post.Status.TRASH:
        raise ValidationError("Restore the post from the trash first.")
    for field in CONTENT_FIELDS:
        setattr(post, field, getattr(revision, field))
    return post_save(post=post, by=by)


# --- Comments ---------------------------------------------------------------


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
    parent: Comment | None = None,
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
    comment.save()
    if comment.status == Comment.Status.APPROVED:
        post_recount_comments(post_ids=[post.pk])
        pages_changed()
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
        pages_changed()
    return changed


def post_recount_comments(*, post_ids) -> None:
    approved = (
        Comment.objects.filter(post=OuterRef("pk"), status=Comment.Status.APPROVED)
        .order_by()
        .values("post")
        .annotate(n=Count("pk"))
        .values("n")
    )
    Post.objects.filter(pk__in=post_ids).update(comment_count=Coalesce(Subquery(approved), 0))


# --- Users ------------------------------------------------------------------


def user_role_check(*, user, role: str | None, by) -> None:
    """Raise if `by` may not give `user` this role (forms call it to show the error)."""
    if not by.has_perm("auth.change_user"):
        raise PermissionDenied("You may not change roles.")
    if role is not None and role not in roles.ROLES:
        raise ValidationError(f"Unknown role {role!r}.")
    if user.pk == by.pk and role != roles.ADMINISTRATOR and not by.is_superuser:
        raise ValidationError("You cannot take the Administrator role from yourself.")


@transaction.atomic
def user_set_role(*, user, role: str | None, by) -> None:
    """Give `user` exactly one role; staff access follows (Subscribers never see the admin)."""
    role = role or None
    user_role_check(user=user, role=role, by=by)
    user.groups.remove(*Group.objects.filter(name__in=roles.ROLES))
    if role:
        user.groups.add(Group.objects.get(name=role))
    user.is_staff = user.is_superuser or role in roles.STAFF_ROLES
    user.save(update_fields=["is_staff"])


def search_filter(query: str) -> Q:
    words = [w for w in query.split() if w][:8]
    condition = Q()
    for word in words:
        condition &= Q(title__icontains=word) | Q(body__icontains=word)
    return condition
