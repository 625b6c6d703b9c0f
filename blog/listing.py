"""Post lists that cost the same on page 1 and on page 10,000 of a 100,000-post site.

Django's Paginator grows with the data twice: `COUNT(*)` for "page X of Y" reads every
matching row, and `OFFSET` for a deep page reads and throws away every row before it.
Here both are paid once per change of the content instead of once per request:

- The count of a list is kept in the shared cache under the list's own key and the
  content stamp: the newest `updated_at` of any post, read in one probe of its index.
  Every write of a post moves the stamp (`auto_now`; the services save what they
  change), so a list is counted again only after something changed. A scheduled post
  going live changes lists with no write: an entry expires when the next one is due.
- A deep page seeks instead of skipping: the sort key (sticky, published_at, id) of the
  row at every ANCHOR_EVERY-th position is kept in the same entry, found once by an
  OFFSET on the list's ID query, and a page reads from the nearest anchor before it,
  skipping fewer than ANCHOR_EVERY rows. `?page=N` keeps its meaning: the same posts as
  the OFFSET would give (tests/blog/test_listing_pages.py compares them).

An entry also lives at most LISTING_CACHE_SECONDS, which bounds the damage of a
change that bypassed `updated_at` (a raw UPDATE, a delete outside the services): a
stale count or anchor shifts a page by the rows that changed, never a 500.
"""

from __future__ import annotations

import hashlib
import re
import time
from datetime import datetime

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Paginator
from django.db.models import Max, Q
from django.utils import timezone
from django.utils.functional import cached_property

from blog.models import Post

ANCHOR_EVERY = 500
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\d[ T]\d\d:\d\d:\d\d")
_SEEKABLE = {"sticky", "published_at", "id", "pk"}


def content_stamp(using: str | None = None) -> str:
    """Changes whenever any post is written: MAX(updated_at) and MAX(id), one probe of an
    index each (the newest id too, for posts written within one clock tick)."""
    stamp = Post.objects.using(using).aggregate(at=Max("updated_at"), last=Max("id"))
    return f"{stamp['at'].isoformat()}/{stamp['last']}" if stamp["at"] else "empty"


def _next_due(using: str | None, now: datetime) -> float | None:
    """When the next scheduled post goes live (lists change then with no write)."""
    due = (
        Post.objects.using(using)
        .filter(status=Post.Status.FUTURE, published_at__gt=now)
        .order_by("published_at")
        .values_list("published_at", flat=True)
        .first()
    )
    return due.timestamp() if due else None


def _scope_key(scope: str, queryset) -> str:
    """The list's identity: its scope (the URL) and its SQL, minus "now".

    `published()` compares with the current time, which differs on every request; the
    other datetimes (an archive's range) come from the URL, which is in `scope`.
    """
    try:
        sql, params = queryset.query.sql_with_params()
    except EmptyResultSet:  # .none(): a search with no words
        sql, params = "none", ()
    # MariaDB's backend passes datetimes as strings by then.
    kept = [repr(p) for p in params if not isinstance(p, datetime) and not _TIMESTAMP.match(str(p))]
    digest = hashlib.sha256("\x1f".join([scope, sql, *kept]).encode()).hexdigest()[:32]
    return f"listing:{digest}"


def _order(queryset) -> list[tuple[str, bool]] | None:
    """(field, descending) of the list's ORDER BY, or None when it cannot be sought."""
    fields = queryset.query.order_by
    keys = []
    for field in fields:
        if not isinstance(field, str):
            return None
        name = field.lstrip("-")
        if name not in _SEEKABLE:
            return None
        keys.append(("id" if name == "pk" else name, field.startswith("-")))
    if not keys or keys[-1][0] != "id":
        return None  # without the unique key last, the order is not total
    return keys


