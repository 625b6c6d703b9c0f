"""The second pass a batch at a time: new posts and their comments together, in one savepoint
and a dozen queries for a hundred posts, through the same services (blog.services
post_import_many, comment_import_threads) and so the same rules as one by one.

When anything in the batch breaks a rule, the savepoint is rolled back, what the run had
noted is put back, and the batch is imported one record at a time, which finds and reports
the record at fault as before. Pages (their place in the tree), posts imported before
(updates) and anything unusual always go one by one.
"""

from __future__ import annotations

import copy
import logging

from django.db import transaction

from blog import services
from wordpress import wxr
from wordpress.import_posts import (
    STATUSES,
    build_post,
    comment_objects,
    comment_records,
    import_item,
    post_record,
    trashed_at,
)
from wordpress.importer import RECORD_ERRORS, Kind, State, terms_for
from wordpress.models import ImportedItem

logger = logging.getLogger(__name__)


def _together(state: State, record) -> bool:
    return (
        isinstance(record, wxr.Item)
        and record.type == "post"
        and record.status in STATUSES
        and (Kind.POST, record.wp_id) not in state.posts
    )


def _write(state: State, items: list[wxr.Item]) -> None:
    posts, categories, tags, formats = [], [], [], []
    for item in items:
        post = build_post(state, item, Kind.POST, STATUSES[item.status])
        post.trashed_at = trashed_at(item)
        wanted_categories, wanted_tags, post_format = terms_for(state, item)
        posts.append(post)
        categories.append(wanted_categories)
        tags.append(wanted_tags)
        formats.append(post_format)
    services.post_import_many(posts=posts, categories=categories, tags=tags, by=state.by)
    records = [
        post_record(state, item, Kind.POST, post, post_format)
        for item, post, post_format in zip(items, posts, formats, strict=True)
    ]
    threads, comments = [], []
    for item, post in zip(items, posts, strict=True):
        state.posts[(Kind.POST, item.wp_id)] = post.pk
        if item.comments:
            objects = comment_objects(state, post, item.comments)
            threads.append((post, list(objects.values())))
            comments.append((item.comments, objects))
    if threads:
        services.comment_import_threads(threads=threads, by=state.by)
    for new, objects in comments:
        records += comment_records(state, new, objects)
    ImportedItem.objects.bulk_create(records, batch_size=1000)
    state.report.add(Kind.POST, "created", len(posts))


def import_batch(state: State, batch: list) -> None:
    """One batch of the second pass (posts, pages and their comments)."""
    together = [r for r in batch if _together(state, r)]
    if len(together) > 1 and len({r.wp_id for r in together}) == len(together):
        report = state.report
        saved = copy.deepcopy((report.counts, report.notes))
        terms = (dict(state.categories), dict(state.tags))
        try:
            with transaction.atomic():
                _write(state, together)
        except RECORD_ERRORS as exc:
            logger.info("import: a batch of %d posts goes one by one: %s", len(together), exc)
            report.counts, report.notes = saved
            state.categories, state.tags = terms
            for item in together:
                state.posts.pop((Kind.POST, item.wp_id), None)
        else:
            done = {id(r) for r in together}
            batch = [r for r in batch if id(r) not in done]
            for item in together:
                report.done += 1 + len(item.comments)
    for record in batch:
        if isinstance(record, wxr.Item) and record.type != "attachment":
            import_item(state, record)
            state.report.done += 1 + len(record.comments)
