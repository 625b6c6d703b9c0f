"""The web tier enqueues to SQS; the Beanstalk daemon (a stand-in) posts jobs to /worker/."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.sessions.models import Session
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from blog.models import Comment, Post
from tests import worker_tasks
from tests.factories import make_post
from tests.sqsd import Daemon, make_queues, sqsd_headers, use_sqs
from worker import registry
from worker.models import TaskRun
from worker.sqs import sqs_client

pytestmark = pytest.mark.django_db


@pytest.fixture
def queues(aws, settings):
    queues = make_queues(max_receives=3)
    use_sqs(settings, queues)
    return queues


@pytest.fixture
def daemon(client, queues):
    return Daemon(client, queues)


def _send_raw(queues, body: str) -> None:
    sqs_client().send_message(QueueUrl=queues.url, MessageBody=body)


def _comment(client, post, **fields):
    data = {"name": "Jane Reader", "email": "jane@example.org", "body": "Nice post!", **fields}
    return client.post(reverse("blog:comment-post", args=[post.pk]), data)


def test_a_comment_enqueues_one_message_that_the_daemon_runs_and_deletes(
    client, daemon, queues, author, editor, django_capture_on_commit_callbacks
):
    post = make_post(author, title="Queued")
    with django_capture_on_commit_callbacks(execute=True):
        response = _comment(client, post)
    assert response.status_code == 302
    assert mail.outbox == []  # nothing ran in the request
    assert queues.counts() == (1, 0)

    message = queues.receive()
    body = json.loads(message["Body"])
    assert body["task"] == "blog.tasks.notify_comment"
    assert body["args"] == [Comment.objects.get().pk]
    assert body["id"] and body["enqueued_at"]
    assert message["MessageAttributes"]["task"]["StringValue"] == "blog.tasks.notify_comment"
    response = daemon.post(message)
    sqs_client().delete_message(QueueUrl=queues.url, ReceiptHandle=message["ReceiptHandle"])

    assert response.status_code == 200
    assert response.json()["outcome"] == "done"
    assert queues.counts() == (0, 0)
    # A first-time commenter is held: the moderators hear about it.
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == [editor.email]
    assert "awaiting moderation" in mail.outbox[0].subject
    run = TaskRun.objects.get()
    assert (run.state, run.attempts, run.task_path) == ("succeeded", 1, body["task"])
    assert run.duration_ms is not None and run.enqueued_at is not None


def test_an_approved_comment_mails_the_posts_author(
    client, daemon, author, editor, django_capture_on_commit_callbacks
):
    post = make_post(author, title="Loved")
    client.force_login(editor)  # a moderator's comment is approved at once
    with django_capture_on_commit_callbacks(execute=True):
        _comment(client, post, body="Well said.")
    assert daemon.deliver_one().status_code == 200
    assert [m.to for m in mail.outbox] == [[author.email]]
    assert "Well said." in mail.outbox[0].body


def test_the_same_message_delivered_twice_runs_once(daemon, queues, tmp_path):
    trace = tmp_path / "runs"
    worker_tasks.record.enqueue(str(trace))
    message = queues.receive()

    first = daemon.post(message)
    second = daemon.post(message, HTTP_X_AWS_SQSD_RECEIVE_COUNT="2")

    assert (first.status_code, first.json()["outcome"]) == (200, "done")
    assert (second.status_code, second.json()["outcome"]) == (200, "duplicate")
    assert worker_tasks.runs(trace) == ["ran"]
    assert TaskRun.objects.get().state == TaskRun.State.SUCCEEDED


def test_a_failing_job_is_retried_and_lands_in_the_dead_letter_queue(daemon, queues, tmp_path):
    trace = tmp_path / "runs"
    worker_tasks.fail.enqueue(str(trace))

    statuses = []
    while (response := daemon.deliver_one()) is not None:
        statuses.append(response.status_code)

    assert statuses == [500] * queues.max_receives
    assert worker_tasks.runs(trace) == ["tried"] * queues.max_receives
    assert queues.counts() == (0, 0)
    dead = queues.receive(queues.dlq_url)
    assert json.loads(dead["Body"])["task"] == "tests.worker_tasks.fail"
    run = TaskRun.objects.get()
    assert (run.state, run.attempts) == ("failed", queues.max_receives)
    assert "RuntimeError: this job always fails" in run.error


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ("not json at all", "body is not JSON"),
        ('{"args": []}', "not a task message"),
        ('{"task": "blog.no_such_module.job"}', "unknown task"),
        ('{"task": "tests.worker_tasks.not_a_task"}', "is not a task"),
        ('{"task": "tests.worker_tasks.record", "args": {"a": 1}}', "'args' must be a list"),
    ],
)
def test_a_message_that_can_never_run_is_recorded_and_acknowledged(daemon, queues, body, reason):
    _send_raw(queues, body)

    response = daemon.deliver_one()

    assert (response.status_code, response.json()["outcome"]) == (200, "rejected")
    assert queues.counts() == (0, 0)
    assert queues.receive(queues.dlq_url) is None
    run = TaskRun.objects.get()
    assert run.state == TaskRun.State.REJECTED
    assert reason in run.error


def test_a_message_another_worker_is_running_is_not_started_twice(daemon, queues, tmp_path):
    trace = tmp_path / "runs"
    worker_tasks.record.enqueue(str(trace))
    message = queues.receive()
    TaskRun.objects.create(message_id=message["MessageId"], source="run_worker", attempts=1)

    response = daemon.post(message, HTTP_X_AWS_SQSD_RECEIVE_COUNT="2")

    assert (response.status_code, response.json()["outcome"]) == (409, "busy")
    assert worker_tasks.runs(trace) == []


def test_a_job_whose_worker_died_is_taken_over_after_the_time_limit(
    daemon, queues, tmp_path, settings
):
    trace = tmp_path / "runs"
    worker_tasks.record.enqueue(str(trace))
    message = queues.receive()
    started = timezone.now() - timedelta(seconds=settings.WORKER_TASK_TIME_LIMIT + 1)
    TaskRun.objects.create(
        message_id=message["MessageId"], source="run_worker", attempts=1, started_at=started
    )

    response = daemon.post(message, HTTP_X_AWS_SQSD_RECEIVE_COUNT="2")

    assert response.json()["outcome"] == "done"
    assert worker_tasks.runs(trace) == ["ran"]
    assert TaskRun.objects.get().attempts == 2


# --- Periodic tasks (cron.yaml) ---------------------------------------------------


def _periodic(client, name: str, message_id: str = "periodic-1", **extra):
    return client.post(
        "/worker/",
        data="elasticbeanstalk scheduled job",
        content_type="application/json",
        HTTP_X_AWS_SQSD_MSGID=message_id,
        HTTP_X_AWS_SQSD_TASKNAME=name,
        HTTP_X_AWS_SQSD_SCHEDULED_AT="2026-01-01T03:00:00Z",
        HTTP_X_AWS_SQSD_SENDER_ID="cron",
        **extra,
    )


def test_periodic_empty_trash_is_dispatched_by_name(client, author):
    old = make_post(author, status=Post.Status.TRASH, trashed_at=timezone.now() - timedelta(40))
    recent = make_post(author, status=Post.Status.TRASH, trashed_at=timezone.now())

    response = _periodic(client, "empty-trash")

    assert (response.status_code, response.json()["outcome"]) == (200, "done")
    assert not Post.objects.filter(pk=old.pk).exists()
    assert Post.objects.filter(pk=recent.pk).exists()
    assert TaskRun.objects.get().periodic_name == "empty-trash"
    # Fired again (at least once delivery): a new message id, and nothing left to delete.
    assert _periodic(client, "empty-trash", message_id="periodic-2").status_code == 200


def test_periodic_clear_sessions_deletes_only_expired_ones(client, author, settings):
    settings.SESSION_STORE = "db"
    now = timezone.now()
    Session.objects.create(session_key="old", session_data="x", expire_date=now - timedelta(1))
    Session.objects.create(session_key="new", session_data="x", expire_date=now + timedelta(1))

    assert _periodic(client, "clear-sessions").status_code == 200

    assert list(Session.objects.values_list("session_key", flat=True)) == ["new"]


def test_an_unknown_periodic_name_is_rejected_and_acknowledged(client):
    response = _periodic(client, "no-such-job")

    assert (response.status_code, response.json()["outcome"]) == (200, "rejected")
    assert "unknown periodic task 'no-such-job'" in TaskRun.objects.get().error


def test_a_periodic_name_whose_module_is_missing_is_rejected_not_retried(client, monkeypatch):
    monkeypatch.setitem(registry._periodic, "rebuild-index", "blog.search_tasks.rebuild")

    response = _periodic(client, "rebuild-index")

    assert (response.status_code, response.json()["outcome"]) == (200, "rejected")
    assert "unknown task 'blog.search_tasks.rebuild'" in TaskRun.objects.get().error


def test_the_renditions_retry_is_scheduled_under_its_name():
    path = registry.periodic_task_path("retry-renditions")
    assert path == "media_library.tasks.retry_failed_renditions"


@pytest.mark.parametrize(
    ("old_path", "args"),
    [
        ("blog.media_tasks.make_media_renditions", [987654]),
        ("blog.media_tasks.retry_failed_renditions", []),
        ("blog.tasks.flush_outbox", []),
        ("blog.tasks.clear_sessions", []),
        ("blog.tasks.empty_trash", []),
        ("blog.tasks.refresh_sitemap", []),
    ],
)
def test_a_message_from_before_the_restructure_still_runs_its_task(client, old_path, args):
    # Queued (or left in the outbox) by the release before the apps were split.
    body = {"v": 1, "id": f"t-{old_path}", "task": old_path, "args": args, "kwargs": {}}
    response = client.post(
        "/worker/",
        data=json.dumps(body),
        content_type="application/json",
        HTTP_X_AWS_SQSD_MSGID=f"m-{old_path}",
    )

    assert (response.status_code, response.json()["outcome"]) == (200, "done")
    assert TaskRun.objects.get().state == TaskRun.State.SUCCEEDED


# --- Who may call it --------------------------------------------------------------


@pytest.mark.parametrize(
    "extra",
    [
        {"REMOTE_ADDR": "10.0.3.7"},
        # Through nginx every request is loopback at gunicorn: the ALB's hop gives it away.
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.9"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "127.0.0.1, 203.0.113.9"},
        {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "not-an-ip"},
    ],
)
def test_a_request_from_off_the_host_is_refused(client, author, extra):
    old = make_post(author, status=Post.Status.TRASH, trashed_at=timezone.now() - timedelta(40))

    response = _periodic(client, "empty-trash", **extra)

    assert response.status_code == 403
    assert Post.objects.filter(pk=old.pk).exists()
    assert not TaskRun.objects.exists()


def test_the_local_daemon_through_nginx_is_accepted(client):
    response = _periodic(client, "clear-sessions", HTTP_X_FORWARDED_FOR="127.0.0.1")
    assert response.status_code == 200


def test_with_a_shared_secret_a_request_without_it_is_refused(client, settings):
    settings.WORKER_SHARED_SECRET = "s3cret-between-nginx-and-django"

    assert _periodic(client, "clear-sessions").status_code == 403
    assert _periodic(client, "clear-sessions", HTTP_X_WORKER_SECRET="wrong").status_code == 403
    response = _periodic(
        client, "clear-sessions", HTTP_X_WORKER_SECRET="s3cret-between-nginx-and-django"
    )
    assert response.status_code == 200


def test_the_endpoint_takes_no_csrf_token_is_never_cached_and_only_takes_post(settings):
    client = Client(enforce_csrf_checks=True)

    response = _periodic(client, "clear-sessions")

    assert response.status_code == 200
    assert "no-cache" in response["Cache-Control"] and "no-store" in response["Cache-Control"]
    assert client.get("/worker/").status_code == 405


def test_the_endpoint_is_not_redirected_to_https(settings):
    settings.SECURE_SSL_REDIRECT = True
    client = Client()

    assert client.get("/").status_code == 301  # everything else is
    assert _periodic(client, "clear-sessions").status_code == 200


def test_a_request_without_a_message_id_is_refused(client):
    response = client.post("/worker/", data="{}", content_type="application/json")
    assert response.status_code == 400


def test_daemon_headers_carry_the_task_attribute(queues):
    worker_tasks.noop.enqueue()
    headers = sqsd_headers(queues.receive())
    assert headers["HTTP_X_AWS_SQSD_ATTR_TASK"] == "tests.worker_tasks.noop"
