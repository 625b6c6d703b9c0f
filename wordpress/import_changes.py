"""A later export of the same site: what changed there, what changed here, and comments updated.

Each imported post, page and comment remembers (in its ImportedItem's meta) a hash of
what WordPress had (`wp_hash`), WordPress's modified date (`wp_modified`) and a hash of
the copy here right after the import (`local_hash`). On the next run an object whose
WordPress side hashes differently is updated, unless the copy here no longer matches its
`local_hash` (someone edited it here): then ours is kept and the report has a conflict
line. Objects imported before this bookkeeping existed get it on their next run and are
left as they are (there is nothing to compare with).
"""

from __future__ import annotations

import hashlib
import json

from blog import services
from blog.models import Comment, Post
from wordpress import wxr
from wordpress.importer import COMMENT_STATUSES, Kind, State, step
from wordpress.models import ImportedItem

# What a person edits here: a change to any of them since the import is a local edit.
# (Not the status: publishing a scheduled post is the site's doing, not an edit.)
POST_EDITED_FIELDS = ("title", "body", "excerpt", "slug")
COMMENT_EDITED_FIELDS = ("body", "status", "author_name", "author_email", "author_url")


def _digest(*parts) -> str:
    text = json.dumps(parts, default=str, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def item_hash(item: wxr.Item) -> str:
    """What WordPress had for a post or page (every field the import reads)."""
    return _digest(
        item.title, item.content, item.excerpt, item.status, item.slug, item.date_gmt,
        item.date, item.comment_status, item.password, item.menu_order, item.parent,
        item.sticky, item.creator, sorted(item.terms), item.meta.get("_thumbnail_id", ""),
        item.meta.get("_wp_page_template", ""),
    )  # fmt: skip


def local_post_hash(post: Post) -> str:
    return _digest(*(getattr(post, f) for f in POST_EDITED_FIELDS))


def comment_hash(c: wxr.Comment) -> str:
    return _digest(c.author, c.email, c.url, c.content, c.approved, c.date_gmt, c.date, c.type)


def local_comment_hash(comment: Comment) -> str:
    return _digest(*(getattr(comment, f) for f in COMMENT_EDITED_FIELDS))


def remember_post(meta: dict, item: wxr.Item, post: Post) -> dict:
    meta.update(wp_hash=item_hash(item), wp_modified=item.modified_gmt)
    meta["local_hash"] = local_post_hash(post)
    return meta


def post_change(record: ImportedItem, item: wxr.Item, post: Post) -> str:
    """What a later run does with an imported post: "same", "base" (no bookkeeping yet),
    "older" (this file is older than the last import), "conflict" or "update"."""
    meta = record.meta
    if "wp_hash" not in meta:
        return "base"
    if meta["wp_hash"] == item_hash(item):
        return "same"
    before = meta.get("wp_modified") or ""
    if item.modified_gmt and before and item.modified_gmt < before:
        return "older"
    if local_post_hash(post) != meta.get("local_hash"):
        return "conflict"
    return "update"


def update_comments(state: State, post: Post, item: wxr.Item, known: dict[int, tuple]) -> None:
    """Comments of `item` imported before (`known`: wp id -> (comment pk, meta)): update
    those changed in WordPress and not here; baseline those without bookkeeping."""
    report = state.report
    by_wp = {c.wp_id: c for c in item.comments if c.wp_id in known}
    comments = Comment.objects.in_bulk(pk for pk, _ in known.values())
    records = {
        r.wp_id: r
        for r in ImportedItem.objects.filter(
            site=state.site, kind=Kind.COMMENT, wp_id__in=list(by_wp)
        )
    }
    baselined = []
    for wp_id, c in by_wp.items():
        comment, record = comments.get(known[wp_id][0]), records.get(wp_id)
        if comment is None or record is None:
            report.add("comment", "skipped")
            continue
        meta = record.meta
        if "wp_hash" not in meta:
            meta.update(wp_hash=comment_hash(c), local_hash=local_comment_hash(comment))
            baselined.append(record)
            report.add("comment", "skipped")
            continue
        if meta["wp_hash"] == comment_hash(c):
            report.add("comment", "skipped")
            continue
        if local_comment_hash(comment) != meta.get("local_hash"):
            report.conflict("comment", wp_id, f"comment by {c.author} on {item.title}")
            continue

        def work(comment=comment, c=c, record=record) -> None:
            comment.author_name, comment.author_email = c.author, c.email
            comment.author_url, comment.body = c.url, c.content
            comment.status = COMMENT_STATUSES.get(c.approved, Comment.Status.PENDING)
            services.comment_reimport(comment=comment, by=state.by)
            record.meta.update(wp_hash=comment_hash(c), local_hash=local_comment_hash(comment))
            record.save(update_fields=["meta"])
            report.add("comment", "updated")

        step(state, "comment", wp_id, f"comment by {c.author}", work)
    if baselined:
        ImportedItem.objects.bulk_update(baselined, ["meta"], batch_size=500)
        report.note("comments imported before changes were tracked: tracked from now on")
