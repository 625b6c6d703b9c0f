"""The local cluster's queue: a moto server standing in for SQS, with a work queue and
its dead-letter queue, and what `status` reports about them.

moto keeps its state in memory: a killed `sqs` loses every queued message (real SQS
keeps them), so `start sqs` makes the queues again, empty. The work queue's
visibility timeout is the cluster's `--queue-visibility`; the worker's
WORKER_TASK_TIME_LIMIT is set just below it (ops.cluster_run.app_env), so a job
whose worker was killed is taken over as soon as its message comes back.
"""

from __future__ import annotations

import json
import sys

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from ops.cluster_state import HOST, Cluster

QUEUE = "cloudblog-jobs"
DEAD_LETTERS = "cloudblog-jobs-dlq"
# Receives before a message moves to the dead-letter queue (a job that keeps failing).
MAX_RECEIVES = 5
# moto's default account: queue URLs are http://host:port/<account>/<name>.
ACCOUNT = "123456789012"
REGION = "us-east-1"


class QueueError(Exception):
    """moto did not answer as SQS would."""


def endpoint(cluster: Cluster) -> str:
    return f"http://{HOST}:{cluster.port('sqs')}"


def queue_url(cluster: Cluster, name: str = QUEUE) -> str:
    return f"{endpoint(cluster)}/{ACCOUNT}/{name}"


def environment(cluster: Cluster) -> dict[str, str]:
    """What the app (and boto3 in it) needs to use the cluster's queue: dummy keys only."""
    return {
        "AWS_ENDPOINT_URL": endpoint(cluster),
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ACCESS_KEY_ID": "cluster",
        "AWS_SECRET_ACCESS_KEY": "cluster",
        # Nothing from the operator's own AWS configuration may leak in.
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
    }


def server_argv(cluster: Cluster) -> list[str]:
    return [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(cluster.port("sqs"))]


def _client(cluster: Cluster):
    keys = environment(cluster)
    return boto3.client(
        "sqs",
        endpoint_url=keys["AWS_ENDPOINT_URL"],
        region_name=REGION,
        aws_access_key_id=keys["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=keys["AWS_SECRET_ACCESS_KEY"],
        config=Config(connect_timeout=1, read_timeout=3, retries={"max_attempts": 1}),
    )


def ping(cluster: Cluster) -> bool:
    try:
        _client(cluster).list_queues()
    except (BotoCoreError, ClientError):
        return False
    return True


def create_queues(cluster: Cluster) -> str:
    """The work queue with its redrive policy, and the dead-letter queue; idempotent."""
    client = _client(cluster)
    try:
        dlq = client.create_queue(QueueName=DEAD_LETTERS)["QueueUrl"]
        dlq_arn = client.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])[
            "Attributes"
        ]["QueueArn"]
        url = client.create_queue(
            QueueName=QUEUE,
            Attributes={
                "VisibilityTimeout": str(cluster.settings.queue_visibility),
                "RedrivePolicy": json.dumps(
                    {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(MAX_RECEIVES)}
                ),
            },
        )["QueueUrl"]
    except (BotoCoreError, ClientError) as exc:
        raise QueueError(f"could not create the queues on {endpoint(cluster)}: {exc}") from exc
    if url != queue_url(cluster):
        raise QueueError(f"moto named the queue {url}, expected {queue_url(cluster)}")
    return url


def depth(cluster: Cluster) -> dict:
    """Messages waiting, being worked on, and dead-lettered; an "error" when unreachable."""
    client = _client(cluster)
    names = ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    try:
        work = client.get_queue_attributes(QueueUrl=queue_url(cluster), AttributeNames=names)
        dead = client.get_queue_attributes(
            QueueUrl=queue_url(cluster, DEAD_LETTERS), AttributeNames=names
        )
    except (BotoCoreError, ClientError) as exc:
        return {"url": queue_url(cluster), "error": str(exc)}
    counts = work["Attributes"]
    return {
        "url": queue_url(cluster),
        "visible": int(counts["ApproximateNumberOfMessages"]),
        "in_flight": int(counts["ApproximateNumberOfMessagesNotVisible"]),
        "dead_letters": int(dead["Attributes"]["ApproximateNumberOfMessages"]),
    }
