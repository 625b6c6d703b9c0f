"""The SQS task backend: one SQS message per django-tasks task (worker/sqs.py).

With the outbox (OPTIONS["outbox"], WORKER_OUTBOX, on by default) enqueue does not
call SQS: it writes that same message into an outbox row in the caller's transaction,
and a background sender sends it after commit (worker/outbox.py).
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone
from django_tasks import TaskResult, TaskResultStatus
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.signals import task_enqueued
from django_tasks.utils import get_random_id

from worker.outbox import outbox_write
from worker.sqs import encode_message, is_fifo, sqs_client


class QueueUnavailable(Exception):
    """SQS refused or could not be reached; the message was not sent."""


class SQSBackend(BaseTaskBackend):
    """Sends each task to the SQS queue in OPTIONS["queue_url"] (WORKER_QUEUE_URL)."""

    # SQS has no priorities and its delay stops at 15 minutes: neither is offered.
    supports_defer = False
    supports_priority = False
    supports_get_result = False
    supports_async_task = True

    def __init__(self, alias: str, params: dict) -> None:
        super().__init__(alias, params)
        self.queue_url = self.options.get("queue_url") or ""
        if not self.queue_url:
            raise ImproperlyConfigured("TASKS_BACKEND=sqs needs WORKER_QUEUE_URL")
        self.outbox = bool(self.options.get("outbox", False))

    @property
    def transactional(self) -> bool:
        """True when enqueue writes in the caller's transaction (enqueue_on_commit)."""
        return self.outbox

    def enqueue(self, task, args, kwargs) -> TaskResult:
        self.validate_task(task)
        result = TaskResult(
            task=task,
            id=get_random_id(),
            status=TaskResultStatus.READY,
            enqueued_at=timezone.now(),
            started_at=None,
            last_attempted_at=None,
            finished_at=None,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            errors=[],
            worker_ids=[],
        )
        body = encode_message(
            task_path=task.module_path,
            task_id=result.id,
            # TaskResult normalised these to JSON types: what is sent is what runs.
            args=result.args,
            kwargs=result.kwargs,
            queue=task.queue_name,
            enqueued_at=result.enqueued_at,
        )
        request: dict[str, Any] = {
            "QueueUrl": self.queue_url,
            "MessageBody": body,
            "MessageAttributes": {
                "task": {"DataType": "String", "StringValue": task.module_path},
            },
        }
        if is_fifo(self.queue_url):
            request["MessageGroupId"] = task.module_path
            request["MessageDeduplicationId"] = result.id
        if self.outbox:
            outbox_write(
                task_id=result.id,
                task_path=task.module_path,
                queue_url=self.queue_url,
                body=body,
                attributes=request["MessageAttributes"],
                group_id=request.get("MessageGroupId", ""),
                deduplication_id=request.get("MessageDeduplicationId", ""),
            )
            task_enqueued.send(type(self), task_result=result)
            return result
        try:
            sqs_client().send_message(**request)
        except (ClientError, BotoCoreError) as exc:
            raise QueueUnavailable(
                f"could not send {task.module_path} to {self.queue_url}: {exc}"
            ) from exc
        task_enqueued.send(type(self), task_result=result)
        return result
