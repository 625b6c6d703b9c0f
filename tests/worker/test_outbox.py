"""The transactional outbox: a job exists iff its write committed, and runs once."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from datetime import timedelta
from io import StringIO
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from blog.models import Comment
from tests import worker_tasks
from tests.factories import make_post
from tests.gunicorn import running_gunicorn, server_environ, test_database_url
from tests.net import unused_port
from tests.sqsd import Daemon, make_queues
from worker import outbox
from worker.models import OutboxMessage, TaskRun

REPO = Path(__file__).resolve().parents[2]

# The sender is another thread on its own connection: rows must really be committed.
pytestmark = pytest.mark.django_db(transaction=True)


def use_outbox(settings, queues) -> None:
    settings.TASKS_BACKEND = "sqs"
    settings.WORKER_QUEUE_URL = queues.url
    settings.TASKS = {
        "default": {
            "BACKEND": "worker.backends.SQSBackend",
            "OPTIONS": {"queue_url": queues.url, "outbox": True},
        }
    }


@pytest.fixture
def queues(aws, settings):
    queues = make_queues(max_receives=3)
    use_outbox(settings, queues)
    yield queues
    outbox.sender().wait_idle(30)  # nothing of this test may reach the next one


def _settle_sender() -> None:
    assert outbox.sender().wait_idle(30), "the sender did not finish"


def _comment(client, post):
    return client.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"name": "Jane Reader", "email": "jane@example.org", "body": "Nice post!"},
    )


def _run_worker() -> str:
    out = StringIO()
    call_command("run_worker", "--poll-seconds=0", "--retry-delay=0", "--until-empty", stdout=out)
    return out.getvalue().strip()


def _flush(*args: str) -> str:
    out = StringIO()
    call_command("flush_outbox", *args, stdout=out)
    return out.getvalue().strip()


@pytest.fixture
def lost_hand_off(monkeypatch):
    """The process dies after commit, before its sender sees the row."""
    monkeypatch.setattr(outbox.Sender, "submit", lambda self, item: False)


# --- The web request's side ---------------------------------------------------------


def test_a_comment_commits_its_job_and_the_sender_puts_it_in_sqs(client, queues, author, editor):
    post = make_post(author, title="Queued")

    response = _comment(client, post)

    assert response.status_code == 302
    _settle_sender()
    assert queues.counts() == (1, 0)
    assert OutboxMessage.objects.count() == 0  # sent rows are deleted
    message = queues.receive()
    body = json.loads(message["Body"])
    assert body["task"] == "blog.tasks.notify_comment"
    assert body["args"] == [Comment.objects.get().pk]
    assert message["MessageAttributes"]["task"]["StringValue"] == "blog.tasks.notify_comment"
    assert outbox.sender().latencies_ms  # measured from the INSERT to SQS having it


def test_the_outbox_row_holds_exactly_the_message_that_is_sent(queues, tmp_path, lost_hand_off):
    result = worker_tasks.record.enqueue(str(tmp_path / "runs"), "exact")

    row = OutboxMessage.objects.get()
    assert row.task_id == result.id and row.task_path == "tests.worker_tasks.record"
    assert _flush("--older-than=0") == "Sent 1 message(s); 0 failed; 0 left in the outbox."
    message = queues.receive()
    assert message["Body"] == row.body
    assert json.loads(row.body)["id"] == result.id
    assert message["MessageAttributes"]["task"]["StringValue"] == "tests.worker_tasks.record"


def test_a_rolled_back_transaction_leaves_no_job(queues, tmp_path):
    trace = tmp_path / "runs"
    with pytest.raises(RuntimeError), transaction.atomic():
        worker_tasks.record.enqueue(str(trace), "never")
        assert OutboxMessage.objects.count() == 1  # written inside the transaction
        raise RuntimeError("the user's write failed after the enqueue")

    _settle_sender()
    assert OutboxMessage.objects.count() == 0
    assert _flush("--older-than=0").startswith("Sent 0 message(s)")
    assert queues.counts() == (0, 0)
    assert worker_tasks.runs(trace) == []


def test_a_job_is_not_sent_before_its_transaction_commits(queues, tmp_path):
    with transaction.atomic():
        worker_tasks.record.enqueue(str(tmp_path / "runs"))
        _settle_sender()
        assert queues.counts() == (0, 0)
    _settle_sender()
    assert queues.counts() == (1, 0)


def test_sqs_unreachable_still_answers_the_request_and_the_sweeper_sends_it_later(
    client, aws, queues, author, editor, monkeypatch
):
    post = make_post(author)
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{unused_port()}")

    response = _comment(client, post)

    assert response.status_code == 302
    assert Comment.objects.filter(post=post).exists()
    _settle_sender()
    row = OutboxMessage.objects.get()
    assert row.attempts == 1 and "Could not connect" in row.last_error
    with pytest.raises(CommandError, match="1 message\\(s\\) not sent"):
        _flush("--older-than=0")

    monkeypatch.setenv("AWS_ENDPOINT_URL", aws.endpoint)  # SQS is back
    assert _flush("--older-than=0") == "Sent 1 message(s); 0 failed; 0 left in the outbox."
    assert _run_worker() == "Ran 1 job(s): 1 done."
    assert [m.to for m in mail.outbox] == [[editor.email]]


def test_the_sweeper_leaves_rows_a_live_sender_may_still_send(queues, tmp_path, lost_hand_off):
    worker_tasks.record.enqueue(str(tmp_path / "runs"))

    assert _flush().startswith("Sent 0 message(s)")  # younger than RESEND_AFTER (30 s)

    OutboxMessage.objects.update(created_at=timezone.now() - timedelta(seconds=31))
    assert _flush().startswith("Sent 1 message(s)")
    assert queues.counts() == (1, 0)


# --- Crashes and duplicates ---------------------------------------------------------


def test_a_job_survives_the_process_dying_between_commit_and_send(queues, tmp_path):
    trace = tmp_path / "runs"
    # An "SQS" that accepts connections and never answers: the sender hangs mid-send,
    # holding the row, when the process is killed.
    with socket.socket() as black_hole:
        black_hole.bind(("127.0.0.1", 0))
        black_hole.listen(8)
        script = (
            "import os, signal, time\n"
            "from tests import worker_tasks\n"
            f"worker_tasks.record.enqueue({str(trace)!r}, 'survived')\n"
            "time.sleep(0.5)\n"
            "os.kill(os.getpid(), signal.SIGKILL)\n"
        )
        env = {
            **os.environ,
            "DATABASE_URL": test_database_url(),
            "TASKS_BACKEND": "sqs",
            "WORKER_QUEUE_URL": queues.url,
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{black_hole.getsockname()[1]}",
        }
        env.pop("REDIS_URL", None)
        process = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", script],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    assert process.returncode == -9, process.stderr
    assert OutboxMessage.objects.count() == 1 and queues.counts() == (0, 0)

    assert _flush("--older-than=0") == "Sent 1 message(s); 0 failed; 0 left in the outbox."
    assert _run_worker() == "Ran 1 job(s): 1 done."
    assert worker_tasks.runs(trace) == ["survived"]


@pytest.fixture
def sent_twice(queues, tmp_path):
    """One task, two SQS messages: the sender's delete was lost, the sweeper resent it."""
    trace = tmp_path / "runs"

    def lose_the_delete(pks):
        raise ConnectionError("the database went away before the delete")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(outbox, "_delete_sent", lose_the_delete)
        worker_tasks.record.enqueue(str(trace), "once")
        _settle_sender()
    assert OutboxMessage.objects.count() == 1 and queues.counts() == (1, 0)
    assert _flush("--older-than=0").startswith("Sent 1 message(s)")
    assert queues.counts() == (2, 0)
    return trace


