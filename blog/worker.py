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
taken under a row lock. The task id matters with the outbox (blog/outbox.py): a row
resent after its first send was lost track of becomes a second message, with another
message id but the same task id, and must not run the task again. A RUNNING row older
than WORKER_TASK_TIME_LIMIT belongs to a worker that died (killed, instance gone): the
next delivery takes it over.
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.module_loading import import_string
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from django_tasks import TaskContext, TaskResult, TaskResultStatus
from django_tasks.base import Task

from blog.models import TaskRun

logger = logging.getLogger(__name__)

# cron.yaml names → the tasks they run, resolved when a job arrives so that a name
# whose module is missing from this release is a rejected job, not a failed start.
PERIODIC_TASKS = {
    "empty-trash": "blog.tasks.empty_trash",
    "clear-sessions": "blog.tasks.clear_sessions",
    "retry-renditions": "blog.media_tasks.retry_failed_renditions",
    "flush-outbox": "blog.tasks.flush_outbox",
    "refresh-sitemap": "blog.tasks.refresh_sitemap",
}
SECRET_HEADER = "X-Worker-Secret"  # noqa: S105 (a header name, not a secret)
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
        task = import_string(path)
    except ImportError as exc:
        raise Rejected(f"unknown task {path!r}: {exc}") from None
    if not isinstance(task, Task):
        raise Rejected(f"{path!r} is not a task (decorate it with @task)")
    return task


def _parse(job: Job) -> _Parsed:
    if job.periodic_name:
        path = PERIODIC_TASKS.get(job.periodic_name)
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


# --- The sqsd endpoint --------------------------------------------------------


def _all_loopback(addresses: list[str]) -> bool:
    try:
        return all(ipaddress.ip_address(a.strip()).is_loopback for a in addresses)
    except ValueError:
        return False


def refusal(request: HttpRequest) -> str:
    """Why this request may not run jobs, or "" when it comes from the local daemon."""
    # nginx on the same host makes every request loopback at gunicorn: a request that
    # came through the load balancer still carries a non-loopback X-Forwarded-For hop.
    hops = [request.META.get("REMOTE_ADDR", "")]
    forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
    hops += [hop for hop in forwarded.split(",") if hop.strip()]
    if not _all_loopback(hops):
        return f"not from loopback ({', '.join(h.strip() for h in hops)})"
    secret = settings.WORKER_SHARED_SECRET
    if secret:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), secret.encode()):
            return f"missing or wrong {SECRET_HEADER}"
    return ""


def _header_int(request: HttpRequest, name: str, default: int) -> int:
    try:
        return max(int(request.headers.get(name, default)), 1)
    except ValueError:
        return default


@csrf_exempt  # the daemon has no CSRF token; refusal() is the guard
@never_cache
@require_POST
def worker_endpoint(request: HttpRequest) -> JsonResponse:
    """The Beanstalk worker daemon's door: only a 200 deletes the message."""
    why = refusal(request)
    if why:
        logger.warning("worker: refused a request: %s", why)
        return JsonResponse({"error": "forbidden"}, status=403)
    message_id = request.headers.get("X-Aws-Sqsd-Msgid", "").strip()
    if not message_id:
        return JsonResponse({"error": "X-Aws-Sqsd-Msgid is required"}, status=400)
    job = Job(
        message_id=message_id[:128],
        body=request.body.decode("utf-8", errors="replace"),
        receive_count=_header_int(request, "X-Aws-Sqsd-Receive-Count", 1),
        periodic_name=request.headers.get("X-Aws-Sqsd-Taskname", "").strip(),
        source="endpoint",
    )
    outcome = run_job(job)
    if outcome.acknowledged:
        status = 200
    elif outcome == Outcome.BUSY:
        status = 409
    else:
        status = 500
    return JsonResponse({"message_id": job.message_id, "outcome": str(outcome)}, status=status)
