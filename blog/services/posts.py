"""Posts and pages: write, publish, trash, restore, revisions, and the trash's end."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from functools import cache

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import URLResolver, get_resolver
from django.utils import timezone
from django.utils.text import slugify

from blog.models import Comment, Post, Revision
from blog.rendering import render_post_body
from blog.services.pages import posts_changed
from blog.services.permissions import (
    post_allowed_statuses,
    post_can_create,
    post_can_delete,
    post_can_edit,
    post_can_publish,
)
from blog.services.search import search_entries_refresh
from media_library.render import media_ids_in, media_ids_in_source
from media_library.services import media_unusable
from webtier import hooks

CONTENT_FIELDS = ("title", "body", "body_format", "excerpt")
# Who may import content (post_import and post_import_many).
IMPORT_PERMS = ("blog.edit_others_posts", "blog.publish_post", "blog.change_page", "blog.add_page")
# WordPress's /page/N/ (paging) is answered by the redirects of a moved WordPress site.
_RESERVED_EXTRA = ("page",)
_SEGMENT = re.compile(r"[\w.-]+")


def _route_heads(patterns, prefix: str = "") -> Iterator[tuple[str, str]]:
    """(first path segment, the rest) of every route of the URLconf."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern).lstrip("^")
        head, _, rest = route.partition("/")
        if head:
            yield head, rest
        elif isinstance(pattern, URLResolver):
            yield from _route_heads(pattern.url_patterns, route)


@cache
def reserved_slugs() -> frozenset[str]:
    """Top-level page slugs the site's own URLs would shadow, read from the URLconf.

    A segment is reserved unless its only routes continue with a number (`posts/<int>/`:
    no page slug is all digits). Paths the web tier treats apart (private, uncached), and
    where nginx serves static and media files, are reserved too.
    """
    heads: dict[str, bool] = {}
    for head, rest in _route_heads(get_resolver().url_patterns):
        if _SEGMENT.fullmatch(head):
            heads[head] = heads.get(head, False) or not rest.startswith("<int:")
    reserved = {head for head, shadows in heads.items() if shadows}
    served = (*hooks.private_paths(), *hooks.uncached_paths(), settings.STATIC_URL)
    for prefix in (*served, settings.MEDIA_URL):
        if "://" not in prefix:
            reserved.add(prefix.strip("/").split("/")[0])
    return frozenset(reserved | set(_RESERVED_EXTRA))


def _unique_slug(title: str, *, exclude_pk: int | None, kind: str) -> str:
    base = slugify(title, allow_unicode=True)[:180].strip("-") or kind
    if base in reserved_slugs() or base.isdigit():
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
        and not post.is_page
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
        if post.is_page and post.parent_id is None and post.slug in reserved_slugs():
            raise ValidationError({"slug": f"“{post.slug}” is reserved for the site's own pages."})
    if post.password and post.status == Post.Status.PRIVATE:
        raise ValidationError({"password": "A private post cannot also have a password."})
    if not post.is_page and post.parent_id:
        raise ValidationError({"parent": "Only pages have a parent."})
    if post.is_page and post.parent_id:
        if post.parent.kind != Post.Kind.PAGE:
            raise ValidationError({"parent": "A page's parent must be a page."})
        _page_path(post)  # raises on a loop
    # Images from the media library: only those `by` may use.
    _check_media(post=post, by=by, stored=stored)
    sticky_changed = post.sticky != (stored.sticky if stored else False)
    if sticky_changed and not post_can_publish(user=by, post=post):
        # As in WordPress: making a post sticky is a publishing decision.
        raise PermissionDenied("You may not make posts sticky.")


def _check_media(*, post: Post, by, stored: Post | None) -> None:
    """Raise unless `by` may show every media item the post now references.

    Read from the source, so forms can call it before rendering. Items the stored
    post already showed stay allowed, so an author can edit a post in which an
    editor placed an image from the editor's library.
    """
    wanted = media_ids_in_source(post.body)
    if post.featured_image_id:
        wanted.add(post.featured_image_id)
    if stored is not None:
        wanted -= media_ids_in_source(stored.body)
        wanted.discard(stored.featured_image_id)
    if not wanted:
        return
    missing, refused = media_unusable(ids=wanted, by=by)
    if missing:
        raise ValidationError(
            {"body": f"No media item with id {', '.join(map(str, missing))} exists."}
        )
    if refused:
        field = "featured_image" if refused == [post.featured_image_id] else "body"
        raise ValidationError(
            {field: f"You may not use media item {', '.join(map(str, refused))}."}
        )


def _link_media(post: Post, *, new: bool = False) -> None:
    """Record which media the post shows, for the library's "used in" column."""
    ids = media_ids_in(post.body_html)
    if post.featured_image_id:
        ids.add(post.featured_image_id)
    if new:
        if ids:
            post.media_items.add(*ids)
    else:
        post.media_items.set(ids)


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


def _render_and_save(post: Post, *, by, stored: Post | None) -> None:
    """Render and sanitize the body for `by`'s role, place a page in the tree, save."""
    post.body_html = render_post_body(
        post.body, post.body_format, allow_embeds=by.has_perm("blog.unfiltered_html")
    )
    old_path = stored.path if stored else None
    post.path = _page_path(post) if post.is_page else ""  # raises on a loop
    post.save()
    if post.is_page and old_path and old_path != post.path:
        _refresh_descendant_paths(post)