def test_a_task_sent_twice_runs_once_under_run_worker(sent_twice):
    # Two threads may take both messages at once: the second is then "busy" (not
    # acknowledged), comes back, and is a duplicate.
    assert re.fullmatch(r"Ran [23] job\(s\): (1 busy, )?1 done, 1 duplicate\.", _run_worker())

    assert worker_tasks.runs(sent_twice) == ["once"]
    run = TaskRun.objects.get()
    assert run.state == "succeeded"


def test_a_task_sent_twice_runs_once_through_the_daemon(client, queues, sent_twice):
    daemon = Daemon(client, queues)

    outcomes = [daemon.deliver_one().json()["outcome"] for _ in range(2)]

    assert outcomes == ["done", "duplicate"]
    assert daemon.deliver_one() is None
    assert worker_tasks.runs(sent_twice) == ["once"]


# --- The three sweepers ---------------------------------------------------------------


def test_run_worker_flushes_the_outbox_before_it_receives(
    queues, tmp_path, settings, lost_hand_off
):
    settings.WORKER_OUTBOX_RESEND_AFTER = 0
    trace = tmp_path / "runs"
    worker_tasks.record.enqueue(str(trace), "flushed by the worker")
    assert queues.counts() == (0, 0)

    assert _run_worker() == "Ran 1 job(s): 1 done."

    assert worker_tasks.runs(trace) == ["flushed by the worker"]
    assert OutboxMessage.objects.count() == 0


