"""After a change to posts or comments: the page cache and its write-through.

Every cached page goes stale at once (webtier/page_cache.py `pages_changed`), and a task
(blog/tasks.py `refresh_pages`) renders the pages that show the changed posts into the
cache again, so the first reader after a publish, an edit or an approved comment does
not pay for the render. The task is queued with the write (the outbox joins the
transaction) or just after it, so the request itself renders nothing.
"""

from __future__ import annotations

from django.db import transaction

from blog.tasks import refresh_pages
from webtier import page_cache
from worker.enqueue import enqueue_on_commit

# An import changes thousands of posts in one transaction: past this many, their other
# pages are left to their first reader (the home page and the feeds are refreshed anyway).
MAX_POSTS_PER_TRANSACTION = 20


class _Queued:
    """In the transaction's on_commit list, as the page cache's bump is: the posts this
    transaction has queued a refresh for. It goes with its savepoint when that rolls back."""

    def __init__(self) -> None:
        self.posts: set[tuple[int, bool]] = set()
        self.site: set[bool] = set()  # queued the home page and feeds (with comment feeds)

    def __call__(self) -> None:
        pass


def _queued_in_transaction() -> _Queued | None:
    connection = transaction.get_connection()
    if not connection.in_atomic_block:
        return None
    for _, func, _ in connection.run_on_commit:
        if isinstance(func, _Queued):
            return func
    queued = _Queued()
    transaction.on_commit(queued)
    return queued


def posts_changed(*post_ids: int, comments: bool = False) -> None:
    """These posts (or their comments) changed: stale pages now, fresh ones from a task.

    Once per post and transaction; the site's own pages (home, feeds) come with each.
    """
    page_cache.pages_changed()
    if not page_cache.write_through():
        return
    queued = _queued_in_transaction()
    if queued is not None:
        room = max(MAX_POSTS_PER_TRANSACTION - len(queued.posts), 0)
        new = [pk for pk in dict.fromkeys(post_ids) if (pk, comments) not in queued.posts]
        new = new[:room]
        if not new and comments in queued.site:
            return
        queued.posts.update((pk, comments) for pk in new)
        queued.site.add(comments)
        post_ids = tuple(new)
    enqueue_on_commit(refresh_pages, list(post_ids), comments)
