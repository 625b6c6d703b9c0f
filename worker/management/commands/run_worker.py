"""Consume the SQS task queue: the worker tier without Elastic Beanstalk's daemon."""

from __future__ import annotations

import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from worker.consumer import Consumer, QueueError


class Command(BaseCommand):
    help = (
        "Long-poll the SQS queue and run its jobs (delete on success, retry on failure). "
        "SIGTERM or Ctrl-C lets the jobs in flight finish, then exits."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--queue-url",
            default=settings.WORKER_QUEUE_URL,
            help="The queue (default WORKER_QUEUE_URL).",
        )
        parser.add_argument(
            "--concurrency",
            type=int,
            default=settings.WORKER_CONCURRENCY,
            help=f"Jobs at once (default WORKER_CONCURRENCY, now {settings.WORKER_CONCURRENCY}).",
        )
        parser.add_argument(
            "--poll-seconds",
            type=int,
            default=settings.WORKER_POLL_SECONDS,
            help="Long-poll wait, 0-20 (default WORKER_POLL_SECONDS); also the longest a "
            "stop waits for an empty receive.",
        )
        parser.add_argument(
            "--retry-delay",
            type=int,
            default=settings.WORKER_RETRY_DELAY,
            help="Seconds before a failed job is offered again (default WORKER_RETRY_DELAY).",
        )
        parser.add_argument(
            "--until-empty",
            action="store_true",
            help="Exit once the queue is empty and nothing runs (drain, tests, cron).",
        )

    def handle(self, *args, queue_url, concurrency, poll_seconds, retry_delay, until_empty, **_):
        if not queue_url:
            raise CommandError("no queue: set WORKER_QUEUE_URL or pass --queue-url")
        if concurrency < 1 or not 0 <= poll_seconds <= 20 or retry_delay < 0:
            raise CommandError(
                "--concurrency must be at least 1, --poll-seconds 0-20, --retry-delay 0 or more"
            )
        try:
            consumer = Consumer(
                queue_url=queue_url,
                concurrency=concurrency,
                poll_seconds=poll_seconds,
                retry_delay=retry_delay,
            )
        except QueueError as exc:
            raise CommandError(str(exc)) from exc

        def _stop(signum, frame):
            consumer.stop()

        previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
        try:
            stats = consumer.run(until_empty=until_empty)
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        summary = ", ".join(f"{n} {name}" for name, n in sorted(stats.outcomes.items()))
        self.stdout.write(f"Ran {stats.total} job(s){': ' + summary if summary else ''}.")
