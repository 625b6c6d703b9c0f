"""Task runs in the admin: is the queue healthy? (read-only; the worker writes them)."""

from __future__ import annotations

from datetime import timedelta

from django.contrib import admin
from django.utils import timezone
from django.utils.text import Truncator

from worker.models import OutboxMessage, TaskRun
from worker.outbox import outbox_backlog


class _RecentFilter(admin.SimpleListFilter):
    title = "started"
    parameter_name = "within"

    def lookups(self, request, model_admin):
        return [("1h", "Last hour"), ("24h", "Last 24 hours"), ("7d", "Last 7 days")]

    def queryset(self, request, queryset):
        spans = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}
        span = spans.get(self.value())
        return queryset.filter(started_at__gte=timezone.now() - span) if span else queryset


@admin.register(TaskRun)
class TaskRunAdmin(admin.ModelAdmin):
    list_display = (
        "job",
        "state",
        "attempts",
        "duration",
        "started_at",
        "source",
        "short_error",
    )
    list_filter = ("state", _RecentFilter, "source", "periodic_name")
    search_fields = ("message_id", "task_path", "periodic_name", "task_id")
    date_hierarchy = "started_at"
    list_per_page = 50

    @admin.display(description="job", ordering="task_path")
    def job(self, run: TaskRun) -> str:
        return run.periodic_name or run.task_path or "(unreadable)"

    @admin.display(description="duration", ordering="duration_ms")
    def duration(self, run: TaskRun) -> str:
        return "" if run.duration_ms is None else f"{run.duration_ms} ms"

    @admin.display(description="error")
    def short_error(self, run: TaskRun) -> str:
        return Truncator(run.error.strip().splitlines()[-1] if run.error else "").chars(80)

    def changelist_view(self, request, extra_context=None):
        # The outbox backlog: jobs committed but not yet in SQS (worker/outbox.py).
        backlog = outbox_backlog()
        last_failure = (
            OutboxMessage.objects.filter(attempts__gt=0).order_by("-id").only("last_error").first()
        )
        backlog["failed_sends"] = OutboxMessage.objects.filter(attempts__gt=0).count()
        backlog["last_error"] = last_failure.last_error if last_failure else ""
        return super().changelist_view(request, {**(extra_context or {}), "outbox": backlog})

    # The record is the worker's: nobody edits history.
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