def test_the_flush_outbox_periodic_job_sends_what_waits(
    client, queues, tmp_path, settings, lost_hand_off
):
    settings.WORKER_OUTBOX_RESEND_AFTER = 0
    worker_tasks.record.enqueue(str(tmp_path / "runs"))

    response = client.post(
        "/worker/",
        data=b"",
        content_type="application/json",
        HTTP_X_AWS_SQSD_MSGID="cron-1",
        HTTP_X_AWS_SQSD_TASKNAME="flush-outbox",
    )

    assert response.json()["outcome"] == "done"
    assert queues.counts() == (1, 0)
    assert OutboxMessage.objects.count() == 0


def test_a_fifo_queue_gets_its_group_and_deduplication_id_through_the_outbox(
    aws, settings, lost_hand_off
):
    queues = make_queues("fifo-jobs", fifo=True)
    use_outbox(settings, queues)
    result = worker_tasks.noop.enqueue()

    _flush("--older-than=0")

    message = queues.receive()
    assert message["Attributes"]["MessageGroupId"] == "tests.worker_tasks.noop"
    assert message["Attributes"]["MessageDeduplicationId"] == result.id


def test_flush_outbox_refuses_a_negative_age():
    with pytest.raises(CommandError, match="--older-than"):
        call_command("flush_outbox", "--older-than=-1")


# --- Seeing the backlog -----------------------------------------------------------------


def test_an_administrator_sees_the_outbox_backlog(
    client, administrator, queues, tmp_path, lost_hand_off
):
    worker_tasks.record.enqueue(str(tmp_path / "runs"))
    worker_tasks.record.enqueue(str(tmp_path / "runs"))
    OutboxMessage.objects.filter(pk=OutboxMessage.objects.first().pk).update(
        created_at=timezone.now() - timedelta(seconds=95), attempts=2, last_error="NoSuchQueue"
    )
    client.force_login(administrator)

    page = client.get(reverse("admin:worker_taskrun_changelist")).content.decode()

    assert "Outbox: 2 unsent messages" in page
    assert "oldest 95 s old" in page
    assert "1 failed send" in page and "NoSuchQueue" in page


def test_a_process_that_exits_drains_its_sender_first(queues, tmp_path):
    # 50 jobs are five batches for the sender: a process that left at once would take
    # most of them with it (to the sweeper); atexit gives the sender time to send them.
    script = (
        "from tests import worker_tasks\nfor n in range(50):\n    worker_tasks.noop.enqueue()\n"
    )
    env = {
        **os.environ,
        "DATABASE_URL": test_database_url(),
        "TASKS_BACKEND": "sqs",
        "WORKER_QUEUE_URL": queues.url,
    }
    env.pop("REDIS_URL", None)
    process = subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert process.returncode == 0, process.stderr
    assert OutboxMessage.objects.count() == 0
    assert queues.counts() == (50, 0)


def test_a_gunicorn_worker_sends_its_comment_s_job_and_drains_on_sigterm(queues, author, tmp_path):
    post = make_post(author, title="Served by gunicorn")
    port = unused_port()
    env = server_environ(
        tmp_path,
        DATABASE_URL=test_database_url(),
        TASKS_BACKEND="sqs",
        WORKER_QUEUE_URL=queues.url,
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_WORKERS="2",  # forked after the app is imported: each starts its own sender
        GUNICORN_GRACEFUL_TIMEOUT="10",
    )
    log = tmp_path / "gunicorn.log"
    with running_gunicorn(env, log) as proc:
        url = f"http://127.0.0.1:{port}" + reverse("blog:comment-post", args=[post.pk])
        data = b"name=Jane+Reader&email=jane%40example.org&body=Nice+post%21"
        request = urllib.request.Request(url, data=data, method="POST")
        opener = urllib.request.build_opener(_NoRedirect)
        with pytest.raises(urllib.error.HTTPError) as answer:
            opener.open(request, timeout=10)
        proc.send_signal(signal.SIGTERM)
        returncode = proc.wait(timeout=20)

    assert answer.value.code == 302, log.read_text()
    assert returncode == 0, log.read_text()
    assert Comment.objects.filter(post=post).count() == 1
    assert OutboxMessage.objects.count() == 0
    assert queues.counts() == (1, 0)
    assert json.loads(queues.receive()["Body"])["task"] == "blog.tasks.notify_comment"


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None
