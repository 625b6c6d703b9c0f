"""Autosave and the post lock in the editor (blog/services/editing.py; static/desk/autosave.js).

`autosave/` (no post yet): the first autosave of "Add post" creates the post as a draft
(services.post_autodraft) and answers its URLs; the editor then carries on as on that
draft's change form. `<pk>/autosave/`: GET answers the writer's pending autosave (to
restore it), POST keeps the editor's unsaved text (when sent) and renews the lock,
answering who else holds it. Opening the change form takes the lock unless someone else
has the post open; then the form says who, with "Take over" (`?take-over=1`), as WordPress does.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, JsonResponse
from django.urls import path, reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from blog import services
from blog.models import Post

AUTOSAVE_SECONDS = 60


def _name(user) -> str:
    return user.get_full_name() or user.get_username()


def _autosave_json(autosave) -> dict:
    return {
        "title": autosave.title,
        "body": autosave.body,
        "excerpt": autosave.excerpt,
        "saved_at": timezone.localtime(autosave.saved_at).isoformat(),
    }


class AutosaveViewsMixin:
    autosave_seconds = AUTOSAVE_SECONDS

    def _autosave_name(self, suffix: str = "") -> str:
        return f"{self.opts.app_label}_{self.opts.model_name}_autosave{suffix}"

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path(
                "autosave/",
                wrap(require_POST(self.autodraft_view)),
                name=self._autosave_name("_new"),
            ),
            path("<int:object_id>/autosave/", wrap(self.autosave_view), name=self._autosave_name()),
            *super().get_urls(),
        ]

    def autodraft_view(self, request):
        if not self.has_add_permission(request):
            return JsonResponse({"error": "You may not create this."}, status=403)
        try:
            post = services.post_autodraft(
                kind=self.kind,
                by=request.user,
                title=request.POST.get("title", ""),
                body=request.POST.get("body", ""),
                excerpt=request.POST.get("excerpt", ""),
                body_format=request.POST.get("body_format", Post.Format.MARKDOWN),
            )
        except PermissionDenied as exc:
            return JsonResponse({"error": str(exc) or "You may not create this."}, status=403)
        except ValidationError as exc:
            return JsonResponse({"error": " ".join(exc.messages)}, status=400)
        opts = self.opts
        return JsonResponse(
            {
                "id": post.pk,
                "saved_at": timezone.localtime(post.updated_at).isoformat(),
                "change_url": reverse(
                    f"admin:{opts.app_label}_{opts.model_name}_change", args=[post.pk]
                ),
                "autosave_url": reverse(f"admin:{self._autosave_name()}", args=[post.pk]),
                "locked_by": None,
            },
            status=201,
        )

    def autosave_view(self, request, object_id):
        post = self.get_object(request, str(object_id))
        if post is None:
            raise Http404("No such post")
        if not self.has_change_permission(request, post):
            return JsonResponse({"error": "You may not edit this."}, status=403)
        if request.method == "GET":
            autosave = services.autosave_pending(post=post, by=request.user)
            return JsonResponse({"autosave": _autosave_json(autosave) if autosave else None})
        if request.method != "POST":
            return JsonResponse({"error": "GET or POST."}, status=405)
        saved = None
        if "body" in request.POST:
            saved = services.autosave_write(
                post=post,
                by=request.user,
                title=request.POST.get("title", ""),
                body=request.POST["body"],
                excerpt=request.POST.get("excerpt", ""),
            )
        holder = services.post_lock_take(post=post, by=request.user)
        return JsonResponse(
            {
                "saved_at": timezone.localtime(saved.saved_at).isoformat() if saved else None,
                "locked_by": _name(holder) if holder else None,
            }
        )

    def desk_context(self, request, obj) -> dict:
        """The change form's autosave and lock state; opening the form takes the lock."""
        if obj is None or obj.pk is None:
            if not self.has_add_permission(request):
                return {}
            return {
                "autosave_url": reverse(f"admin:{self._autosave_name('_new')}"),
                "autosave_new": True,
                "autosave_seconds": self.autosave_seconds,
            }
        if not self.has_change_permission(request, obj):
            return {}
        take_over = request.method == "GET" and request.GET.get("take-over") == "1"
        holder = None
        if request.method == "GET":
            holder = services.post_lock_take(post=obj, by=request.user, take_over=take_over)
        autosave = services.autosave_pending(post=obj, by=request.user)
        return {
            "autosave_url": reverse(f"admin:{self._autosave_name()}", args=[obj.pk]),
            "autosave_seconds": self.autosave_seconds,
            "pending_autosave": autosave,
            "lock_holder": _name(holder) if holder else None,
        }
