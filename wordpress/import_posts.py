"""Posts and pages with their comments, and the page hierarchy once every page is in."""

from __future__ import annotations

import datetime as dt
from urllib.parse import unquote, urlsplit

from django.utils import timezone

from blog import services
from blog.models import Comment, Post
from wordpress import content, wxr
from wordpress.import_changes import (
    comment_hash,
    local_comment_hash,
    post_change,
    remember_post,
    update_comments,
)
from wordpress.import_media import old_url_key
from wordpress.importer import (
    COMMENT_STATUSES,
    Kind,
    State,
    author_for,
    clean_slug,
    step,
    terms_for,
)
from wordpress.models import ImportedItem

STATUSES = {
    "publish": Post.Status.PUBLISHED,
    "future": Post.Status.FUTURE,
    "draft": Post.Status.DRAFT,
    "pending": Post.Status.PENDING,
    "private": Post.Status.PRIVATE,
    "trash": Post.Status.TRASH,
}
KINDS = {"post": Kind.POST, "page": Kind.PAGE}
# WordPress's own bookkeeping, not content: never counted as "skipped" one by one.
_QUIET_TYPES = {"revision", "auto-draft", "customize_changeset", "oembed_cache", "user_request"}


def parse_date(gmt: str, local: str) -> dt.datetime | None:
    """`post_date_gmt`, or else `post_date` in the site's time zone (drafts have no GMT)."""
    for value, zone in ((gmt, dt.UTC), (local, None)):
        if not value or value.startswith("0000"):
            continue
        try:
            naive = dt.datetime.strptime(value[:19], "%Y-%m-%d %H:%M:%S")
        except ValueError:
            continue
        if zone is not None:
            return naive.replace(tzinfo=zone)
        return timezone.make_aware(naive)
    return None


def _old_path(link: str, state: State) -> str:
    """The item's permalink as a path on this site (the old base's path removed)."""
    if not link:
        return ""
    parts = urlsplit(link)
    path = parts.path or "/"
    base_path = urlsplit(state.info.base_site_url or state.info.link).path.rstrip("/")
    if base_path and path.startswith(base_path + "/"):
        path = path[len(base_path) :]
    return (unquote(path) + (f"?{parts.query}" if parts.query else ""))[:500]


def content_site(state: State) -> content.Site:
    info = state.info
    return content.Site(
        bases=tuple(b for b in (info.base_site_url, info.base_blog_url, info.link) if b),
        media_by_path=state.media_paths.get,
        media_by_wp_id=state.media.get,
        media_children=lambda wp_id: state.media_children.get(wp_id, []),
        media_url=lambda pk: state.media_urls.get(pk, ""),
        media_by_url=lambda url: state.media_by_url.get(old_url_key(url)),
    )


def trashed_at(item: wxr.Item) -> dt.datetime | None:
    stamp = item.meta.get("_wp_trash_meta_time", "")
    if stamp.isdigit():
        return dt.datetime.fromtimestamp(int(stamp), tz=dt.UTC)
    return None


def build_post(state: State, item: wxr.Item, kind: str, status: str) -> Post:
    converted = content.convert(item.content, post_wp_id=item.wp_id, site=state.content_site)
    for note in converted.notes:
        state.report.note(note)
    when = parse_date(item.date_gmt, item.date)
    created = when or timezone.now()
    if status in (Post.Status.DRAFT, Post.Status.PENDING) and not parse_date(item.date_gmt, ""):
        when = None  # WordPress's "floating" draft: no publication date chosen yet
    post = Post(
        kind=kind,
        title=item.title.strip()[:300] or "(no title)",
        slug=clean_slug(item.slug, item.title) if item.slug else "",
        body=converted.html,
        body_format=Post.Format.HTML,
        excerpt=item.excerpt.strip(),
        author=author_for(state, item.creator),
        status=status,
        published_at=when,
        created_at=created,
        sticky=item.sticky and kind == Kind.POST,
        comment_status=(
            Post.CommentStatus.OPEN if item.comment_status == "open" else Post.CommentStatus.CLOSED
        ),
        password=item.password[:100],
        menu_order=item.menu_order,
    )
    thumbnail = item.meta.get("_thumbnail_id", "")
    featured = state.media.get(int(thumbnail)) if thumbnail.isdigit() else None
    if featured and featured not in state.media_files:
        post.featured_image_id = featured
    elif thumbnail.isdigit():
        state.report.note("featured images whose attachment was not imported")
    if status == Post.Status.TRASH:
        before = STATUSES.get(item.meta.get("_wp_trash_meta_status", ""), Post.Status.DRAFT)
        post.status_before_trash = before
    return post