def _after(name: str, desc: bool, value, rest: Q | None) -> Q:
    """Rows after `value` of the key `name` in the list's order, or tied on it and `rest`.

    MariaDB sorts NULL below every value (first ascending, last descending): a draft's
    empty `published_at` in the admin's list has its place like any other value.
    """
    nullable = name != "id" and Post._meta.get_field(name).null
    tied = Q(**{f"{name}__isnull": True} if value is None else {name: value})
    if rest is not None:
        tied &= rest
    if value is None:
        return tied if desc else Q(**{f"{name}__isnull": False}) | tied
    later = Q(**{f"{name}__{'lt' if desc else 'gt'}": value})
    if nullable and desc:
        later |= Q(**{f"{name}__isnull": True})
    return later | tied


def _from_anchor(keys: list[tuple[str, bool]], values: tuple) -> Q:
    """Rows at or after the anchor row in the list's order (a row-value comparison)."""
    name, desc = keys[-1]
    condition = Q(**{f"{name}__{'lte' if desc else 'gte'}": values[-1]})
    for (name, desc), value in reversed(list(zip(keys[:-1], values[:-1], strict=True))):
        condition = _after(name, desc, value, condition)
    return condition


class ListFacts:
    """What is known about one list at one content stamp: its count, anchors, and what
    else a caller computes from it (the admin's status counts); kept in the shared cache."""

    def __init__(self, scope: str, queryset) -> None:
        self.using = queryset.db
        self.key = f"{_scope_key(scope, queryset)}:{content_stamp(self.using)}"
        self.data = cache.get(self.key)
        if self.data is not None and self.data["fresh_until"] <= time.time():
            self.data = None

    def get(self, name, compute):
        if self.data is None:
            now = timezone.now()
            ttl = settings.LISTING_CACHE_SECONDS
            due = _next_due(self.using, now)
            fresh_until = min(time.time() + ttl, due) if due else time.time() + ttl
            self.data = {"fresh_until": fresh_until}
        if name not in self.data:
            self.data[name] = compute()
            timeout = max(int(self.data["fresh_until"] - time.time()), 1)
            cache.set(self.key, self.data, timeout=timeout)
        return self.data[name]


class ListingPaginator(Paginator):
    """Django's Paginator with the count and deep pages of the module docstring.

    Pages hold post IDs, in order (the caller loads the rows by key), or with
    `rows=True` the queryset's own rows (the admin's changelist). A list sorted by
    anything but (sticky,) published_at, id (a search by relevance, an admin column)
    is paginated the plain way, with its count cached all the same.
    """

    def __init__(self, queryset, per_page: int, *, scope: str, rows: bool = False, **kwargs):
        super().__init__(queryset.values_list("pk", flat=True), per_page, **kwargs)
        self.queryset = queryset
        self.rows = rows
        self.keys = _order(queryset)
        self.entry = ListFacts(scope, queryset)

    @cached_property
    def count(self) -> int:
        return self.entry.get("count", self.queryset.count)

    def page(self, number):
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        slot = bottom // ANCHOR_EVERY
        listed = self.object_list
        if slot and self.keys:
            anchor = self.entry.get(f"anchor:{slot}", lambda: self._anchor(slot))
            if anchor is not None:
                listed = listed.filter(_from_anchor(self.keys, anchor))
                bottom, top = bottom - slot * ANCHOR_EVERY, top - slot * ANCHOR_EVERY
        ids = list(listed[bottom:top])
        if self.rows:
            # By key after the IDs: sorted while joined to its author, MariaDB starts
            # from the users and sorts every post (0.4 s for the admin at 100k posts).
            found = {row.pk: row for row in self.queryset.filter(pk__in=ids)}
            ids = [found[pk] for pk in ids if pk in found]
        return self._get_page(ids, number, self)

    def _anchor(self, slot: int) -> tuple | None:
        """The sort key of the row at slot * ANCHOR_EVERY: an OFFSET, once per change."""
        names = [name for name, _ in self.keys]
        position = slot * ANCHOR_EVERY
        found = list(self.queryset.values_list(*names)[position : position + 1])
        return tuple(found[0]) if found else None


def listing_page(queryset, *, number, per_page: int, scope: str):
    """Page `number` of `queryset` (already ordered), as IDs: raises EmptyPage and
    PageNotAnInteger like Paginator.page."""
    return ListingPaginator(queryset, per_page, scope=scope).page(number)
