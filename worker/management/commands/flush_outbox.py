"""Send the task outbox's rows that no process sent (worker/outbox.py)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from worker.outbox import outbox_flush


class Command(BaseCommand):
    help = (
        "Send task messages left in the outbox (their process died, or SQS was "
        "unreachable). Exits non-zero when some could not be sent; they stay queued."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than",
            type=float,
            default=settings.WORKER_OUTBOX_RESEND_AFTER,
            help="Only rows at least this many seconds old (default "
            f"WORKER_OUTBOX_RESEND_AFTER, now {settings.WORKER_OUTBOX_RESEND_AFTER}); 0 sends "
            "everything, possibly racing a live sender (harmless: the worker runs a task once).",
        )
        parser.add_argument(
            "--limit", type=int, default=1000, help="At most this many rows (default 1000)."
        )

    def handle(self, *args, older_than, limit, **_):
        if older_than < 0 or limit < 1:
            raise CommandError("--older-than must be 0 or more and --limit at least 1")
        result = outbox_flush(older_than=older_than, limit=limit)
        self.stdout.write(
            f"Sent {result.sent} message(s); {result.failed} failed; "
            f"{result.waiting} left in the outbox."
        )
        if result.failed:
            raise CommandError(f"{result.failed} message(s) not sent: {result.error[:500]}")