# What a later export may change on an imported post (the rest, e.g. its comment count,
# is this site's own).
_UPDATED_FIELDS = (
    "title", "slug", "body", "body_format", "excerpt", "author", "status", "published_at",
    "sticky", "comment_status", "password", "menu_order", "featured_image_id",
    "status_before_trash",
)  # fmt: skip


def _update_post(state: State, item: wxr.Item, kind: str, pk: int) -> Post | None:
    """An imported post met again: updated when it changed in WordPress and not here."""
    report = state.report
    record = (
        ImportedItem.objects.filter(site=state.site, kind=kind, wp_id=item.wp_id)
        .select_related("post")
        .first()
    )
    post = record.post if record else None
    if post is None:
        report.add(kind, "skipped")
        return Post.objects.filter(pk=pk).first()
    change = post_change(record, item, post)
    status = STATUSES.get(item.status)
    if change == "conflict":
        report.conflict(kind, item.wp_id, item.title)
    elif change != "update" or status is None:
        if change == "base":
            remember_post(record.meta, item, post)
            record.save(update_fields=["meta"])
            report.note("items imported before changes were tracked: tracked from now on")
        elif change == "older":
            report.note("items older in this file than at their last import: left as they are")
        report.add(kind, "skipped")
    else:
        fresh = build_post(state, item, kind, status)
        for name in _UPDATED_FIELDS:
            setattr(post, name, getattr(fresh, name))
        categories, tags, post_format = terms_for(state, item)
        if kind == Kind.PAGE:
            parent = state.posts.get((Kind.PAGE, item.parent))
            post.parent = Post.objects.get(pk=parent) if parent else None
            record.meta["parent"] = item.parent
        services.post_import(
            post=post,
            by=state.by,
            categories=categories,
            tags=tags if kind == Kind.POST else [],
            modified_at=parse_date(item.modified_gmt, ""),
            trashed_at=trashed_at(item),
        )
        if post_format:
            record.meta["format"] = post_format
        remember_post(record.meta, item, post)
        record.save(update_fields=["meta"])
        report.add(kind, "updated")
    return post


def post_record(state: State, item: wxr.Item, kind: str, post: Post, post_format: str):
    """What a new post or page remembers of its WordPress self (unsaved)."""
    meta = {}
    if post_format:
        meta["format"] = post_format
    if kind == Kind.PAGE and item.parent:
        meta["parent"] = item.parent
    if item.meta.get("_wp_page_template", "default") != "default":
        meta["template"] = item.meta["_wp_page_template"]
    return ImportedItem(
        site=state.site,
        kind=kind,
        wp_id=item.wp_id,
        guid=item.guid[:500],
        old_slug=unquote(item.slug)[:200],
        old_path=_old_path(item.link, state),
        post=post,
        meta=remember_post(meta, item, post),
    )


def _import_post(state: State, item: wxr.Item, kind: str) -> tuple[Post | None, bool]:
    """The post for `item` and whether it is new: created now, or found from an earlier run
    (None: not imported)."""
    report = state.report
    known = state.posts.get((kind, item.wp_id))
    if known:
        return _update_post(state, item, kind, known), False
    status = STATUSES.get(item.status)
    if status is None:
        report.add(kind, "skipped")
        report.note(f"{kind}s with status {item.status!r} skipped")
        return None, False
    post = build_post(state, item, kind, status)
    categories, tags, post_format = terms_for(state, item)
    parent = state.posts.get((Kind.PAGE, item.parent)) if kind == Kind.PAGE else None
    if parent:
        post.parent = Post.objects.get(pk=parent)
    services.post_import(
        post=post,
        by=state.by,
        categories=categories,
        tags=tags if kind == Kind.POST else [],
        trashed_at=trashed_at(item),
    )
    post_record(state, item, kind, post, post_format).save()
    state.posts[(kind, item.wp_id)] = post.pk
    report.add(kind, "created")
    return post, True


def _import_comments(state: State, post: Post, item: wxr.Item, *, new_post: bool) -> None:
    if not item.comments:
        return
    done: dict[int, tuple] = {}
    if not new_post:  # a later export may bring new or changed comments to an imported post
        rows = ImportedItem.objects.filter(
            site=state.site, kind=Kind.COMMENT, wp_id__in=[c.wp_id for c in item.comments]
        ).values_list("wp_id", "comment_id", "meta")
        done = {wp_id: (pk, meta) for wp_id, pk, meta in rows}
        if done:
            update_comments(state, post, item, done)
    new = [c for c in item.comments if c.wp_id not in done]
    if not new:
        return
    objects = comment_objects(state, post, new)
    services.comment_import(post=post, comments=list(objects.values()), by=state.by)
    ImportedItem.objects.bulk_create(comment_records(state, new, objects), batch_size=1000)


