"""Enqueueing from a service: after the write commits, or with it (the outbox)."""

from __future__ import annotations

from django.db import transaction


def enqueue_on_commit(task_obj, *args, **kwargs) -> None:
    """Enqueue once the current transaction commits (at once outside one).

    robust=True: the write the user asked for has committed; a queue that is down
    must not turn it into an error page. The failure is logged with its traceback.

    A transactional backend (SQS with the outbox) enqueues at once instead: its row
    joins the caller's transaction, so the job commits or rolls back with the write.
    """
    if getattr(task_obj.get_backend(), "transactional", False):
        task_obj.enqueue(*args, **kwargs)
        return

    def enqueue() -> None:
        task_obj.enqueue(*args, **kwargs)

    # A named function: Django logs a robust callback's failure by its __qualname__.
    enqueue.__qualname__ = f"enqueue {task_obj.module_path}"
    transaction.on_commit(enqueue, robust=True)
