"""The three task backends (immediate, database, sqs), their settings, and cron.yaml."""

from __future__ import annotations

import json
import logging
import re
from pathlib import Path

import pytest
import yaml
from django.core import mail
from django.core.management import call_command
from django.urls import reverse

from blog.models import Comment
from tests import worker_tasks
from tests.config.test_settings import error_line, start
from tests.factories import make_post
from tests.sqsd import make_queues, use_sqs
from worker import registry
from worker.sqs import sqs_client

REPO = Path(__file__).resolve().parents[2]
CRON_FIELD = re.compile(r"^(\*|\d+(-\d+)?)(/\d+)?(,(\d+(-\d+)?))*$")


def _comment(client, post):
    return client.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"name": "Jane Reader", "email": "jane@example.org", "body": "Nice post!"},
    )


@pytest.mark.django_db
def test_the_immediate_default_runs_the_job_inline_after_commit(
    client, author, editor, settings, django_capture_on_commit_callbacks
):
    assert settings.TASKS["default"]["BACKEND"].endswith("ImmediateBackend")
    post = make_post(author)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        _comment(client, post)
    assert mail.outbox == []  # not before the comment is committed
    for callback in callbacks:
        callback()
    assert [m.to for m in mail.outbox] == [[editor.email]]


def test_the_embedded_default_is_the_immediate_backend(tmp_path):
    result = start(tmp_path, "TASKS['default']['BACKEND']")
    assert result.stdout.strip() == "django_tasks.backends.immediate.ImmediateBackend"


def test_sqs_without_a_queue_url_fails_at_start_naming_the_variable(tmp_path):
    assert "WORKER_QUEUE_URL" in error_line(start(tmp_path, TASKS_BACKEND="sqs"))


def test_an_unknown_backend_is_refused_by_name(tmp_path):
    assert "TASKS_BACKEND must be one of" in error_line(start(tmp_path, TASKS_BACKEND="celery"))


def test_sqs_with_a_queue_url_configures_our_backend(tmp_path):
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/cloudblog-jobs"
    result = start(tmp_path, "TASKS", TASKS_BACKEND="sqs", WORKER_QUEUE_URL=url)
    assert "worker.backends.SQSBackend" in result.stdout and url in result.stdout


@pytest.mark.django_db(transaction=True)
def test_the_database_backend_queues_in_the_database_until_db_worker_runs_it(settings, tmp_path):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    trace = tmp_path / "runs"

    result = worker_tasks.record.enqueue(str(trace), "from the database")
    assert worker_tasks.runs(trace) == []

    call_command("db_worker", "--batch", "--no-startup-delay", "--interval=0")
    assert worker_tasks.runs(trace) == ["from the database"]
    result.refresh()
    assert result.status == "SUCCESSFUL"


@pytest.mark.django_db
def test_a_fifo_queue_gets_a_group_and_a_deduplication_id(aws, settings):
    queues = make_queues("fifo-jobs", fifo=True)
    use_sqs(settings, queues)

    result = worker_tasks.noop.enqueue()

    message = sqs_client().receive_message(
        QueueUrl=queues.url, AttributeNames=["All"], MessageAttributeNames=["All"]
    )["Messages"][0]
    assert message["Attributes"]["MessageGroupId"] == "tests.worker_tasks.noop"
    assert message["Attributes"]["MessageDeduplicationId"] == result.id
    assert json.loads(message["Body"])["id"] == result.id


@pytest.mark.django_db
def test_a_queue_that_is_down_does_not_lose_the_comment(
    client, author, aws, settings, caplog, django_capture_on_commit_callbacks
):
    settings.TASKS = {
        "default": {
            "BACKEND": "worker.backends.SQSBackend",
            "OPTIONS": {"queue_url": f"{aws.endpoint}/123456789012/no-such-queue"},
        }
    }
    post = make_post(author)
    with (
        caplog.at_level(logging.ERROR),
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = _comment(client, post)

    assert response.status_code == 302
    assert Comment.objects.filter(post=post).exists()
    assert any("no-such-queue" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_arguments_that_are_not_json_are_refused_at_enqueue(aws, settings):
    use_sqs(settings, make_queues())
    with pytest.raises(TypeError):
        worker_tasks.record.enqueue(object())


# --- cron.yaml --------------------------------------------------------------------


def test_cron_yaml_schedules_every_periodic_task_and_only_those():
    cron = yaml.safe_load((REPO / "cron.yaml").read_text())

    assert cron["version"] == 1
    names = [job["name"] for job in cron["cron"]]
    assert sorted(names) == registry.periodic_names()
    for job in cron["cron"]:
        assert job["url"] == "/worker/"
        fields = job["schedule"].split()
        assert len(fields) == 5 and all(CRON_FIELD.match(f) for f in fields), job
