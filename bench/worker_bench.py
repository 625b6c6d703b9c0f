"""Worker tier benchmark: what enqueueing costs a web request, and no-op jobs per second.

Runs against moto in server mode on 127.0.0.1 (started here) and the database in
DATABASE_URL (default: a throwaway SQLite file; use MariaDB for figures). Figures:

1. outbox enqueue (TASKS_BACKEND=sqs, WORKER_OUTBOX=true, the default): what a web
   request pays, i.e. the outbox INSERT inside its transaction plus the hand-off to
   the sender when it commits (the target is p99 under 5 ms). Each iteration is a
   transaction that also does a write of its own (the request's), enqueues, commits;
   one enqueue every --pace-ms, while this process's sender thread sends to moto.
   Also: the same without a surrounding transaction (INSERT + its own commit);
2. enqueue to SQS: from the INSERT until SendMessageBatch returned in the sender;
3. inline enqueue (WORKER_OUTBOX=false: one SendMessage in the request) and a bare
   boto3 SendMessage, the floor that moto sets;
4. throughput: no-op jobs through SQS with run_worker's consumer at --concurrency,
   each with its claim and result rows in the database.

    .venv/bin/python bench/worker_bench.py [--jobs 500] [--pace-ms 20] [--concurrency 4]
        [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return ordered[index]


def _moto_process():
    """moto in a process of its own: in this one, its server threads would compete for
    the GIL with the code being measured, which real SQS never does."""
    import socket
    import urllib.request

    from tests.aws import MotoServer

    class MotoProcess(MotoServer):
        def __init__(self) -> None:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                port = probe.getsockname()[1]
            self.endpoint = f"http://127.0.0.1:{port}"
            self._process = subprocess.Popen(
                [
                    str(Path(sys.executable).parent / "moto_server"),
                    "-H",
                    "127.0.0.1",
                    "-p",
                    str(port),
                ],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )

        def start(self) -> None:
            deadline = time.monotonic() + 30
            while True:
                try:
                    urllib.request.urlopen(f"{self.endpoint}/moto-api/data.json", timeout=1).read()
                    return
                except OSError:
                    if time.monotonic() > deadline or self._process.poll() is not None:
                        raise
                    time.sleep(0.1)

        def stop(self) -> None:
            self._process.terminate()
            self._process.wait(10)

    return MotoProcess()


def _summary(values: list[float]) -> dict:
    return {
        "n": len(values),
        "p50": round(statistics.median(values), 3),
        "p99": round(_percentile(values, 99), 3),
        "max": round(max(values), 3),
    }


def _in_transactions(jobs: int, pace_ms: float) -> list[float]:
    """Per iteration: a transaction with the request's own write and one enqueue; the
    time of the enqueue (the INSERT) plus the hand-off to the sender at commit."""
    from django.db import transaction

    from tests.worker_tasks import noop
    from webtier.models import CacheEpoch

    CacheEpoch.objects.get_or_create(name="bench-request")  # the request's own write
    in_transaction: list[float] = []
    marks: list[float] = []

    def mark() -> None:
        marks.append(time.perf_counter())

    for n in range(jobs):
        marks.clear()
        with transaction.atomic():
            CacheEpoch.objects.filter(name="bench-request").update(value=n)
            # Callbacks run in order at commit: these two bracket the hand-off.
            transaction.on_commit(mark)
            started = time.perf_counter()
            noop.enqueue()
            inserted = time.perf_counter()
            transaction.on_commit(mark)
        in_transaction.append((inserted - started + marks[1] - marks[0]) * 1000)
        time.sleep(pace_ms / 1000)
    return in_transaction


def _outbox_enqueues(jobs: int, pace_ms: float) -> dict:
    from unittest import mock

    from tests.worker_tasks import noop
    from worker import outbox

    # Without a sender running beside it: the INSERT alone, to tell the database's
    # share from the sender thread's (it competes for the GIL). The sweeper sends these.
    with mock.patch.object(outbox.Sender, "submit", lambda self, item: False):
        no_sender = _in_transactions(jobs, pace_ms)
    outbox.outbox_flush(older_than=0, limit=jobs)
    in_transaction = _in_transactions(jobs, pace_ms)
    outbox.sender().wait_idle(60)
    to_sqs = list(outbox.sender().latencies_ms)
    outbox.sender().latencies_ms.clear()
    autocommit: list[float] = []
    for _ in range(jobs):
        started = time.perf_counter()
        noop.enqueue()
        autocommit.append((time.perf_counter() - started) * 1000)
        time.sleep(pace_ms / 1000)
    outbox.sender().wait_idle(60)
    return {
        "in_transaction_ms": _summary(in_transaction),
        "in_transaction_no_sender_ms": _summary(no_sender),
        "autocommit_ms": _summary(autocommit),
        "enqueue_to_sqs_ms": _summary(to_sqs),
        "left_in_outbox": outbox.outbox_backlog()["count"],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--pace-ms", type=float, default=20, help="between two enqueues")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args()

    moto = _moto_process()
    moto.start()
    os.environ.update(moto.environment())
    scratch = tempfile.mkdtemp(prefix="worker-bench-")
    os.environ.setdefault("DATABASE_URL", f"sqlite:///{scratch}/bench.sqlite3")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["LOG_LEVEL"] = "WARNING"  # one line per job would dominate the timing

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.db.utils import OperationalError
    from django.test.utils import override_settings

    from tests.worker_tasks import noop
    from worker.consumer import Consumer
    from worker.models import TaskRun
    from worker.sqs import sqs_client

    try:
        connection.ensure_connection()
    except OperationalError as exc:
        name = settings.DATABASES["default"]["NAME"]
        raise SystemExit(
            f"cannot use the database {name!r} ({exc}): create it first, e.g. "
            f"mariadb -h127.0.0.1 -uroot -e 'CREATE DATABASE {name}', or set DATABASE_URL"
        ) from None
    call_command("migrate", verbosity=0)

    def backend_on(queue: str, outbox: bool = False) -> dict:
        url = sqs_client().create_queue(QueueName=queue)["QueueUrl"]
        options = {"queue_url": url, "outbox": outbox}
        return {"default": {"BACKEND": "worker.backends.SQSBackend", "OPTIONS": options}}

    with override_settings(TASKS=backend_on("bench-outbox", outbox=True)):
        noop.enqueue()  # the client, the sender thread and the connection start once
        outbox_figures = _outbox_enqueues(options.jobs, options.pace_ms)
    with override_settings(TASKS=backend_on("bench-enqueue")):
        noop.enqueue()  # the client's first call pays for its creation: not per request
        timings = []
        for _ in range(options.jobs):
            started = time.perf_counter()
            noop.enqueue()
            timings.append((time.perf_counter() - started) * 1000)
    # The floor: the same SendMessage straight from boto3, to tell moto's cost (a Python
    # server on this machine) from what the backend adds.
    raw_url = sqs_client().create_queue(QueueName="bench-raw")["QueueUrl"]
    raw = []
    for _ in range(options.jobs):
        started = time.perf_counter()
        sqs_client().send_message(QueueUrl=raw_url, MessageBody="{}")
        raw.append((time.perf_counter() - started) * 1000)
    tasks = backend_on("bench")
    queue_url = tasks["default"]["OPTIONS"]["queue_url"]
    with override_settings(TASKS=tasks):
        for _ in range(options.jobs):
            noop.enqueue()
    TaskRun.objects.all().delete()
    consumer = Consumer(
        queue_url=queue_url, concurrency=options.concurrency, poll_seconds=0, retry_delay=0
    )
    started = time.perf_counter()
    stats = consumer.run(until_empty=True)
    elapsed = time.perf_counter() - started
    moto.stop()

    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
    ).stdout.strip()
    report = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": commit,
        "machine": f"{platform.node()} {os.cpu_count()} CPUs, Python {platform.python_version()}",
        "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
        "pace_ms": options.pace_ms,
        "outbox": outbox_figures,
        "target_p99_ms": 5.0,
        "inline_enqueue_ms": _summary(timings),
        "raw_send_message_ms": {
            "p50": round(statistics.median(raw), 2),
            "p99": round(_percentile(raw, 99), 2),
        },
        "throughput": {
            "jobs": stats.total,
            "outcomes": stats.outcomes,
            "concurrency": options.concurrency,
            "seconds": round(elapsed, 2),
            "jobs_per_second": round(stats.total / elapsed, 1) if elapsed else None,
        },
    }
    print(json.dumps(report, indent=2))
    if options.out:
        options.out.write_text(json.dumps(report, indent=2) + "\n")
    met = outbox_figures["in_transaction_ms"]["p99"] < 5.0
    return 0 if met and stats.total == options.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
