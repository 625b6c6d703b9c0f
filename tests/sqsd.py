"""SQS queues in moto, and a stand-in for the Elastic Beanstalk worker daemon (sqsd).

moto has no Beanstalk worker environment, so `Daemon` does what sqsd does, as AWS
documents it: receive a message, POST its body to /worker/ with the X-Aws-Sqsd-*
headers, delete the message on a 200 and otherwise let it come back after the
error visibility timeout (0 here, so tests need not wait).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from worker.sqs import sqs_client


@dataclass
class Queues:
    url: str
    dlq_url: str
    max_receives: int

    def counts(self, url: str | None = None) -> tuple[int, int]:
        """(visible, in flight) messages in the queue (the main one by default)."""
        attributes = sqs_client().get_queue_attributes(
            QueueUrl=url or self.url,
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return (
            int(attributes["ApproximateNumberOfMessages"]),
            int(attributes["ApproximateNumberOfMessagesNotVisible"]),
        )

    def receive(self, url: str | None = None, wait: int = 0) -> dict | None:
        messages = (
            sqs_client()
            .receive_message(
                QueueUrl=url or self.url,
                MaxNumberOfMessages=1,
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            )
            .get("Messages", [])
        )
        return messages[0] if messages else None


def make_queues(
    name: str = "jobs", *, max_receives: int = 3, visibility: int = 30, fifo: bool = False
) -> Queues:
    client = sqs_client()
    suffix = ".fifo" if fifo else ""
    fifo_attributes = {"FifoQueue": "true"} if fifo else {}
    dlq_url = client.create_queue(QueueName=f"{name}-dlq{suffix}", Attributes=fifo_attributes)[
        "QueueUrl"
    ]
    dlq_arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    url = client.create_queue(
        QueueName=f"{name}{suffix}",
        Attributes={
            **fifo_attributes,
            "VisibilityTimeout": str(visibility),
            "RedrivePolicy": json.dumps(
                {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": str(max_receives)}
            ),
        },
    )["QueueUrl"]
    return Queues(url=url, dlq_url=dlq_url, max_receives=max_receives)


def use_sqs(settings, queues: Queues) -> None:
    """Point the default task backend at `queues` (settings fixture: undone after the test)."""
    settings.WORKER_QUEUE_URL = queues.url
    settings.TASKS = {
        "default": {
            "BACKEND": "worker.backends.SQSBackend",
            "OPTIONS": {"queue_url": queues.url},
        }
    }


def sqsd_headers(message: dict, queue_name: str = "jobs") -> dict[str, str]:
    """The headers sqsd sends with a message, as Django's test client takes them."""
    attributes = message.get("Attributes", {})
    headers = {
        "HTTP_USER_AGENT": "aws-sqsd/3.0.4",
        "HTTP_X_AWS_SQSD_MSGID": message["MessageId"],
        "HTTP_X_AWS_SQSD_QUEUE": queue_name,
        "HTTP_X_AWS_SQSD_RECEIVE_COUNT": attributes.get("ApproximateReceiveCount", "1"),
        "HTTP_X_AWS_SQSD_FIRST_RECEIVED_AT": attributes.get("ApproximateFirstReceiveTimestamp", ""),
    }
    for name, value in message.get("MessageAttributes", {}).items():
        if "StringValue" in value:
            key = f"HTTP_X_AWS_SQSD_ATTR_{name.upper().replace('-', '_')}"
            headers[key] = value["StringValue"]
    return headers


class Daemon:
    """One sqsd polling `queues` and posting to /worker/ through `client`."""

    def __init__(self, client, queues: Queues, path: str = "/worker/") -> None:
        self.client, self.queues, self.path = client, queues, path

    def post(self, message: dict, **extra):
        return self.client.post(
            self.path,
            data=message["Body"],
            content_type="application/json",
            **{**sqsd_headers(message), **extra},
        )

    def deliver_one(self, **extra):
        """Receive one message and hand it over; None when the queue is empty."""
        message = self.queues.receive()
        if message is None:
            return None
        response = self.post(message, **extra)
        if response.status_code == 200:
            sqs_client().delete_message(
                QueueUrl=self.queues.url, ReceiptHandle=message["ReceiptHandle"]
            )
        else:
            # ErrorVisibilityTimeout: offered again (0 s here instead of sqsd's 2 s).
            sqs_client().change_message_visibility(
                QueueUrl=self.queues.url,
                ReceiptHandle=message["ReceiptHandle"],
                VisibilityTimeout=0,
            )
        return response
