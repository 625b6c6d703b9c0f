"""A fresh gunicorn's first /readyz, over HTTP: "ok" when its dependencies are up.

The probe a deploy tool sends a new instance (userdata/bootstrap.py takes its first 200)
must not spend the 1 s budget building clients: each worker prepares them as it loads
the app (config/wsgi.py), so the checks time the database, Redis, SQS and the store.
"""

from __future__ import annotations

import json
import os
import urllib.request

import pytest

from tests.gunicorn import running_gunicorn, server_environ, test_database_url
from tests.net import unused_port
from tests.sqsd import make_queues

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_fresh_instance_is_ready_on_its_first_probe(tmp_path, aws):
    queue = make_queues("first-probe").url
    bind = f"127.0.0.1:{unused_port()}"
    env = server_environ(
        tmp_path,
        DATABASE_URL=test_database_url(),
        GUNICORN_WORKERS="1",
        GUNICORN_BIND=bind,
        TASKS_BACKEND="sqs",
        WORKER_QUEUE_URL=queue,
    )
    if os.environ.get("REDIS_URL"):
        env["REDIS_URL"] = os.environ["REDIS_URL"]
    log = tmp_path / "web.log"
    request = urllib.request.Request(f"http://{bind}/readyz", headers={"Host": "127.0.0.1"})

    with running_gunicorn(env, log), urllib.request.urlopen(request, timeout=60) as answer:
        status, report = answer.status, json.load(answer)

    assert status == 200
    assert report["status"] == "ok", report
    assert set(report["checks"]) == {"writer", "replica", "cache", "media", "queue"}
    assert report["checks"]["queue"]["detail"] == "sqs reachable: 0 waiting, 0 in flight"
    # The SQS client was built as the worker loaded the app, before the probe arrived.
    text = log.read_text()
    prepared = text.index("readiness: checks prepared")
    assert "'queue'" in text[prepared : text.index("\n", prepared)]
    assert prepared < text.index('"path": "/readyz"')
