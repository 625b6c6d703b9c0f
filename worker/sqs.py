"""The SQS side of the task tier: the process's client and the message format.

The web tier enqueues; the worker tier runs the message, either as an Elastic
Beanstalk worker environment (the daemon POSTs the body to /worker/) or with
`manage.py run_worker` (worker/consumer.py). Both decode the body in worker/jobs.py,
so the message format lives here and there only:

    {"v": 1, "id": "<task result id>", "task": "blog.tasks.notify_comment",
     "args": [...], "kwargs": {...}, "enqueued_at": "<ISO 8601 UTC>", "queue": "default"}

and a `task` message attribute (the task's import path) so the daemon hands it to
us as `X-Aws-Sqsd-Attr-task` and a console user can see what a message is without
decoding it. FIFO queues (URL ending in `.fifo`) get the task path as message
group and the task id as deduplication id: a retried enqueue is sent once.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import boto3
from botocore.config import Config
from django.conf import settings

import awsenv

MESSAGE_VERSION = 1
_clients: dict[tuple[str | None, str | None], Any] = {}
_clients_lock = threading.Lock()


def sqs_client():
    """The process's SQS client, created on first use.

    Endpoint and region come from the environment (awsenv), so tests
    (AWS_ENDPOINT_URL → moto) and instances (IMDS region) need no code. One client
    per endpoint: boto3 clients are thread-safe, but creating one is slow (tens of
    ms) and not.
    """
    options = awsenv.client_options()
    key = (options["endpoint_url"], options["region_name"])
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
                client = boto3.client("sqs", config=config, **options)
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


def queue_check() -> str:
    """The readiness check of the queue (/readyz): its depth, or the error."""
    attributes = sqs_client().get_queue_attributes(
        QueueUrl=settings.WORKER_QUEUE_URL,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return (
        f"sqs reachable: {attributes['ApproximateNumberOfMessages']} waiting, "
        f"{attributes['ApproximateNumberOfMessagesNotVisible']} in flight"
    )
