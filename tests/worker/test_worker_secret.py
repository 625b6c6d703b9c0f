"""Production with SQS does not start without /worker/'s shared secret unless told to,
and the secret is compared in constant time (hmac.compare_digest)."""

from __future__ import annotations

import pytest

from tests.config.test_settings import error_line, production_key, start
from worker import views

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/cloudblog-jobs"


def _production(**changes: str) -> dict[str, str]:
    return {
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": production_key(),
        "DJANGO_ALLOWED_HOSTS": "blog.example.com",
        "TASKS_BACKEND": "sqs",
        "WORKER_QUEUE_URL": QUEUE,
        **changes,
    }


def test_production_with_sqs_and_no_worker_secret_refuses_to_start(tmp_path):
    line = error_line(start(tmp_path, **_production()))

    assert "WORKER_SHARED_SECRET must be set" in line
    assert "WORKER_ALLOW_NO_SECRET=true" in line


@pytest.mark.parametrize(
    "changes",
    [
        {"WORKER_SHARED_SECRET": "s3cret-between-nginx-and-django"},
        {"WORKER_ALLOW_NO_SECRET": "true"},
        {"DJANGO_DEBUG": "true"},
        {"TASKS_BACKEND": "database"},
    ],
    ids=lambda changes: "-".join(changes),
)
def test_a_secret_an_explicit_opt_out_debug_or_another_queue_starts(tmp_path, changes):
    result = start(tmp_path, "WORKER_SHARED_SECRET", **_production(**changes))

    assert result.returncode == 0, result.stderr


def test_the_secret_can_come_from_a_file(tmp_path):
    secret = tmp_path / "worker-secret"
    secret.write_text("from-a-file\n")

    result = start(
        tmp_path, "WORKER_SHARED_SECRET", **_production(WORKER_SHARED_SECRET_FILE=str(secret))
    )

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "from-a-file"


def test_the_secret_is_compared_in_constant_time(rf, settings, monkeypatch):
    settings.WORKER_SHARED_SECRET = "s3cret-between-nginx-and-django"
    compared = []
    real = views.hmac.compare_digest
    monkeypatch.setattr(
        views.hmac, "compare_digest", lambda a, b: compared.append((a, b)) or real(a, b)
    )

    same_length = rf.post("/worker/", HTTP_X_WORKER_SECRET="s3cret-between-nginx-and-djangx")
    not_ascii = rf.post("/worker/", HTTP_X_WORKER_SECRET="sécret")
    right = rf.post("/worker/", HTTP_X_WORKER_SECRET="s3cret-between-nginx-and-django")

    assert views.refusal(same_length) == "missing or wrong X-Worker-Secret"
    assert views.refusal(not_ascii) == "missing or wrong X-Worker-Secret"
    assert views.refusal(right) == ""
    assert len(compared) == 3
