"""The transactional outbox of the SQS task backend: enqueue costs one INSERT.

Why: a SendMessage inside the web request costs an SQS round trip (and fails when
SQS cannot be reached), and sending after commit loses the job when the process
dies in between. So, with WORKER_OUTBOX=true (the default):

1. `outbox_write` (called by SQSBackend.enqueue) inserts an OutboxMessage row in the
   caller's transaction, or alone (autocommit) outside one: the job exists if and
   only if the write that wanted it committed.
2. After commit the row is handed to this process's `Sender`: a daemon thread with a
   bounded queue, started by the first hand-off in the process (so in each gunicorn
   worker, after the fork). It sends up to 10 rows per SendMessageBatch and deletes
   the rows SQS took.
3. The sweeper, `outbox_flush`, sends rows nobody sent within
   WORKER_OUTBOX_RESEND_AFTER seconds (process killed, queue full, SQS unreachable).
   It runs in run_worker's loop, as the `flush-outbox` periodic job and as
   `manage.py flush_outbox`.

Sender and sweeper take rows with SELECT ... FOR UPDATE SKIP LOCKED, so they never
send one row at the same time. A row can still be sent twice (SQS took it, then the
delete was lost with the process or the database): the worker runs such a task once,
because worker/jobs.py claims by task id as well as by message id.
"""

from __future__ import annotations

import atexit
import logging
import os
import queue
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import timedelta

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.db import close_old_connections, transaction
from django.db.models import Count, F, Min
from django.utils import timezone

from worker.models import OutboxMessage
from worker.sqs import sqs_client

logger = logging.getLogger(__name__)

# Hand-offs waiting in one process. Past this, rows wait for the sweeper instead of
# growing memory while SQS is away.
QUEUE_SIZE = 10_000
BATCH = 10  # SendMessageBatch takes at most 10 entries
_ERROR_MAX = 2000


@dataclass(frozen=True)
class Item:
    """One row, as the sender needs it: no database read before sending."""

    pk: int
    queue_url: str
    body: str
    attributes: dict
    group_id: str = ""
    deduplication_id: str = ""
    written_at: float = 0.0  # time.perf_counter() at the INSERT, for the latency figures

    @classmethod
    def of(cls, row: OutboxMessage, written_at: float = 0.0) -> Item:
        return cls(
            pk=row.pk,
            queue_url=row.queue_url,
            body=row.body,
            attributes=row.attributes,
            group_id=row.group_id,
            deduplication_id=row.deduplication_id,
            written_at=written_at,
        )


@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    waiting: int = 0
    error: str = ""


def _entry(item: Item, n: int) -> dict:
    entry = {"Id": str(n), "MessageBody": item.body, "MessageAttributes": item.attributes}
    if item.group_id:
        entry["MessageGroupId"] = item.group_id
    if item.deduplication_id:
        entry["MessageDeduplicationId"] = item.deduplication_id
    return entry


def _send(items: list[Item]) -> tuple[list[Item], dict[int, str]]:
    """Send `items` (any number of queues); SQS trouble is returned, not raised."""
    sent: list[Item] = []
    failed: dict[int, str] = {}
    by_queue: dict[str, list[Item]] = {}
    for item in items:
        by_queue.setdefault(item.queue_url, []).append(item)
    for url, group in by_queue.items():
        for start in range(0, len(group), BATCH):
            chunk = group[start : start + BATCH]
            entries = [_entry(item, n) for n, item in enumerate(chunk)]
            try:
                response = sqs_client().send_message_batch(QueueUrl=url, Entries=entries)
            except (ClientError, BotoCoreError) as exc:
                for item in chunk:
                    failed[item.pk] = f"{type(exc).__name__}: {exc}"
                continue
            sent += [chunk[int(ok["Id"])] for ok in response.get("Successful", [])]
            for bad in response.get("Failed", []):
                failed[chunk[int(bad["Id"])].pk] = f"{bad.get('Code')}: {bad.get('Message', '')}"
    return sent, failed


def _delete_sent(pks: list[int]) -> None:
    OutboxMessage.objects.filter(pk__in=pks).delete()


def _settle(sent: list[Item], failed: dict[int, str]) -> None:
    if sent:
        _delete_sent([item.pk for item in sent])
    for pk, error in failed.items():
        OutboxMessage.objects.filter(pk=pk).update(
            attempts=F("attempts") + 1, last_error=error[:_ERROR_MAX]
        )


# --- The per-process sender ---------------------------------------------------------


