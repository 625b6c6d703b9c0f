"""What the admin's lists share: the status filter with counts, the paginator that counts
once per change, and WordPress's row actions (the links and buttons under a row's title)
for posts, pages and comments.

At 100,000 posts, Django's changelist counts the filtered rows for its paginator, and our
status filter counts every status, on every view, and a deep page (`?p=500`) reads and
throws away every row before it. The counts are kept with the list's facts and deep
pages seek from the list's anchors (blog/listing.py): counted again only after a post
changed. The changelist's "N total" (a second, unfiltered count) is off:
`show_full_result_count = False`.
"""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from blog.listing import ListFacts, ListingPaginator
from blog.models import Comment, Post


def list_scope(request) -> str:
    """A changelist's identity for its cached facts: the path and its filters, not `p`."""
    params = sorted((k, v) for k, v in request.GET.lists() if k != "p")
    return f"admin:{request.path}?{params}"


def counted_once_paginator(queryset, per_page, *, scope: str, **kwargs) -> ListingPaginator:
    """The changelist's paginator: its count taken once per change of the posts, and a
    deep page (`?p=N`) sought from the nearest anchor instead of an OFFSET from the top
    when the list is in its default order (newest first)."""
    return ListingPaginator(queryset, per_page, scope=scope, rows=True, **kwargs)


class StatusFilter(admin.SimpleListFilter):
    """Status with counts; the default view leaves out `hidden` (the Trash, spam)."""

    title = "status"
    parameter_name = "status"
    statuses: type = Post.Status
    hidden: tuple[str, ...] = (Post.Status.TRASH,)
    all_label = "All (except Trash)"
    # Posts' counts follow the posts' content stamp; comments have none (yet).
    cached = True

    def lookups(self, request, model_admin):
        rows = model_admin.get_queryset(request).order_by().values_list("status")

        def count() -> dict[str, int]:
            return dict(rows.annotate(n=Count("pk")))

        if not self.cached:
            counts = count()
        else:
            counts = ListFacts(list_scope(request), rows).get("statuses", count)
        return [(v, f"{label} ({counts.get(v, 0)})") for v, label in self.statuses.choices]

    def queryset(self, request, queryset):
        if self.value():
            return queryset.filter(status=self.value())
        return queryset.exclude(status__in=self.hidden)

    def choices(self, changelist):
        choices = list(super().choices(changelist))
        choices[0]["display"] = self.all_label
        return choices


class CommentStatusFilter(StatusFilter):
    statuses = Comment.Status
    hidden = (Comment.Status.SPAM, Comment.Status.TRASH)
    all_label = "All (except spam and Trash)"
    cached = False


def row_actions(*, links=(), buttons=()) -> str:
    """WordPress's row actions: `links` are (url, label), `buttons` (formaction, label)
    are submit buttons of the list's own form (a row cannot hold a form of its own inside
    the changelist's form), so they work without JavaScript. The view they post to comes
    back to the list it was sent from (the Referer)."""
    parts = [
        *(format_html('<a href="{}">{}</a>', url, label) for url, label in links),
        *(
            format_html(
                '<button type="submit" class="desk-row-action" formaction="{}" formnovalidate>'
                "{}</button>",
                action,
                label,
            )
            for action, label in buttons
        ),
    ]
    return format_html(
        '<div class="desk-row-actions">{}</div>',
        mark_safe(' <span aria-hidden="true">|</span> '.join(parts)),  # parts are escaped
    )
