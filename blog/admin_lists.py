"""What the admin's lists share: the status filter with counts, and WordPress's row
actions (the links and buttons under a row's title) for posts, pages and comments."""

from __future__ import annotations

from django.contrib import admin
from django.db.models import Count
from django.utils.html import format_html
from django.utils.safestring import mark_safe

from blog.models import Comment, Post


class StatusFilter(admin.SimpleListFilter):
    """Status with counts; the default view leaves out `hidden` (the Trash, spam)."""

    title = "status"
    parameter_name = "status"
    statuses: type = Post.Status
    hidden: tuple[str, ...] = (Post.Status.TRASH,)
    all_label = "All (except Trash)"

    def lookups(self, request, model_admin):
        rows = model_admin.get_queryset(request).order_by().values_list("status")
        counts = dict(rows.annotate(n=Count("pk")))
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
