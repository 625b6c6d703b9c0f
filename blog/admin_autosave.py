"""Autosave and the post lock in the editor (blog/services/editing.py; static/desk/autosave.js).

`<pk>/autosave/`: GET answers the writer's pending autosave (to restore it), POST keeps
the editor's unsaved text (when sent) and renews the lock, answering who else holds it.
Opening the change form takes the lock unless someone else has the post open; then the
form says who, with "Take over" (`?take-over=1`), as WordPress does.
"""

from __future__ import annotations

from django.http import Http404, JsonResponse
from django.urls import path, reverse
from django.utils import timezone

from blog import services

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

    def get_urls(self):
        name = f"{self.opts.app_label}_{self.opts.model_name}_autosave"
        view = self.admin_site.admin_view(self.autosave_view)
        return [path("<int:object_id>/autosave/", view, name=name), *super().get_urls()]

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
        if obj is None or obj.pk is None or not self.has_change_permission(request, obj):
            return {}
        take_over = request.method == "GET" and request.GET.get("take-over") == "1"
        holder = None
        if request.method == "GET":
            holder = services.post_lock_take(post=obj, by=request.user, take_over=take_over)
        autosave = services.autosave_pending(post=obj, by=request.user)
        return {
            "autosave_url": reverse(
                f"admin:{self.opts.app_label}_{self.opts.model_name}_autosave", args=[obj.pk]
            ),
            "autosave_seconds": self.autosave_seconds,
            "pending_autosave": autosave,
            "lock_holder": _name(holder) if holder else None,
        }
