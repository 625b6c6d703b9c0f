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

from django.conf import settings

import awsenv

MESSAGE_VERSION = 1


def sqs_client():
    """The process's SQS client (awsenv: endpoint and region from the environment, so tests
    reach moto and instances their region with no code)."""
    # Short timeouts: an enqueue runs inside a web request, and the worker's long poll
    # (at most 20 s) must fit inside the read timeout.
    return awsenv.client(
        "sqs",
        connect_timeout=2,
        read_timeout=25,
        retries={"max_attempts": 3, "mode": "standard"},
    )


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
