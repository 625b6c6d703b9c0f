"""The admin's door to a WordPress import: upload an export (and a zip of uploads/), watch the
worker import it, read the report; the old sites and what each WordPress object became."""

from __future__ import annotations

import uuid

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.core.files.storage import default_storage
from django.db import transaction
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join

from blog import roles
from wordpress.export import wxr_export
from wordpress.importer import CONFLICT_REASON, OUTCOMES, REQUIRED_PERMS
from wordpress.models import ImportedItem, ImportRun, OldSite
from wordpress.tasks import STALE_SECONDS, progress_key, run_is_stalled, run_wordpress_import
from worker.enqueue import enqueue_on_commit

PRIVATE = "private/wordpress-imports/"


def may_import(user) -> bool:
    return user.is_active and all(user.has_perm(p) for p in REQUIRED_PERMS)


class ImportForm(forms.Form):
    export = forms.FileField(
        label="WordPress export (WXR)",
        help_text="The .xml file from Tools → Export → All content, or from wp export.",
    )
    uploads = forms.FileField(
        required=False,
        label="Uploads (zip, optional)",
        help_text="A zip of wp-content/uploads, so the images come too.",
    )
    fetch_media = forms.BooleanField(
        required=False,
        label="Download images the zip does not have from the old site",
    )
    role = forms.ChoiceField(
        choices=[(r, r) for r in roles.ROLES],
        initial=roles.AUTHOR,
        help_text="The role of authors who have no account here yet.",
    )
    permalink_structure = forms.CharField(
        required=False,
        max_length=200,
        help_text="The old site's Settings → Permalinks, e.g. /%year%/%monthnum%/%postname%/, "
        "so its old links redirect here.",
    )
    dry_run = forms.BooleanField(required=False, help_text="Only report what would happen.")

    def clean_uploads(self):
        upload = self.cleaned_data.get("uploads")
        if upload and not upload.name.lower().endswith(".zip"):
            raise forms.ValidationError("Send the uploads folder as a .zip file.")
        return upload


def _resumable(run: ImportRun) -> bool:
    """Interrupted (Ctrl-C, a worker stopping), or running with no heartbeat for long."""
    if not run.stored_file or run.dry_run:
        return False
    return run.status == ImportRun.Status.INTERRUPTED or run_is_stalled(run)


def _store(upload, suffix: str) -> str:
    return default_storage.save(f"{PRIVATE}{uuid.uuid4().hex}{suffix}", upload)