class Sender:
    """A daemon thread that sends rows handed to it after their transaction committed."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._queue: queue.Queue[Item] = queue.Queue(QUEUE_SIZE)
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        # Milliseconds from the INSERT to SQS having the message (bench/worker_bench.py).
        self.latencies_ms: deque[float] = deque(maxlen=100_000)

    def submit(self, item: Item) -> bool:
        """Hand a committed row over; False when it must wait for the sweeper."""
        self._ensure_started()
        try:
            self._queue.put_nowait(item)
        except queue.Full:
            logger.warning("outbox: sender queue full; row %s waits for the sweeper", item.pk)
            return False
        return True

    def _ensure_started(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                first = self._thread is None
                self._thread = threading.Thread(target=self._run, name="outbox-sender", daemon=True)
                self._thread.start()
                if first:
                    atexit.register(self.drain)

    def _run(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._process(batch)
            except Exception:
                # The rows stay in the outbox; the sweeper sends them. Keep the thread.
                logger.exception("outbox: sending %d row(s) failed", len(batch))
            finally:
                # This thread's connection must not outlive CONN_MAX_AGE or a dead server.
                close_old_connections()
                for _ in batch:
                    self._queue.task_done()

    def _process(self, batch: list[Item]) -> None:
        with transaction.atomic():
            # Rows the sweeper holds, or already sent and deleted, are not ours.
            free = set(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(pk__in=[item.pk for item in batch])
                .values_list("pk", flat=True)
            )
            mine = [item for item in batch if item.pk in free]
            if not mine:
                return
            sent, failed = _send(mine)
            _settle(sent, failed)
        now = time.perf_counter()
        self.latencies_ms.extend((now - item.written_at) * 1000 for item in sent)
        if failed:
            logger.warning(
                "outbox: %d message(s) not sent, left for the sweeper: %s",
                len(failed),
                next(iter(failed.values()))[:300],
            )

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every row handed over has been tried; False on timeout."""
        deadline = time.monotonic() + timeout
        done = self._queue.all_tasks_done
        with done:
            while self._queue.unfinished_tasks:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                done.wait(remaining)
        return True

    def drain(self, timeout: float | None = None) -> bool:
        """On the way out: give the queue a bounded time (WORKER_OUTBOX_DRAIN_SECONDS)."""
        if self.pid != os.getpid() or self._thread is None:
            return True
        timeout = settings.WORKER_OUTBOX_DRAIN_SECONDS if timeout is None else timeout
        if self.wait_idle(timeout):
            return True
        logger.warning(
            "outbox: exiting with %d row(s) unsent; the sweeper will send them",
            self._queue.unfinished_tasks,
        )
        return False


_sender: Sender | None = None
_sender_lock = threading.Lock()


def sender() -> Sender:
    """This process's sender. A forked child (gunicorn worker) gets its own: the
    parent's thread does not exist in the child, and its queue's lock may be held."""
    global _sender
    current = _sender
    if current is None or current.pid != os.getpid():
        with _sender_lock:
            if _sender is None or _sender.pid != os.getpid():
                _sender = Sender()
            current = _sender
    return current


def drain(timeout: float | None = None) -> bool:
    """Give this process's sender `timeout` seconds to send what it holds (worker/lifecycle.py)."""
    current = _sender
    return current.drain(timeout) if current is not None else True


# --- Writing, sweeping, reporting ---------------------------------------------------


def outbox_write(
    *,
    task_id: str,
    task_path: str,
    queue_url: str,
    body: str,
    attributes: dict,
    group_id: str = "",
    deduplication_id: str = "",
) -> OutboxMessage:
    """Write the message in the current transaction; hand it to the sender on commit."""
    row = OutboxMessage(
        task_id=task_id,
        task_path=task_path,
        queue_url=queue_url,
        body=body,
        attributes=attributes,
        group_id=group_id,
        deduplication_id=deduplication_id,
    )
    row.save(force_insert=True)
    item = Item.of(row, written_at=time.perf_counter())
    # robust: the write has committed by then; a failed hand-off is the sweeper's job.
    transaction.on_commit(lambda: sender().submit(item), using=row._state.db, robust=True)
    return row


def outbox_flush(*, older_than: float | None = None, limit: int = 1000) -> FlushResult:
    """Send rows that nobody sent within `older_than` seconds (the sweeper).

    Stops early when a whole batch fails (SQS unreachable): the rows stay for the next
    run rather than this one spending its time on retries.
    """
    if older_than is None:
        older_than = settings.WORKER_OUTBOX_RESEND_AFTER
    cutoff = timezone.now() - timedelta(seconds=older_than)
    result = FlushResult()
    tried_and_failed: set[int] = set()
    while result.sent + result.failed < limit:
        with transaction.atomic():
            rows = list(
                OutboxMessage.objects.select_for_update(skip_locked=True)
                .filter(created_at__lte=cutoff)
                .exclude(pk__in=tried_and_failed)
                .order_by("created_at", "id")[: min(BATCH, limit - result.sent - result.failed)]
            )
            if not rows:
                break
            sent, failed = _send([Item.of(row) for row in rows])
            _settle(sent, failed)
        result.sent += len(sent)
        result.failed += len(failed)
        if failed:
            tried_and_failed |= failed.keys()
            result.error = next(iter(failed.values()))
            if not sent:
                break
    result.waiting = OutboxMessage.objects.count()
    if result.sent or result.failed:
        log = logger.warning if result.failed else logger.info
        log(
            "outbox: resent %d, %d failed, %d waiting%s",
            result.sent,
            result.failed,
            result.waiting,
            f" ({result.error[:300]})" if result.error else "",
        )
    return result


def outbox_backlog() -> dict:
    """How many rows wait and how old the oldest is (admin, /readyz)."""
    summary = OutboxMessage.objects.aggregate(count=Count("id"), oldest=Min("created_at"))
    oldest = summary["oldest"]
    age = (timezone.now() - oldest).total_seconds() if oldest else None
    return {"count": summary["count"], "oldest_age_s": None if age is None else round(age, 1)}
