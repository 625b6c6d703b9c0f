"""The SQS task backend: one SQS message per django-tasks task.

The web tier enqueues; the worker tier runs the message, either as an Elastic
Beanstalk worker environment (the daemon POSTs the body to /worker/) or with
`manage.py run_worker` (blog/worker_loop.py). Both decode the body in
blog/worker.py, so the message format lives here and there only:

    {"v": 1, "id": "<task result id>", "task": "blog.tasks.notify_comment",
     "args": [...], "kwargs": {...}, "enqueued_at": "<ISO 8601 UTC>", "queue": "default"}

and a `task` message attribute (the task's import path) so the daemon hands it to
us as `X-Aws-Sqsd-Attr-task` and a console user can see what a message is without
decoding it. FIFO queues (URL ending in `.fifo`) get the task path as message
group and the task id as deduplication id: a retried enqueue is sent once.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.utils import timezone
from django_tasks import TaskResult, TaskResultStatus
from django_tasks.backends.base import BaseTaskBackend
from django_tasks.signals import task_enqueued
from django_tasks.utils import get_random_id

logger = logging.getLogger(__name__)

MESSAGE_VERSION = 1
_clients: dict[tuple[str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


class QueueUnavailable(Exception):
    """SQS refused or could not be reached; the message was not sent."""


def sqs_client():
    """The process's SQS client, created on first use.

    Endpoint and region come from settings, else from the environment as boto3
    reads it, so tests (AWS_ENDPOINT_URL → moto) and instances (IMDS region)
    need no code. One client per endpoint: boto3 clients are thread-safe, but
    creating one is slow (tens of ms) and not.
    """
    endpoint = settings.AWS_ENDPOINT_URL or os.environ.get("AWS_ENDPOINT_URL") or None
    region = (
        settings.AWS_REGION
        or os.environ.get("AWS_REGION")
        or os.environ.get("AWS_DEFAULT_REGION")
        or None
    )
    key = (endpoint, region)
    client = _clients.get(key)
    if client is None:
        with _clients_lock:
            client = _clients.get(key)
            if client is None:
                # Short timeouts: an enqueue runs inside a web request, and the worker's
                # long poll (at most 20 s) must fit inside the read timeout.
                config = Config(
                    connect_timeout=2,
                    read_timeout=25,
                    retries={"max_attempts": 3, "mode": "standard"},
                )
                client = boto3.client(
                    "sqs", endpoint_url=endpoint, region_name=region, config=config
                )
                _clients[key] = client
    return client


def is_fifo(queue_url: str) -> bool:
    return queue_url.endswith(".fifo")


def encode_message(
    *, task_path: str, task_id: str, args: list, kwargs: dict, queue: str, enqueued_at
) -> str:
    return json.dumps(
        {
            "v": MESSAGE_VERSION,
            "id": task_id,
            "task": task_path,
            "args": args,
            "kwargs": kwargs,
            "enqueued_at": enqueued_at.isoformat(),
            "queue": queue,
        },
        separators=(",", ":"),
    )


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
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured("TASKS_BACKEND=sqs needs WORKER_QUEUE_URL")

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
        try:
            sqs_client().send_message(**request)
        except (ClientError, BotoCoreError) as exc:
            raise QueueUnavailable(
                f"could not send {task.module_path} to {self.queue_url}: {exc}"
            ) from exc
        task_enqueued.send(type(self), task_result=result)
        return result