@admin.register(ImportRun)
class ImportRunAdmin(admin.ModelAdmin):
    list_display = ("file_name", "status_display", "dry_run", "progress_display", "created_by",
                    "created_at")  # fmt: skip
    list_filter = ("status", "dry_run")
    view_on_site = False
    change_form_template = "admin/wordpress/importrun/change_form.html"
    change_list_template = "admin/wordpress/importrun/change_list.html"
    fields = ("file_name", "status_display", "dry_run", "progress_display", "report_display",
              "error", "site", "created_by", "created_at", "started_at", "heartbeat_at",
              "finished_at")  # fmt: skip
    readonly_fields = fields

    def has_module_permission(self, request):
        return may_import(request.user)

    def has_view_permission(self, request, obj=None):
        return may_import(request.user)

    def has_add_permission(self, request):
        return may_import(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return may_import(request.user) and (obj is None or obj.status != ImportRun.Status.RUNNING)

    def get_urls(self):
        export = self.admin_site.admin_view(self.export_view)
        resume = self.admin_site.admin_view(self.resume_view)
        return [
            path("export/", export, name="wordpress_export"),
            path("<int:run_id>/resume/", resume, name="wordpress_importrun_resume"),
            *super().get_urls(),
        ]

    def resume_view(self, request, run_id: int):
        """Queue an interrupted or stopped import again; it continues where it stopped."""
        if not may_import(request.user):
            raise PermissionDenied
        if request.method != "POST":
            return redirect("admin:wordpress_importrun_change", run_id)
        with transaction.atomic():
            run = ImportRun.objects.select_for_update().filter(pk=run_id).first()
            if run is None:
                raise Http404("No such import.")
            if not _resumable(run):
                messages.error(request, "This import is not stopped: there is nothing to resume.")
                return redirect("admin:wordpress_importrun_change", run.pk)
            run.status, run.heartbeat_at = ImportRun.Status.QUEUED, timezone.now()
            run.save(update_fields=["status", "heartbeat_at"])
            enqueue_on_commit(run_wordpress_import, run.pk)
        messages.success(request, "The import continues where it stopped.")
        return redirect("admin:wordpress_importrun_change", run.pk)

    def export_view(self, request):
        """The whole site as a WordPress export (WXR 1.2), streamed as it is written."""
        if not may_import(request.user):
            raise PermissionDenied
        base = f"{request.scheme}://{request.get_host()}"
        response = StreamingHttpResponse(
            (piece.encode() for piece in wxr_export(base=settings.SITE_URL or base)),
            content_type="application/rss+xml; charset=utf-8",
        )
        stamp = timezone.now().strftime("%Y-%m-%d")
        response["Content-Disposition"] = f'attachment; filename="cloudblog-{stamp}.xml"'
        return response

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = ImportForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            with transaction.atomic():
                run = ImportRun.objects.create(
                    file_name=data["export"].name[:300],
                    stored_file=_store(data["export"], ".xml"),
                    stored_media=_store(data["uploads"], ".zip") if data["uploads"] else "",
                    options={
                        "role": data["role"],
                        "fetch_media": data["fetch_media"],
                        "permalink_structure": data["permalink_structure"],
                    },
                    dry_run=data["dry_run"],
                    created_by=request.user,
                )
                enqueue_on_commit(run_wordpress_import, run.pk)
            messages.success(request, "The import has started; this page follows it.")
            return redirect(reverse("admin:wordpress_importrun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "title": "Import a WordPress site",
            "form": form,
            "opts": self.model._meta,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/wordpress/importrun/add_form.html", context)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        resumable = run is not None and _resumable(run)
        running = (
            not resumable
            and run is not None
            and run.status
            in (
                ImportRun.Status.QUEUED,
                ImportRun.Status.RUNNING,
            )
        )
        extra = {
            "refresh_seconds": 3 if running else 0,
            "resume_url": (
                reverse("admin:wordpress_importrun_resume", args=[run.pk]) if resumable else ""
            ),
            **(extra_context or {}),
        }
        return super().change_view(request, object_id, form_url, extra)

    @admin.display(description="Status")
    def status_display(self, obj):
        if run_is_stalled(obj):
            minutes = max(1, round(STALE_SECONDS / 60))
            return (
                f"Stopped — resume (no sign of the worker for over {minutes} min; "
                "it continues where it stopped)"
            )
        return obj.get_status_display()

    @admin.display(description="Progress")
    def progress_display(self, obj):
        state = cache.get(progress_key(obj.pk)) or obj.progress or {}
        if obj.status not in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING):
            report = obj.report or {}
            return f"{report.get('done', 0)} of {report.get('total', 0)} records" if report else "—"
        if not state:
            return "waiting for a worker" if obj.status == ImportRun.Status.QUEUED else "starting"
        total = state.get("total") or 0
        share = round(100 * state.get("done", 0) / total) if total else 0
        return format_html(
            '<progress max="100" value="{}">{}%</progress> {} of {} records, {} a second ({})',
            share, share, state.get("done", 0), total, state.get("rate", 0),
            state.get("phase", ""),
        )  # fmt: skip

    @admin.display(description="Report")
    def report_display(self, obj):
        report = obj.report or {}
        if not report.get("counts"):
            return "—"
        header = format_html_join("", "<th>{}</th>", ((o,) for o in OUTCOMES))
        rows = format_html_join(
            "",
            "<tr><th>{}</th>" + "<td>{}</td>" * len(OUTCOMES) + "</tr>",
            ((kind, *(c[o] for o in OUTCOMES)) for kind, c in report["counts"].items()),
        )
        notes = format_html_join(
            "", "<li>{} ({})</li>", ((t, n) for t, n in report.get("notes", {}).items())
        )
        failures = format_html_join(
            "",
            "<li>{} {} “{}”: {}</li>",
            ((f["kind"], f["wp_id"], f["title"], f["reason"]) for f in report.get("failures", [])),
        )
        conflicts = format_html_join(
            "",
            "<li>Conflict: {} {} “{}”: {}</li>",
            ((c["kind"], c["wp_id"], c["title"], CONFLICT_REASON)
             for c in report.get("conflicts", [])),
        )  # fmt: skip
        return format_html(
            "<table><tr><th></th>{}</tr>{}</table><ul>{}</ul><ul class='errorlist'>{}{}</ul>",
            header, rows, notes, failures, conflicts,
        )  # fmt: skip


@admin.register(OldSite)
class OldSiteAdmin(admin.ModelAdmin):
    list_display = ("url", "title", "permalink_structure", "created_at")
    view_on_site = False
    fields = ("url", "title", "permalink_structure")
    readonly_fields = ("url", "title")
    search_fields = ("url", "title")

    def has_module_permission(self, request):
        return may_import(request.user)

    def has_view_permission(self, request, obj=None):
        return may_import(request.user)

    def has_change_permission(self, request, obj=None):
        return may_import(request.user)

    def has_add_permission(self, request):
        return False


@admin.register(ImportedItem)
class ImportedItemAdmin(admin.ModelAdmin):
    list_display = ("kind", "wp_id", "old_slug", "old_path", "site", "imported_at")
    list_filter = ("kind", "site")
    search_fields = ("old_slug", "old_path", "guid")
    list_select_related = ("site",)
    view_on_site = False

    def has_module_permission(self, request):
        return may_import(request.user)

    def has_view_permission(self, request, obj=None):
        return may_import(request.user)

    def has_change_permission(self, request, obj=None):
        return False

    def has_add_permission(self, request):
        return False


# Application passwords on the user's page live in their own module; importing it
# registers them.
from wordpress import admin_app_passwords  # noqa: E402, F401
