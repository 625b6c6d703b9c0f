"""The dashboard at /admin/: at a glance, comments awaiting moderation (approve, spam, trash
in place), the user's drafts, scheduled posts and a quick draft.

Each panel follows the user's permissions: moderation for those who may moderate, other
people's scheduled posts for those who may edit them, the quick draft for those who may
write. Writes go through blog/services; static/desk/dashboard.js makes them in place.
"""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.text import Truncator
from django.views.decorators.http import require_POST

from blog import services
from blog.models import Comment, Post

PANEL_ROWS = 5
MODERATION = {
    "approve": (Comment.Status.APPROVED, "Approved"),
    "spam": (Comment.Status.SPAM, "Marked as spam"),
    "trash": (Comment.Status.TRASH, "Moved to the Trash"),
}


class QuickDraftForm(forms.Form):
    title = forms.CharField(max_length=300)
    body = forms.CharField(
        label="Content", required=False, widget=forms.Textarea(attrs={"rows": 4})
    )


def _glance(user) -> list[dict]:
    posts = Post.objects.posts()
    rows = [
        {
            "label": "Published posts",
            "count": posts.published().count(),
            "url": reverse("admin:blog_post_changelist") + "?status=publish",
        },
        {
            "label": "Your drafts",
            "count": posts.filter(author=user, status=Post.Status.DRAFT).count(),
            "url": reverse("admin:blog_post_changelist") + "?status=draft",
        },
    ]
    if user.has_perm("blog.view_page"):
        rows.append(
            {
                "label": "Published pages",
                "count": Post.objects.pages().published().count(),
                "url": reverse("admin:blog_page_changelist"),
            }
        )
    if user.has_perm("blog.moderate_comments"):
        comments = Comment.objects.order_by()
        changelist = reverse("admin:blog_comment_changelist")
        rows += [
            {
                "label": "Comments",
                "count": comments.approved().count(),
                "url": f"{changelist}?status=approved",
            },
            {
                "label": "Awaiting moderation",
                "count": comments.filter(status=Comment.Status.PENDING).count(),
                "url": f"{changelist}?status=pending",
            },
        ]
    return rows


def _post_rows(queryset) -> list[dict]:
    return [
        {"post": post, "url": reverse(f"admin:blog_{post.kind}_change", args=[post.pk])}
        for post in queryset[:PANEL_ROWS]
    ]


def dashboard_context(request) -> dict:
    user = request.user
    posts = Post.objects.posts().select_related("author")
    scheduled = posts.filter(status=Post.Status.FUTURE).order_by("published_at")
    if not user.has_perm("blog.edit_others_posts"):
        scheduled = scheduled.filter(author=user)
    context = {
        "title": "Dashboard",
        "glance": _glance(user),
        "drafts": _post_rows(
            posts.filter(author=user, status=Post.Status.DRAFT).order_by("-updated_at")
        ),
        "scheduled": _post_rows(scheduled.filter(published_at__gt=timezone.now())),
        "can_write": services.post_can_create(user=user, kind=Post.Kind.POST),
        "quick_draft": QuickDraftForm(),
    }
    if user.has_perm("blog.moderate_comments"):
        pending = (
            Comment.objects.filter(status=Comment.Status.PENDING)
            .select_related("post")
            .order_by("-created_at")[:PANEL_ROWS]
        )
        context["pending_comments"] = [
            {"comment": c, "excerpt": Truncator(c.body).chars(140)} for c in pending
        ]
        context["moderation_actions"] = [(key, label) for key, (_, label) in MODERATION.items()]
    return context


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


@require_POST
def moderate_view(request, comment_id: int, action: str):
    if action not in MODERATION:
        raise Http404("No such action")
    status, done = MODERATION[action]
    comment = Comment.objects.filter(pk=comment_id).first()
    if comment is None:
        raise Http404("No such comment")
    try:
        services.comment_set_status(comments=[comment], status=status, by=request.user)
    except (PermissionDenied, ValidationError) as exc:
        if _wants_json(request):
            return JsonResponse({"error": str(exc) or "You may not do this."}, status=403)
        raise PermissionDenied(str(exc)) from None
    message = f"{done}: the comment by {comment.author_name}."
    if _wants_json(request):
        pending = Comment.objects.filter(status=Comment.Status.PENDING).count()
        return JsonResponse({"message": message, "pending": pending})
    messages.success(request, message)
    # The comments list's row actions come back to the list, its filters and page kept.
    back = request.headers.get("Referer", "")
    if back and url_has_allowed_host_and_scheme(back, {request.get_host()}, request.is_secure()):
        return redirect(back)
    return redirect("admin:index")


@require_POST
def quick_draft_view(request):
    form = QuickDraftForm(request.POST)
    if not form.is_valid():
        messages.error(request, "A quick draft needs a title.")
        return redirect("admin:index")
    post = Post(
        title=form.cleaned_data["title"],
        body=form.cleaned_data["body"],
        status=Post.Status.DRAFT,
        author=request.user,
    )
    try:
        services.post_write(post=post, by=request.user)
    except (PermissionDenied, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("admin:index")
    messages.success(request, f"Draft “{post.title}” saved.")
    return redirect("admin:index")
