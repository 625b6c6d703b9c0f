"""`manage.py run_worker`: SQS (moto) → jobs, with the same semantics as /worker/."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from tests import worker_tasks
from tests.factories import make_post
from tests.sqsd import Daemon, make_queues, use_sqs
from worker.models import TaskRun
from worker.sqs import sqs_client

REPO = Path(__file__).resolve().parents[2]

# Threads run the jobs on their own connections: the rows must really be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def queues(aws, settings):
    queues = make_queues(max_receives=3)
    use_sqs(settings, queues)
    return queues


def run_worker(*args: str) -> str:
    out = StringIO()
    call_command("run_worker", "--poll-seconds=0", "--retry-delay=0", *args, stdout=out)
    return out.getvalue()


def test_a_job_enqueued_by_a_web_request_is_run_and_deleted(client, queues, author, editor, caplog):
    post = make_post(author, title="Queued")
    client.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"name": "Jane Reader", "email": "jane@example.org", "body": "Nice post!"},
    )
    assert queues.counts() == (1, 0)
    assert mail.outbox == []

    with caplog.at_level("INFO", logger="worker.jobs"):
        output = run_worker("--until-empty")

    assert output.strip() == "Ran 1 job(s): 1 done."
    assert queues.counts() == (0, 0)
    assert [m.to for m in mail.outbox] == [[editor.email]]
    run = TaskRun.objects.get()
    assert (run.state, run.source, run.attempts) == ("succeeded", "run_worker", 1)
    (line,) = [r.getMessage() for r in caplog.records if r.name == "worker.jobs"]
    assert "task=blog.tasks.notify_comment outcome=done attempt=1 duration_ms=" in line


def test_a_message_the_daemon_already_ran_is_deleted_without_running_again(
    client, queues, tmp_path
):
    trace = tmp_path / "runs"
    worker_tasks.record.enqueue(str(trace))
    message = queues.receive()
    # The daemon ran it, but the delete never happened: SQS offers it again.
    assert Daemon(client, queues).post(message).json()["outcome"] == "done"
    sqs_client().change_message_visibility(
        QueueUrl=queues.url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
    )

    assert run_worker("--until-empty").strip() == "Ran 1 job(s): 1 duplicate."
    assert worker_tasks.runs(trace) == ["ran"]
    assert queues.counts() == (0, 0)


def test_many_jobs_run_concurrently_each_once(queues, tmp_path):
    trace = tmp_path / "runs"
    for n in range(12):
        worker_tasks.record.enqueue(str(trace), f"job-{n}")

    run_worker("--until-empty", "--concurrency=4")

    assert sorted(worker_tasks.runs(trace)) == sorted(f"job-{n}" for n in range(12))
    assert TaskRun.objects.filter(state="succeeded").count() == 12
    assert queues.counts() == (0, 0)


def test_a_failing_job_is_retried_then_dead_lettered(queues, tmp_path):
    trace = tmp_path / "runs"
    worker_tasks.fail.enqueue(str(trace))

    output = run_worker("--until-empty")

    assert output.strip() == f"Ran {queues.max_receives} job(s): {queues.max_receives} retry."
    assert worker_tasks.runs(trace) == ["tried"] * queues.max_receives
    assert queues.counts() == (0, 0)
    assert json.loads(queues.receive(queues.dlq_url)["Body"])["task"] == "tests.worker_tasks.fail"
    assert TaskRun.objects.get().state == "failed"


def test_a_long_job_keeps_its_message_invisible(aws, settings, tmp_path):
    queues = make_queues("short", visibility=2)
    use_sqs(settings, queues)
    trace = tmp_path / "runs"
    worker_tasks.slow_record.enqueue(str(trace), 3.5)

    # Two threads: without the extension the idle one would receive it again at 2 s.
    assert run_worker("--until-empty", "--concurrency=2").strip() == "Ran 1 job(s): 1 done."

    assert worker_tasks.runs(trace) == ["started", "finished"]
    assert TaskRun.objects.get().attempts == 1


def test_without_a_queue_it_says_which_variable_to_set(settings):
    settings.WORKER_QUEUE_URL = None
    with pytest.raises(CommandError, match="WORKER_QUEUE_URL"):
        call_command("run_worker")


def test_a_queue_that_does_not_exist_is_a_clear_error(aws):
    with pytest.raises(CommandError, match="cannot read queue"):
        call_command("run_worker", "--queue-url=http://127.0.0.1:1/000000000000/missing")


def _worker_process(queues, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DATABASE_URL": (
            f"mysql://root@{connection.settings_dict['HOST']}:"
            f"{connection.settings_dict['PORT']}/{connection.settings_dict['NAME']}"
        ),
        "TASKS_BACKEND": "sqs",
        "WORKER_QUEUE_URL": queues.url,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "run_worker", "--poll-seconds=1", *args],
        cwd=REPO,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(condition, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_sigterm_during_a_job_lets_it_finish_and_loses_nothing(queues, tmp_path):
    trace = tmp_path / "runs"
    worker_tasks.slow_record.enqueue(str(trace), 2)
    worker_tasks.record.enqueue(str(trace), "second")
    process = _worker_process(queues, "--concurrency=1")
    try:
        _wait_for(lambda: "started" in worker_tasks.runs(trace))
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()

    assert process.returncode == 0, err
    assert out.strip() == "Ran 1 job(s): 1 done."
    assert worker_tasks.runs(trace) == ["started", "finished"]
    # The job in flight finished and was deleted; the other one is still queued.
    assert queues.counts() == (1, 0)
    assert TaskRun.objects.get().state == "succeeded"
    assert "finishing 1 job(s) in flight" in err


def test_a_killed_worker_s_job_returns_to_the_queue_and_the_next_worker_takes_it_over(
    aws, settings, tmp_path
):
    queues = make_queues("killed", visibility=1)
    use_sqs(settings, queues)
    trace = tmp_path / "runs"
    worker_tasks.slow_once.enqueue(str(trace), 30)
    first = _worker_process(queues, "--concurrency=1")
    try:
        _wait_for(lambda: "started" in worker_tasks.runs(trace))
        first.kill()
        first.communicate(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
    assert TaskRun.objects.get().state == "running"  # as the dead worker left it

    # Past the lease (WORKER_TASK_TIME_LIMIT) the row is taken over, not "busy".
    settings.WORKER_TASK_TIME_LIMIT = 2
    time.sleep(2.2)
    assert run_worker("--until-empty").strip() == "Ran 1 job(s): 1 done."

    assert worker_tasks.runs(trace) == ["started", "resumed"]
    run = TaskRun.objects.get()
    assert (run.state, run.attempts) == ("succeeded", 2)
    assert queues.counts() == (0, 0)
