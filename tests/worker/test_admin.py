"""An administrator sees the recent jobs and their health; nobody edits them."""

from __future__ import annotations

import pytest
from django.urls import reverse

from worker.models import TaskRun

pytestmark = pytest.mark.django_db

RUNS = reverse("admin:worker_taskrun_changelist")


@pytest.fixture
def runs(db):
    TaskRun.objects.create(
        message_id="m-1", task_path="blog.tasks.notify_comment", source="endpoint",
        state=TaskRun.State.SUCCEEDED, attempts=1, duration_ms=12,
    )  # fmt: skip
    TaskRun.objects.create(
        message_id="m-2", task_path="blog.tasks.notify_comment", source="run_worker",
        state=TaskRun.State.FAILED, attempts=3, duration_ms=40,
        error="Traceback ...\nSMTPServerDisconnected: Connection unexpectedly closed",
    )  # fmt: skip
    TaskRun.objects.create(
        message_id="m-3", periodic_name="no-such-job", source="endpoint",
        state=TaskRun.State.REJECTED, attempts=1, error="unknown periodic task 'no-such-job'",
    )  # fmt: skip


def test_an_administrator_sees_state_attempts_duration_and_error(client, administrator, runs):
    client.force_login(administrator)

    page = client.get(RUNS).content.decode()

    assert "12 ms" in page and "40 ms" in page
    assert "SMTPServerDisconnected: Connection unexpectedly closed" in page
    assert "Failed (will be retried)" in page and "Rejected" in page
    assert "no-such-job" in page


def test_failed_jobs_can_be_filtered(client, administrator, runs):
    client.force_login(administrator)

    page = client.get(RUNS, {"state__exact": "failed"}).content.decode()

    assert "SMTPServerDisconnected" in page
    assert "unknown periodic task" not in page


def test_task_runs_are_read_only(client, administrator, runs):
    client.force_login(administrator)
    run = TaskRun.objects.get(message_id="m-2")

    assert client.get(reverse("admin:worker_taskrun_add")).status_code == 403
    response = client.post(reverse("admin:worker_taskrun_change", args=[run.pk]), {"attempts": 0})
    assert response.status_code == 403
    run.refresh_from_db()
    assert run.attempts == 3


def test_an_editor_does_not_see_the_queue(client, editor, runs):
    client.force_login(editor)
    assert client.get(RUNS).status_code == 403
