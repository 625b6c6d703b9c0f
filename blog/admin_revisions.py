"""Revision history in the admin: list a post's revisions, compare two, restore one.

Mixed into the post and page admins, so the URLs hang under the object's own
admin URL and follow its permissions: whoever may edit the post may see its
history; restoring is a change and needs the change permission. The Revision
model itself gets a read-only admin (its get_absolute_url points there).
"""

from __future__ import annotations

import difflib

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html

from blog import services
from blog.models import Post, Revision

COMPARED_FIELDS = (("title", "Title"), ("excerpt", "Excerpt"), ("body", "Body"))


def _diff_lines(old: str, new: str) -> list[tuple[str, str]]:
    """(kind, text) pairs of a unified line diff; the template escapes the text."""
    diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm="", n=3))
    # Only the first two lines are the ---/+++ header: a body line "--" removed reads "---".
    marks = {"+": "added", "-": "removed", "@": "hunk"}
    return [(marks.get(line[:1], "same"), line) for line in diff[2:]]


def content_diff(old, new) -> list[dict]:
    """Per field, what changed between two things with title/body/excerpt (revision or post)."""
    fields = [
        {"label": label, "lines": _diff_lines(getattr(old, name) or "", getattr(new, name) or "")}
        for name, label in COMPARED_FIELDS
    ]
    if old.body_format != new.body_format:
        fields.append(
            {
                "label": "Format",
                "lines": [("removed", f"-{old.body_format}"), ("added", f"+{new.body_format}")],
            }
        )
    return fields


def _describe(revision) -> str:
    when = timezone.localtime(revision.created_at)
    who = revision.author.get_username() if revision.author else "someone"
    return f"revision of {when:%Y-%m-%d %H:%M:%S} by {who}"


class RevisionViewsMixin:
    """Adds <pk>/revisions/, <pk>/revisions/<id>/ (compare) and .../restore/ (POST)."""

    def _admin_url(self, name: str, *args) -> str:
        info = self.opts.app_label, self.opts.model_name
        return reverse("admin:{}_{}_{}".format(*info, name), args=args)

    def get_urls(self):
        info = self.opts.app_label, self.opts.model_name
        wrap = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/revisions/",
                wrap(self.revisions_view),
                name="{}_{}_revisions".format(*info),
            ),
            path(
                "<int:object_id>/revisions/<int:revision_id>/",
                wrap(self.revision_compare_view),
                name="{}_{}_revision_compare".format(*info),
            ),
            path(
                "<int:object_id>/revisions/<int:revision_id>/restore/",
                wrap(self.revision_restore_view),
                name="{}_{}_revision_restore".format(*info),
            ),
            *super().get_urls(),
        ]

    def _post_or_403(self, request, object_id, *, change: bool = False):
        post = self.get_object(request, str(object_id))
        if post is None:
            raise Http404("No such post")
        allowed = self.has_change_permission if change else self.has_view_permission
        if not allowed(request, post):
            raise PermissionDenied
        return post

    def _revision_context(self, request, post, title: str) -> dict:
        return {
            **self.admin_site.each_context(request),
            "title": title,
            "subtitle": str(post),
            "opts": self.opts,
            "original": post,
            "change_url": self._admin_url("change", post.pk),
            "revisions_url": self._admin_url("revisions", post.pk),
            "can_restore": self.has_change_permission(request, post),
        }

    def revisions_view(self, request, object_id):
        post = self._post_or_403(request, object_id)
        revisions = list(post.revisions.select_related("author"))
        rows = []
        for index, revision in enumerate(revisions):
            older = revisions[index + 1] if index + 1 < len(revisions) else None
            rows.append(
                {
                    "revision": revision,
                    "compare_current_url": self._admin_url(
                        "revision_compare", post.pk, revision.pk
                    ),
                    "compare_previous_url": older
                    and self._admin_url("revision_compare", post.pk, older.pk)
                    + f"?against={revision.pk}",
                    "restore_url": self._admin_url("revision_restore", post.pk, revision.pk),
                }
            )
        context = {**self._revision_context(request, post, "Revisions"), "rows": rows}
        return TemplateResponse(request, "admin/blog/revision_list.html", context)

    def revision_compare_view(self, request, object_id, revision_id):
        post = self._post_or_403(request, object_id)
        old = get_object_or_404(post.revisions.select_related("author"), pk=revision_id)
        against = request.GET.get("against")
        if against:
            if not against.isdigit():
                raise Http404("No such revision")
            new = get_object_or_404(post.revisions.select_related("author"), pk=against)
            new_label = _describe(new)
        else:
            new, new_label = post, "the current content"
        context = {
            **self._revision_context(request, post, "Compare revisions"),
            "old_label": _describe(old),
            "new_label": new_label,
            "fields": content_diff(old, new),
            "restore_url": self._admin_url("revision_restore", post.pk, old.pk),
            "revision": old,
        }
        return TemplateResponse(request, "admin/blog/revision_compare.html", context)

    def revision_restore_view(self, request, object_id, revision_id):
        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        post = self._post_or_403(request, object_id, change=True)
        revision = get_object_or_404(post.revisions, pk=revision_id)
        try:
            services.revision_restore(revision=revision, by=request.user)
        except ValidationError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return redirect(self._admin_url("revisions", post.pk))
        self.log_change(request, post, f"Restored the {_describe(revision)}.")
        self.message_user(request, f"Restored the {_describe(revision)}.", messages.SUCCESS)
        return redirect(self._admin_url("change", post.pk))


@admin.register(Revision)
class RevisionAdmin(admin.ModelAdmin):
    """Read-only history; compare and restore live on the post's own admin pages."""

    list_display = ("title", "post", "author", "created_at", "compare_link")
    list_select_related = ("post", "author")
    search_fields = ("title", "post__title")
    fields = ("post", "title", "body_format", "excerpt", "body", "author", "created_at")
    readonly_fields = fields

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        user = request.user
        if not user.has_perm("blog.change_page"):
            queryset = queryset.exclude(post__kind=Post.Kind.PAGE)
        if not user.has_perm("blog.edit_others_posts"):
            queryset = queryset.filter(Q(post__author=user) | Q(post__kind=Post.Kind.PAGE))
        return queryset

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        allowed = super().has_view_permission(request, obj)
        return allowed and (obj is None or services.post_can_edit(user=request.user, post=obj.post))

    @admin.display(description="Compare")
    def compare_link(self, obj):
        url = reverse(f"admin:blog_{obj.post.kind}_revision_compare", args=[obj.post_id, obj.pk])
        return format_html('<a href="{}">Compare with current</a>', url)
