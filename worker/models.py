"""The task tier's records: what the worker ran, and what waits to be sent to SQS."""

from __future__ import annotations

from django.db import models
from django.urls import reverse
from django.utils import timezone


class TaskRun(models.Model):
    """One queued job as the worker tier saw it: the admin's view of queue health.

    Keyed by the SQS message id, which is also the idempotency key: a message
    delivered again after it succeeded (or was rejected) is acknowledged without
    running it twice (worker/jobs.py).
    """

    class State(models.TextChoices):
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        # Raised: the message goes back to the queue and is retried, then dead-lettered.
        FAILED = "failed", "Failed (will be retried)"
        # Could never run (malformed body, unknown task): acknowledged so it cannot loop.
        REJECTED = "rejected", "Rejected"

    message_id = models.CharField(max_length=128, unique=True)
    # The enqueuer's task id, the second idempotency key: the outbox may send one task
    # twice (two messages, two message ids). NULL, not "", for periodic jobs, which have
    # none, so that the unique index ignores them.
    task_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    task_path = models.CharField(max_length=255, blank=True)
    periodic_name = models.CharField(max_length=100, blank=True)
    source = models.CharField(max_length=20, help_text="endpoint (sqsd) or run_worker")
    state = models.CharField(max_length=10, choices=State.choices, default=State.RUNNING)
    attempts = models.PositiveIntegerField(default=0)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        # Born in the blog app (migration blog 0004); the table keeps its name.
        db_table = "blog_taskrun"
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        indexes = [models.Index(fields=["state", "started_at"], name="taskrun_state_idx")]

    def __str__(self) -> str:
        return f"{self.periodic_name or self.task_path or '?'} ({self.state})"

    def get_absolute_url(self) -> str:
        return reverse("admin:worker_taskrun_change", args=[self.pk])


class OutboxMessage(models.Model):
    """A task message written in the enqueueing transaction, deleted once SQS has it.

    The transactional outbox (worker/outbox.py): the row commits or rolls back with the
    write that wanted the job, so a job exists iff that write does. A process's sender
    thread sends it after commit; the sweeper (`flush_outbox`, run_worker, cron) resends
    what nobody sent. Holds exactly what the SQS backend would send.
    """

    task_id = models.CharField(max_length=64, unique=True)
    task_path = models.CharField(max_length=255)
    queue_url = models.CharField(max_length=1024)
    body = models.TextField()
    attributes = models.JSONField(default=dict, help_text="SQS MessageAttributes")
    group_id = models.CharField(max_length=128, blank=True, help_text="FIFO MessageGroupId")
    deduplication_id = models.CharField(max_length=128, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    attempts = models.PositiveIntegerField(default=0, help_text="failed sends so far")
    last_error = models.TextField(blank=True)

    class Meta:
        # Born in the blog app (migration blog 0006); the table keeps its name.
        db_table = "blog_outboxmessage"
        ordering = ["created_at", "id"]
        get_latest_by = "created_at"

    def __str__(self) -> str:
        return f"{self.task_path} {self.task_id}"

    def get_absolute_url(self) -> str:
        return reverse("admin:worker_taskrun_changelist")