def _keep_revision(post: Post, *, stored: Post | None, author, when) -> None:
    """A revision of a new post, or of one whose content changed."""
    if stored is None or any(getattr(stored, f) != getattr(post, f) for f in CONTENT_FIELDS):
        Revision.objects.create(
            post=post,
            title=post.title,
            body=post.body,
            body_format=post.body_format,
            excerpt=post.excerpt,
            author=author,
            created_at=when,
        )


@transaction.atomic
def post_write(*, post: Post, by) -> Post:
    """Create or update a post or page: permissions, slug, schedule, rendering, revision."""
    stored = Post.objects.select_for_update().filter(pk=post.pk).first() if post.pk else None
    if post.author_id is None:
        post.author = by
    post_check(post=post, by=by, stored=stored)
    now = timezone.now()
    _normalize_schedule(post, now)
    if not post.slug:
        post.slug = _unique_slug(post.title, exclude_pk=post.pk, kind=post.kind)
    _render_and_save(post, by=by, stored=stored)
    _link_media(post)
    _keep_revision(post, stored=stored, author=by, when=now)
    search_entries_refresh(post_ids=[post.pk])
    posts_changed(post.pk)
    return post


def _import_slug(post: Post) -> str:
    """The imported slug when it is free and allowed here, else the nearest one that is."""
    slug = post.slug
    shadowed = post.is_page and post.parent_id is None and slug in reserved_slugs()
    taken = Post.objects.filter(slug=slug).exclude(pk=post.pk).exists() if slug else True
    if slug and not shadowed and not slug.isdigit() and not taken:
        return slug
    return _unique_slug(slug or post.title, exclude_pk=post.pk, kind=post.kind)


def post_import(
    *, post: Post, by, categories=None, tags=None, modified_at=None, trashed_at=None
) -> Post:
    """Create or update a post or page moved from another platform, exactly as it was there.

    Unlike post_write, the status, dates, author, sticky flag and slug are taken as given
    (a scheduled post stays scheduled, a trashed one goes to the trash with its date): an
    import copies a site's history rather than making new decisions. Only someone who may
    publish and edit everyone's posts and pages may do it. The body is rendered and
    sanitized for `by`'s role, the revision, media links and the page cache are kept as
    post_write keeps them.

    It runs in the caller's transaction without a savepoint of its own (an import writes
    thousands of posts, each in the importer's own savepoint): when it raises, the caller's
    atomic block is spoiled and must be rolled back, so nothing it wrote stays.
    """
    with transaction.atomic(savepoint=False):
        return _post_import(
            post=post, by=by, categories=categories, tags=tags,
            modified_at=modified_at, trashed_at=trashed_at,
        )  # fmt: skip


def _post_import(*, post: Post, by, categories, tags, modified_at, trashed_at) -> Post:
    if not all(by.has_perm(p) for p in IMPORT_PERMS):
        raise PermissionDenied("Only editors and administrators may import content.")
    stored = Post.objects.select_for_update().filter(pk=post.pk).first() if post.pk else None
    if stored is not None and stored.kind != post.kind:
        raise PermissionDenied("A post cannot turn into a page.")
    if post.status not in Post.Status.values:
        raise ValidationError({"status": f"Unknown status {post.status!r}."})
    if post.author_id is None:
        post.author = by
    if not post.is_page and post.parent_id:
        raise ValidationError({"parent": "Only pages have a parent."})
    if post.is_page and post.parent_id and post.parent.kind != Post.Kind.PAGE:
        raise ValidationError({"parent": "A page's parent must be a page."})
    if post.password and post.status == Post.Status.PRIVATE:
        post.password = ""  # WordPress ignores a private post's password too
    post.slug = _import_slug(post)
    if post.status == Post.Status.TRASH:
        post.trashed_at = post.trashed_at or trashed_at or timezone.now()
        post.status_before_trash = post.status_before_trash or Post.Status.DRAFT
    _check_media(post=post, by=by, stored=stored)
    _render_and_save(post, by=by, stored=stored)
    # A new post has no links to compare with: add them without reading any first.
    for relation, wanted in ((post.categories, categories), (post.tags, tags)):
        if wanted is None:
            continue
        if stored is None:
            relation.add(*wanted)
        else:
            relation.set(wanted)
    _link_media(post, new=stored is None)
    _keep_revision(post, stored=stored, author=post.author, when=modified_at or post.created_at)
    search_entries_refresh(post_ids=[post.pk])
    posts_changed(post.pk)
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
    search_entries_refresh(post_ids=[post.pk])
    posts_changed(post.pk)
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
    search_entries_refresh(post_ids=[post.pk])
    posts_changed(post.pk)
    return post


@transaction.atomic
def post_delete(*, post: Post, by) -> None:
    """Delete a post or page for good, skipping the trash (the API's `force=true`).

    Who may trash it may delete it, as in WordPress; its comments and revisions go with
    it, and child pages move up to the top level.
    """
    if not post_can_delete(user=by, post=post):
        raise PermissionDenied("You may not delete this.")
    Post.objects.filter(pk=post.pk).delete()
    posts_changed()  # its own page is a 404 now: home and feeds


@transaction.atomic
def post_restore(*, post: Post, by) -> Post:
    """Take a post out of the trash, with its old status if `by` may give it that status."""
    perm = "blog.delete_page" if post.is_page else "blog.delete_post"
    owner_ok = post.author_id == by.pk or by.has_perm("blog.edit_others_posts") or post.is_page
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
    search_entries_refresh(post_ids=[post.pk])
    posts_changed(post.pk)
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
    return post_write(post=post, by=by)
