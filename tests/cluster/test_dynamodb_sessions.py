"""The local cluster with `--session-store dynamodb`: sessions in a table on its moto server.

The instance-kill test of test_failures.py, run again on this cluster: 20 logged-in users,
web2 SIGKILLed under load, and nobody may be logged out.
"""

from __future__ import annotations

import boto3
import pytest

from tests.cluster.conftest import SHARED_ENV, running_cluster
from tests.cluster.test_failures import (
    test_killing_an_instance_under_load_logs_nobody_out_and_loses_no_acknowledged_comment as kill,
)

pytestmark = pytest.mark.cluster


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    # Its own cluster: the session store is fixed when the instances start.
    options = ("--session-store", "dynamodb")
    directory = tmp_path_factory.mktemp("dynamodb")
    with running_cluster(directory, env=SHARED_ENV, options=options) as local:
        yield local


def _session_items(cluster) -> int:
    client = boto3.client(
        "dynamodb",
        endpoint_url=f"http://127.0.0.1:{cluster.ports['sqs']}",
        region_name="us-east-1",
        aws_access_key_id="cluster",
        aws_secret_access_key="cluster",
    )
    return client.scan(TableName="cloudblog-sessions", Select="COUNT")["Count"]


def test_killing_an_instance_with_dynamodb_sessions_logs_nobody_out(cluster):
    kill(cluster)

    # The 20 visitors' sessions were the table's, not the database's or Redis's.
    assert _session_items(cluster) >= 1
