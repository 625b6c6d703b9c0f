"""`manage.py run_worker`: our own SQS consumer, for instances without Beanstalk's daemon.

Same semantics as /worker/, because both call worker.jobs.run_job: a message is
deleted only when its job is done (or is a duplicate, or can never run); a failed
job's message is left to become visible again after `retry_delay` seconds, so SQS
counts the receive and dead-letters it after the queue's maxReceiveCount.

- Concurrency: `concurrency` threads, and never more messages received than there
  are free threads, so a message is never held by a worker that is not running it.
- Long jobs: while a job runs, its message's visibility is extended every third of
  the queue's visibility timeout, so no other worker receives it meanwhile.
- SIGTERM (`stop()`): stop receiving, finish the jobs in flight, then return. A
  message received after the stop was asked for goes straight back (visibility 0).
  If the process is killed instead, its messages come back when their visibility
  ends and the next worker takes over (worker/jobs.py: the lease).
- The outbox: before receiving, at most every OUTBOX_FLUSH_EVERY seconds, it sends
  outbox rows that nobody sent (worker/outbox.py), so a worker fleet alone keeps jobs
  whose web process died from being lost.
"""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

from botocore.exceptions import BotoCoreError, ClientError
from django.db import close_old_connections, connections

from worker.jobs import Job, Outcome, run_job
from worker.outbox import outbox_flush
from worker.sqs import sqs_client

logger = logging.getLogger(__name__)

OUTBOX_FLUSH_EVERY = 10  # seconds; a long poll can make the gap up to 20 s longer


class QueueError(Exception):
    """The queue cannot be used (missing, no permission, unreachable)."""


@dataclass
class Stats:
    outcomes: dict[str, int] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        self.outcomes[str(outcome)] = self.outcomes.get(str(outcome), 0) + 1

    @property
    def total(self) -> int:
        return sum(self.outcomes.values())


@dataclass
class _InFlight:
    message: dict
    future: Future


