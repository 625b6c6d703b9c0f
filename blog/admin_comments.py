"""Comments in the admin: the moderation queue, laid out like WordPress's Comments screen.

Columns: the author (name, email, IP), the comment (its first words, what it replies to,
and the row actions Approve, Spam, Trash, Edit), the post it answers, the status and the
date. The row actions post to the dashboard's moderation view (blog/admin_dashboard.py)
and come back to the list; the bulk actions stay in the actions menu. Only moderators
(Editors, Administrators) see any of it. Comments are never deleted from here: trashed
ones go with `empty_trash`.
"""

from __future__ import annotations

import re

from django.contrib import admin, messages
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import escape, format_html, strip_tags
from django.utils.safestring import mark_safe
from django.utils.text import Truncator

from blog import services
from blog.admin_dashboard import MODERATION
from blog.admin_lists import CommentStatusFilter, row_actions
from blog.models import Comment

EXCERPT_WORDS = 20
ROW_ACTIONS = (("approve", "Approve"), ("spam", "Spam"), ("trash", "Trash"))


def _email_link(address: str) -> str:
    # A long address may wrap, but after its @ and its dots rather than mid-word.
    parts = [escape(part) for part in re.split(r"(?<=[@.])|(?=@)", address) if part]
    breakable = mark_safe("<wbr>".join(parts))  # each part is escaped
    return format_html('<a class="desk-email" href="mailto:{}">{}</a>', address, breakable)


def _moderation(name: str, status: str, description: str, verb: str):
    """A bulk action that gives the selected comments `status` through the service."""

    def action(modeladmin, request, queryset):
        changed = services.comment_set_status(comments=queryset, status=status, by=request.user)
        noun = "comment" if changed == 1 else "comments"
        modeladmin.message_user(request, f"{verb} {changed} {noun}.", messages.SUCCESS)

    action.__name__ = name
    return admin.action(description=description, permissions=["moderate"])(action)


@admin.register(Comment)
class CommentAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ("desk/lists.css",)}

    list_display = ("author_column", "comment_column", "in_response_to", "status", "date")
    list_display_links = None  # the author column holds a mailto link; "Edit" is a row action
    list_filter = (CommentStatusFilter,)
    list_select_related = ("post", "parent")
    search_fields = ("author_name", "author_email", "body", "post__title")
    ordering = ("-created_at", "-id")
    date_hierarchy = "created_at"
    fields = (
        "post", "parent", "user", "author_name", "author_email", "author_url", "body", "status",
        "ip_address", "user_agent", "created_at",
    )  # fmt: skip
    readonly_fields = ("post", "parent", "user", "ip_address", "user_agent", "created_at")
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}
    actions = (
        _moderation("approve", Comment.Status.APPROVED, "Approve", "Approved"),
        _moderation("hold", Comment.Status.PENDING, "Unapprove (hold for moderation)", "Held"),
        _moderation("mark_spam", Comment.Status.SPAM, "Mark as spam", "Marked as spam"),
        _moderation("move_to_trash", Comment.Status.TRASH, "Move to the Trash", "Trashed"),
    )

    def has_moderate_permission(self, request) -> bool:
        return request.user.has_perm("blog.moderate_comments")

    def has_module_permission(self, request):
        return self.has_moderate_permission(request) and super().has_module_permission(request)

    def has_view_permission(self, request, obj=None):
        return self.has_moderate_permission(request) and super().has_view_permission(request, obj)

    def has_change_permission(self, request, obj=None):
        allowed = super().has_change_permission(request, obj)
        return self.has_moderate_permission(request) and allowed

    def has_add_permission(self, request):
        return False  # comments come from the site

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        services.comment_update(comment=obj, by=request.user)

    # The columns.
    @admin.display(description="Author", ordering="author_name")
    def author_column(self, obj):
        return format_html(
            '<strong class="desk-comment-author">{}</strong>{}'
            '<span class="desk-muted desk-small">{}</span>',
            obj.author_name,
            _email_link(obj.author_email),
            obj.ip_address or "",
        )

    @admin.display(description="Comment")
    def comment_column(self, obj):
        text = Truncator(strip_tags(obj.body_html)).words(EXCERPT_WORDS, truncate=" …")
        reply = ""
        if obj.parent_id:
            reply = format_html(
                '<p class="desk-muted desk-small">In reply to {}.</p>', obj.parent.author_name
            )
        buttons = [
            (reverse("admin:dashboard_moderate", args=[obj.pk, key]), label)
            for key, label in ROW_ACTIONS
            if obj.status != MODERATION[key][0]
        ]
        edit = reverse("admin:blog_comment_change", args=[obj.pk])
        return format_html(
            # On a phone the author, post and date columns give way: the cell names them.
            '<p class="desk-narrow-only"><strong>{}</strong> {}</p>'
            '<p class="desk-comment-excerpt">{}</p>{}'
            '<p class="desk-narrow-only desk-small">{} · {}</p>{}',
            obj.author_name,
            _email_link(obj.author_email),
            text,
            reply,
            self.in_response_to(obj),
            self.date(obj),
            row_actions(links=[(edit, "Edit")], buttons=buttons),
        )

    @admin.display(description="In response to", ordering="post__title")
    def in_response_to(self, obj):
        post = obj.post
        url = reverse(f"admin:blog_{post.kind}_change", args=[post.pk])
        return format_html('<a href="{}">{}</a>', url, post.title or "(no title)")

    @admin.display(description="Submitted", ordering="created_at")
    def date(self, obj):
        return date_format(timezone.localtime(obj.created_at), "SHORT_DATETIME_FORMAT")
