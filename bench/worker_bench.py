"""Worker tier benchmark: what enqueueing costs a web request, and no-op jobs per second.

Runs against moto in server mode on 127.0.0.1 (started here) and the database in
DATABASE_URL (default: a throwaway SQLite file). Two figures:

1. enqueue: the time `task.enqueue()` adds to a request with TASKS_BACKEND=sqs (one
   SQS SendMessage; the target is p99 under 5 ms);
2. throughput: no-op jobs through SQS with run_worker's consumer at --concurrency,
   each with its claim and result rows in the database.

    .venv/bin/python bench/worker_bench.py [--jobs 500] [--concurrency 4] [--out FILE]
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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument("--out", type=Path, default=None)
    options = parser.parse_args()

    from tests.aws import MotoServer

    moto = MotoServer()
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
    from django.test.utils import override_settings

    from blog.models import TaskRun
    from blog.task_backends import sqs_client
    from blog.worker_loop import Consumer
    from tests.worker_tasks import noop

    call_command("migrate", verbosity=0)

    def backend_on(queue: str) -> dict:
        url = sqs_client().create_queue(QueueName=queue)["QueueUrl"]
        return {
            "default": {"BACKEND": "blog.task_backends.SQSBackend", "OPTIONS": {"queue_url": url}}
        }

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
        "enqueue_ms": {
            "n": len(timings),
            "p50": round(statistics.median(timings), 2),
            "p99": round(_percentile(timings, 99), 2),
            "max": round(max(timings), 2),
            "target_p99": 5.0,
        },
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
    return 0 if report["enqueue_ms"]["p99"] < 5.0 and stats.total == options.jobs else 1


if __name__ == "__main__":
    sys.exit(main())
