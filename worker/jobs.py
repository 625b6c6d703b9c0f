"""Running one queued job, for the Beanstalk daemon (`/worker/`) and for run_worker.

Both doors share `run_job`, so a message means the same thing whoever delivers it:

- **done / duplicate / rejected** → acknowledge (200; run_worker deletes the message).
  `duplicate` is a message whose id already succeeded or was rejected: SQS delivers
  at least once, so a second delivery must not run the job again. `rejected` is a
  message that can never run (malformed body, unknown task or periodic name): it is
  recorded for the admin and acknowledged, or it would loop until the DLQ.
- **retry** → the job raised: not acknowledged, so SQS offers it again and, after the
  queue's maxReceiveCount, moves it to the dead-letter queue.
- **busy** → another worker holds this message id right now (its visibility ran out
  while it was still running): not acknowledged, and the job is not started twice.

The claim is a row in `blog_taskrun` keyed by message id and by task id (both unique),
taken under a row lock. The task id matters with the outbox (worker/outbox.py): a row
resent after its first send was lost track of becomes a second message, with another
message id but the same task id, and must not run the task again. A RUNNING row older
than WORKER_TASK_TIME_LIMIT belongs to a worker that died (killed, instance gone): the
next delivery takes it over.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django_tasks import TaskContext, TaskResult, TaskResultStatus
from django_tasks.base import Task

from worker import registry
from worker.models import TaskRun

logger = logging.getLogger(__name__)

_ERROR_MAX = 8000


class Outcome(StrEnum):
    DONE = "done"
    DUPLICATE = "duplicate"
    REJECTED = "rejected"
    RETRY = "retry"
    BUSY = "busy"

    @property
    def acknowledged(self) -> bool:
        return self in (Outcome.DONE, Outcome.DUPLICATE, Outcome.REJECTED)


@dataclass(frozen=True)
class Job:
    message_id: str
    body: str
    receive_count: int = 1
    periodic_name: str = ""
    source: str = "endpoint"


@dataclass(frozen=True)
class _Parsed:
    task: Task
    path: str
    task_id: str
    args: list
    kwargs: dict
    enqueued_at: datetime | None


class Rejected(Exception):
    """This message can never run: acknowledge it and record why."""


def _resolve(path: str) -> Task:
    try:
        task = import_string(registry.current_path(path))
    except ImportError as exc:
        raise Rejected(f"unknown task {path!r}: {exc}") from None
    if not isinstance(task, Task):
        raise Rejected(f"{path!r} is not a task (decorate it with @task)")
    return task


def _parse(job: Job) -> _Parsed:
    if job.periodic_name:
        path = registry.periodic_task_path(job.periodic_name)
        if path is None:
            raise Rejected(f"unknown periodic task {job.periodic_name!r}")
        return _Parsed(_resolve(path), path, "", [], {}, None)
    try:
        message = json.loads(job.body)
    except ValueError as exc:
        raise Rejected(f"body is not JSON: {exc}") from None
    if not isinstance(message, dict) or not isinstance(message.get("task"), str):
        raise Rejected("body is not a task message (no 'task' string)")
    args, kwargs = message.get("args", []), message.get("kwargs", {})
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise Rejected("'args' must be a list and 'kwargs' an object")
    enqueued_at = message.get("enqueued_at")
    return _Parsed(
        task=_resolve(message["task"]),
        path=message["task"],
        task_id=str(message.get("id", ""))[:64],
        args=args,
        kwargs=kwargs,
        enqueued_at=parse_datetime(enqueued_at) if isinstance(enqueued_at, str) else None,
    )


def _locked_run(message_id: str, task_id: str | None) -> TaskRun | None:
    # Two lookups, each on its unique index: an OR would scan (and lock) more rows.
    run = TaskRun.objects.select_for_update().filter(message_id=message_id).first()
    if run is None and task_id:
        run = TaskRun.objects.select_for_update().filter(task_id=task_id).first()
    return run


def _claim(job: Job, parsed: _Parsed | None, rejection: str) -> tuple[TaskRun, Outcome | None]:
    """Take the message id (and task id) for this delivery; an Outcome means: do not run it."""
    now = timezone.now()
    fields = {
        "task_id": (parsed.task_id if parsed else "") or None,
        "task_path": (parsed.path if parsed else "")[:255],
        "periodic_name": job.periodic_name[:100],
        "source": job.source,
        "enqueued_at": parsed.enqueued_at if parsed else None,
    }
    state = TaskRun.State.REJECTED if rejection else TaskRun.State.RUNNING
    with transaction.atomic():
        run, created = _locked_run(job.message_id, fields["task_id"]), False
        if run is None:
            try:
                with transaction.atomic():
                    run = TaskRun.objects.create(
                        message_id=job.message_id,
                        **fields,
                        state=state,
                        attempts=job.receive_count,
                        started_at=now,
                    )
                created = True
            except IntegrityError:
                # Another delivery of this message, or another message of this task,
                # inserted first; its row is committed now, so lock and judge it.
                run = _locked_run(job.message_id, fields["task_id"])
                if run is None:
                    raise
        if not created:
            if run.state in (TaskRun.State.SUCCEEDED, TaskRun.State.REJECTED):
                return run, Outcome.DUPLICATE
            lease_ends = run.started_at + timedelta(seconds=settings.WORKER_TASK_TIME_LIMIT)
            if run.state == TaskRun.State.RUNNING and lease_ends > now:
                return run, Outcome.BUSY
            run.state, run.started_at, run.finished_at = state, now, None
            run.attempts = max(run.attempts + 1, job.receive_count)
            for name, value in fields.items():
                setattr(run, name, value)
            run.save()
    if rejection:
        _finish(run, TaskRun.State.REJECTED, 0, rejection)
        return run, Outcome.REJECTED
    return run, None


def _finish(run: TaskRun, state: str, duration_ms: int, error: str = "") -> None:
    run.state, run.error, run.duration_ms = state, error[-_ERROR_MAX:], duration_ms
    run.finished_at = timezone.now()
    run.save(update_fields=["state", "error", "duration_ms", "finished_at"])


def _call(parsed: _Parsed, run: TaskRun) -> None:
    if not parsed.task.takes_context:
        parsed.task.call(*parsed.args, **parsed.kwargs)
        return
    result = TaskResult(
        task=parsed.task,
        id=parsed.task_id or run.message_id[:64],
        status=TaskResultStatus.RUNNING,
        enqueued_at=parsed.enqueued_at,
        started_at=run.started_at,
        last_attempted_at=run.started_at,
        finished_at=None,
        args=parsed.args,
        kwargs=parsed.kwargs,
        backend=parsed.task.backend,
        errors=[],
        worker_ids=[run.source] * run.attempts,
    )
    parsed.task.call(TaskContext(task_result=result), *parsed.args, **parsed.kwargs)


def run_job(job: Job) -> Outcome:
    """Run one delivery of a message, at most once per message id; see the module doc."""
    started = time.perf_counter()
    parsed, rejection = None, ""
    try:
        parsed = _parse(job)
    except Rejected as exc:
        rejection = str(exc)
    run, outcome = _claim(job, parsed, rejection)
    if outcome is None:
        try:
            _call(parsed, run)
        except Exception as exc:
            duration = round((time.perf_counter() - started) * 1000)
            logger.exception("job %s %s raised", job.message_id, run.task_path)
            _finish(run, TaskRun.State.FAILED, duration, f"{type(exc).__name__}: {exc}")
            outcome = Outcome.RETRY
        else:
            duration = round((time.perf_counter() - started) * 1000)
            _finish(run, TaskRun.State.SUCCEEDED, duration)
            outcome = Outcome.DONE
            if duration > settings.WORKER_TASK_TIME_LIMIT * 1000:
                logger.warning(
                    "job %s %s took %d ms, past WORKER_TASK_TIME_LIMIT: raise it or split the job",
                    job.message_id,
                    run.task_path,
                    duration,
                )
    elapsed = (time.perf_counter() - started) * 1000
    logger.info(
        "job %s task=%s outcome=%s attempt=%d duration_ms=%.1f source=%s%s",
        job.message_id,
        run.periodic_name or run.task_path or "?",
        outcome,
        run.attempts,
        elapsed,
        job.source,
        f" error={run.error[:200]!r}" if outcome == Outcome.REJECTED else "",
    )
    return outcome
