"""Many new posts moved from another platform at once: post_import's rules, a few queries for
the lot (an import of 20,000 posts is bound by database round trips, not by Python)."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.utils import timezone

from blog.models import Post, Revision
from blog.rendering import render_post_body
from blog.services.posts import CONTENT_FIELDS, IMPORT_PERMS, _check_media, _unique_slug
from blog.services.search import search_entries_refresh
from media_library.render import media_ids_in
from webtier.page_cache import pages_changed


def _free_slug(post: Post, taken: set[str]) -> str:
    """The imported slug when no other post has it (nor one earlier in this batch)."""
    slug = post.slug
    if slug and not slug.isdigit() and slug not in taken:
        return slug
    slug = _unique_slug(slug or post.title, exclude_pk=None, kind=post.kind)
    base, n = slug, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def post_import_many(
    *, posts: list[Post], categories: list[list[int]], tags: list[list[int]], by
) -> list[Post]:
    """post_import for new posts (not pages: a page's place in the tree needs its parent
    saved first): status, dates, author, slug as given; the body rendered and sanitized
    for `by`'s role; categories, tags, media links and a first revision each.

    Runs in the caller's transaction without a savepoint of its own; when it raises (one
    post breaks a rule), nothing of the batch may stay: the caller rolls back and imports
    the posts one by one to find the one at fault.
    """
    if not all(by.has_perm(p) for p in IMPORT_PERMS):
        raise PermissionDenied("Only editors and administrators may import content.")
    if not posts:
        return posts
    allow_embeds = by.has_perm("blog.unfiltered_html")
    wanted = [p.slug for p in posts if p.slug]
    taken = set(Post.objects.filter(slug__in=wanted).values_list("slug", flat=True))
    for post in posts:
        if post.pk is not None or post.kind != Post.Kind.POST or post.parent_id:
            raise ValidationError("Only new posts without a parent are imported together.")
        if post.status not in Post.Status.values:
            raise ValidationError({"status": f"Unknown status {post.status!r}."})
        if post.author_id is None:
            post.author = by
        if post.password and post.status == Post.Status.PRIVATE:
            post.password = ""  # WordPress ignores a private post's password too
        post.slug = _free_slug(post, taken)
        taken.add(post.slug)
        if post.status == Post.Status.TRASH:
            post.trashed_at = post.trashed_at or timezone.now()
            post.status_before_trash = post.status_before_trash or Post.Status.DRAFT
        _check_media(post=post, by=by, stored=None)
        post.body_html = render_post_body(post.body, post.body_format, allow_embeds=allow_embeds)
        post.path = ""
    with transaction.atomic(savepoint=False):
        if connection.features.can_return_rows_from_bulk_insert:
            Post.objects.bulk_create(posts, batch_size=200)  # within max_allowed_packet
        else:
            for post in posts:
                post.save()
        _link_all(posts, categories, tags)
        revisions = [
            Revision(post=post, created_at=post.created_at, author=post.author,
                     **{f: getattr(post, f) for f in CONTENT_FIELDS})
            for post in posts
        ]  # fmt: skip
        Revision.objects.bulk_create(revisions, batch_size=200)
        search_entries_refresh(post_ids=[post.pk for post in posts])
    pages_changed()
    return posts


def _link_all(posts: list[Post], categories: list[list[int]], tags: list[list[int]]) -> None:
    """Each post's categories, tags and shown media: one insert per kind of link."""
    links = (
        (Post.categories.through, "category_id", categories),
        (Post.tags.through, "tag_id", tags),
    )
    for through, column, wanted in links:
        rows = [
            through(post_id=post.pk, **{column: pk})
            for post, pks in zip(posts, wanted, strict=True)
            for pk in dict.fromkeys(pks)
        ]
        through.objects.bulk_create(rows, batch_size=1000)
    media = Post.media_items.through
    rows = []
    for post in posts:
        ids = media_ids_in(post.body_html)
        if post.featured_image_id:
            ids.add(post.featured_image_id)
        rows += [media(post_id=post.pk, mediaitem_id=pk) for pk in sorted(ids)]
    media.objects.bulk_create(rows, batch_size=1000)