def comment_objects(state: State, post: Post, new: list[wxr.Comment]) -> dict[int, Comment]:
    """Unsaved comments for `post`, by WordPress id, each with its parent (in the list, or
    imported before)."""
    objects: dict[int, Comment] = {}
    for c in new:
        when = parse_date(c.date_gmt, c.date) or post.published_at or timezone.now()
        objects[c.wp_id] = Comment(
            author_name=c.author,
            author_email=c.email,
            author_url=c.url,
            body=c.content,
            status=COMMENT_STATUSES.get(c.approved, Comment.Status.PENDING),
            ip_address=c.ip or None,
            created_at=when,
            user=state.users_by_id.get(c.user_id) if c.user_id else None,
        )
    earlier: dict[int, Comment] = {}
    parents = {c.parent for c in new if c.parent and c.parent not in objects}
    if parents:
        pairs = dict(
            ImportedItem.objects.filter(
                site=state.site, kind=Kind.COMMENT, wp_id__in=parents
            ).values_list("wp_id", "comment_id")
        )
        rows = Comment.objects.in_bulk(pairs.values())
        earlier = {wp: rows[pk] for wp, pk in pairs.items() if pk in rows}
    for c in new:
        if c.parent:
            objects[c.wp_id].parent = objects.get(c.parent) or earlier.get(c.parent)
            if objects[c.wp_id].parent is None:
                state.report.note("comments whose parent is not in the file: made top-level")
    return objects


def comment_records(
    state: State, new: list[wxr.Comment], objects: dict[int, Comment]
) -> list[ImportedItem]:
    """What saved comments remember (and the report's count of them)."""
    state.report.add("comment", "created", len(new))
    for kind in {c.type for c in new if c.type in ("pingback", "trackback")}:
        state.report.note(f"{kind}s imported as comments, marked as {kind}s")
    return [
        ImportedItem(
            site=state.site,
            kind=Kind.COMMENT,
            wp_id=c.wp_id,
            comment=objects[c.wp_id],
            meta={
                **({"type": c.type} if c.type not in ("", "comment") else {}),
                "wp_hash": comment_hash(c),
                "local_hash": local_comment_hash(objects[c.wp_id]),
            },
        )
        for c in new
    ]


def import_item(state: State, item: wxr.Item) -> None:
    """One post or page with its comments (attachments are the first pass's)."""
    kind = KINDS.get(item.type)
    if kind is None:
        if item.type != "attachment" and item.type not in _QUIET_TYPES:
            state.report.add(f"item:{item.type}", "skipped")
            state.report.note(f"{item.type} items skipped (no such content type here)")
        return
    holder: dict[str, object] = {}

    def work() -> None:
        post, created = _import_post(state, item, kind)
        holder.update(post=post, created=created)
        if created:  # one savepoint for a new post and its comments
            _import_comments(state, post, item, new_post=True)

    step(state, kind, item.wp_id, item.title, work)
    post = holder.get("post")
    if post is not None and not holder.get("created") and item.comments:
        step(
            state,
            "comment",
            f"{item.wp_id}:{len(item.comments)}",
            f"comments on {item.title}",
            lambda: _import_comments(state, post, item, new_post=False),
        )


def link_page_parents(state: State) -> None:
    """Pages imported before their parent (or in an earlier run) get it now."""
    waiting = ImportedItem.objects.filter(
        site=state.site, kind=Kind.PAGE, post__parent__isnull=True
    ).select_related("post")
    for entry in waiting:
        parent_wp = entry.meta.get("parent")
        if not parent_wp or entry.post is None:
            continue
        parent_pk = state.posts.get((Kind.PAGE, parent_wp))
        if parent_pk is None:
            parent_pk = (
                ImportedItem.objects.filter(site=state.site, kind=Kind.PAGE, wp_id=parent_wp)
                .values_list("post_id", flat=True)
                .first()
            )
        if parent_pk is None:
            state.report.note("pages whose parent is not in the file: left at the top level")
            continue
        page = entry.post

        def work(page=page, parent_pk=parent_pk) -> None:
            page.parent = Post.objects.get(pk=parent_pk)
            services.post_import(post=page, by=state.by)

        before = state.report.failed
        step(state, "page", entry.wp_id, page.title, work)
        if state.report.failed == before:
            state.report.add("page", "updated")