class Consumer:
    def __init__(
        self,
        *,
        queue_url: str,
        concurrency: int = 2,
        poll_seconds: int = 20,
        retry_delay: int = 2,
    ) -> None:
        self.queue_url = queue_url
        self.concurrency = concurrency
        self.poll_seconds = min(poll_seconds, 20)  # SQS's long-poll maximum
        self.retry_delay = retry_delay
        self.stats = Stats()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[str, _InFlight] = {}
        self._next_flush = 0.0
        self.visibility = self._queue_visibility()

    def _queue_visibility(self) -> int:
        try:
            attributes = sqs_client().get_queue_attributes(
                QueueUrl=self.queue_url, AttributeNames=["VisibilityTimeout"]
            )["Attributes"]
        except (ClientError, BotoCoreError) as exc:
            raise QueueError(f"cannot read queue {self.queue_url}: {exc}") from exc
        return int(attributes["VisibilityTimeout"])

    def stop(self) -> None:
        """Ask the loop to finish the jobs in flight and return (safe from a signal handler)."""
        self._stop.set()

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    # --- one message ---------------------------------------------------------

    def _process(self, message: dict) -> Outcome:
        close_old_connections()
        job = Job(
            message_id=message["MessageId"],
            body=message.get("Body", ""),
            receive_count=int(message.get("Attributes", {}).get("ApproximateReceiveCount", 1)),
            source="run_worker",
        )
        try:
            outcome = run_job(job)
        except Exception:
            # The job never got to run (the database is away, say): offer it again.
            logger.exception("job %s could not be run", job.message_id)
            outcome = Outcome.RETRY
        finally:
            connections.close_all()
        self._settle(message, outcome)
        return outcome

    def _settle(self, message: dict, outcome: Outcome) -> None:
        client, handle = sqs_client(), message["ReceiptHandle"]
        try:
            if outcome.acknowledged:
                client.delete_message(QueueUrl=self.queue_url, ReceiptHandle=handle)
            else:
                client.change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=handle,
                    VisibilityTimeout=self.retry_delay,
                )
        except (ClientError, BotoCoreError):
            # A lost delete means one more delivery, which the message id makes harmless.
            logger.exception("job %s: could not settle the message", message["MessageId"])

    def _release(self, messages: list[dict]) -> None:
        for message in messages:
            try:
                sqs_client().change_message_visibility(
                    QueueUrl=self.queue_url,
                    ReceiptHandle=message["ReceiptHandle"],
                    VisibilityTimeout=0,
                )
            except (ClientError, BotoCoreError):
                logger.exception("could not release message %s", message["MessageId"])

    # --- keeping long jobs invisible ----------------------------------------------

    def _heartbeat(self, done: threading.Event) -> None:
        interval = max(self.visibility / 3, 0.5)
        while not done.wait(interval):
            with self._lock:
                running = [item for item in self._inflight.values() if not item.future.done()]
            for item in running:
                try:
                    sqs_client().change_message_visibility(
                        QueueUrl=self.queue_url,
                        ReceiptHandle=item.message["ReceiptHandle"],
                        VisibilityTimeout=self.visibility,
                    )
                except (ClientError, BotoCoreError):
                    # The job may have finished (and its message gone) meanwhile.
                    if not item.future.done():
                        logger.warning(
                            "could not extend visibility of %s", item.message["MessageId"]
                        )

    # --- the loop ------------------------------------------------------------

    def _receive(self, count: int) -> list[dict]:
        try:
            return (
                sqs_client()
                .receive_message(
                    QueueUrl=self.queue_url,
                    MaxNumberOfMessages=min(count, 10),
                    WaitTimeSeconds=self.poll_seconds,
                    AttributeNames=["ApproximateReceiveCount"],
                    MessageAttributeNames=["All"],
                )
                .get("Messages", [])
            )
        except (ClientError, BotoCoreError):
            # Keep going: a worker that dies on a network blip needs someone to restart it.
            logger.exception("receiving from %s failed; trying again in 5 s", self.queue_url)
            self._stop.wait(5)
            return []

    def _flush_outbox(self) -> None:
        if time.monotonic() < self._next_flush:
            return
        self._next_flush = time.monotonic() + OUTBOX_FLUSH_EVERY
        try:
            outbox_flush()
        except Exception:
            # The database is away, say: the jobs already queued can still run.
            logger.exception("run_worker: flushing the outbox failed")
        finally:
            close_old_connections()

    def _reap(self) -> None:
        with self._lock:
            finished = [key for key, item in self._inflight.items() if item.future.done()]
            for key in finished:
                item = self._inflight.pop(key)
                self.stats.add(item.future.result())

    def run(self, *, until_empty: bool = False) -> Stats:
        """Consume until stop() (or, with until_empty, until the queue has nothing left)."""
        logger.info(
            "run_worker: %s, %d at once, visibility %d s",
            self.queue_url,
            self.concurrency,
            self.visibility,
        )
        heartbeat_done = threading.Event()
        heartbeat = threading.Thread(
            target=self._heartbeat, args=(heartbeat_done,), name="visibility", daemon=True
        )
        heartbeat.start()
        pool = ThreadPoolExecutor(self.concurrency, thread_name_prefix="job")
        try:
            while not self.stopping:
                self._flush_outbox()
                self._reap()
                with self._lock:
                    free = self.concurrency - len(self._inflight)
                    futures = [item.future for item in self._inflight.values()]
                if free <= 0:
                    wait(futures, timeout=1, return_when=FIRST_COMPLETED)
                    continue
                messages = self._receive(free)
                if self.stopping:
                    self._release(messages)
                    break
                if not messages:
                    if until_empty and not futures:
                        break
                    if until_empty:
                        wait(futures, timeout=1, return_when=FIRST_COMPLETED)
                    continue
                with self._lock:
                    for message in messages:
                        future = pool.submit(self._process, message)
                        self._inflight[message["ReceiptHandle"]] = _InFlight(message, future)
        finally:
            if self._inflight:
                logger.info("run_worker: finishing %d job(s) in flight", len(self._inflight))
            pool.shutdown(wait=True)
            self._reap()
            heartbeat_done.set()
            heartbeat.join()
        logger.info(
            "run_worker: stopped after %d job(s): %s", self.stats.total, self.stats.outcomes
        )
        return self.stats
