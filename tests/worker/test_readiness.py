"""/readyz reports whether the task queue can be reached (a must on worker instances)."""

from __future__ import annotations

import pytest

from tests.sqsd import make_queues

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("fresh_readiness", "media_root")]


@pytest.fixture
def sqs(aws, settings):
    settings.TASKS_BACKEND = "sqs"
    settings.WORKER_QUEUE_URL = make_queues().url
    return settings


def test_a_worker_instance_reports_the_queue_it_reaches(client, sqs):
    sqs.WORKER_INSTANCE = True

    response = client.get("/readyz")

    assert response.status_code == 200
    queue = response.json()["checks"]["queue"]
    assert queue["ok"] is True
    assert queue["detail"] == "sqs reachable: 0 waiting, 0 in flight"


def test_a_worker_instance_without_its_queue_is_not_ready(client, sqs, aws):
    sqs.WORKER_INSTANCE = True
    sqs.WORKER_QUEUE_URL = f"{aws.endpoint}/123456789012/gone"

    response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["status"] == "fail"
    assert "NonExistentQueue" in response.json()["checks"]["queue"]["detail"]


def test_a_web_instance_without_its_queue_is_degraded_not_down(client, sqs, aws):
    sqs.WORKER_QUEUE_URL = f"{aws.endpoint}/123456789012/gone"

    response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json()["status"] == "degraded"


def test_without_a_queue_backend_there_is_no_queue_check(client):
    assert "queue" not in client.get("/readyz").json()["checks"]
