"""The task tier's own periodic jobs (cron.yaml): the outbox sweeper and expired sessions.

Idempotent, as every task (DESIGN.md rule 4): a periodic job may fire again before the
last run is acknowledged.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.sessions.models import Session
from django.utils import timezone
from django_tasks import task

from worker.outbox import outbox_flush

logger = logging.getLogger(__name__)


@task
def clear_sessions() -> int:
    """Delete expired sessions (what `clearsessions` does), where the store keeps them."""
    # Redis expires its own keys and a signed cookie is the visitor's to keep. DynamoDB's
    # TTL deletes items, but days late: expired ones are never read (the engine checks).
    if settings.SESSION_STORE == "dynamodb":
        from webtier.sessions_dynamodb import SessionStore

        deleted = SessionStore.clear_expired()
    elif settings.SESSION_STORE in ("db", "cached_db"):
        deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    else:
        return 0
    logger.info("clear-sessions: deleted %d expired sessions", deleted)
    return deleted


@task
def flush_outbox() -> dict[str, int]:
    """Send outbox rows nobody sent (worker/outbox.py); twice sends nothing more."""
    result = outbox_flush()
    return {"sent": result.sent, "failed": result.failed, "waiting": result.waiting}
