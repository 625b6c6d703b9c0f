"""Waiting, progress and timeouts, with a stubbed describe: moto finishes everything at once."""

from __future__ import annotations

import io

import boto3
import pytest
from botocore.stub import Stubber

from ops import aurora
from ops.aws import Progress, Session, TimedOut


class FakeClock:
    """Time that advances only when the waiter sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def _cluster(status: str) -> dict:
    return {"DBClusters": [{"DBClusterIdentifier": "drill", "Status": status}]}


@pytest.fixture
def stubbed_rds():
    client = boto3.client(
        "rds", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def _session(client, stream, clock) -> Session:
    return Session(
        clients={"rds": client}, progress=Progress(stream), clock=clock, sleep=clock.sleep
    )


def test_waiting_polls_until_available_and_reports_each_status(stubbed_rds):
    client, stubber = stubbed_rds
    for status in ("creating", "creating", "backing-up", "available"):
        stubber.add_response(
            "describe_db_clusters", _cluster(status), {"DBClusterIdentifier": "drill"}
        )
    stream, clock = io.StringIO(), FakeClock()

    status = _session(client, stream, clock).wait_for(
        "DB cluster drill",
        lambda: aurora._cluster_status(_session(client, stream, clock), "drill"),
        ready={"available"},
        timeout=3600,
    )

    assert status == "available"
    assert clock.sleeps == [10.0, 10.0, 10.0]
    assert stream.getvalue().splitlines() == [
        "waiting for DB cluster drill: creating (0s)",
        "waiting for DB cluster drill: backing-up (20s)",
        "DB cluster drill: available after 30s",
    ]


def test_a_long_wait_on_a_pipe_repeats_the_status_every_thirty_seconds(stubbed_rds):
    client, stubber = stubbed_rds
    for _ in range(7):
        stubber.add_response("describe_db_clusters", _cluster("creating"))
    stubber.add_response("describe_db_clusters", _cluster("available"))
    stream, clock = io.StringIO(), FakeClock()
    session = _session(client, stream, clock)

    session.wait_for(
        "DB cluster drill",
        lambda: aurora._cluster_status(session, "drill"),
        ready={"available"},
        timeout=3600,
    )

    assert stream.getvalue().splitlines() == [
        "waiting for DB cluster drill: creating (0s)",
        "waiting for DB cluster drill: creating (30s)",
        "waiting for DB cluster drill: creating (1m00s)",
        "DB cluster drill: available after 1m10s",
    ]


def test_on_a_terminal_progress_is_one_line_rewritten_in_place(stubbed_rds):
    client, stubber = stubbed_rds
    for status in ("creating", "modifying", "available"):
        stubber.add_response("describe_db_clusters", _cluster(status))
    stream, clock = Terminal(), FakeClock()
    session = _session(client, stream, clock)

    session.wait_for(
        "DB cluster drill",
        lambda: aurora._cluster_status(session, "drill"),
        ready={"available"},
        timeout=3600,
    )

    text = stream.getvalue()
    assert text.count("\n") == 1
    assert "\r\x1b[2Kwaiting for DB cluster drill: creating (0s)" in text
    assert "\r\x1b[2Kwaiting for DB cluster drill: modifying (10s)" in text
    assert text.endswith("\r\x1b[2KDB cluster drill: available after 20s\n")


def test_the_deadline_is_kept_and_says_what_it_was_waiting_for(stubbed_rds):
    client, stubber = stubbed_rds
    # A short deadline polls more often: every 1.5 s here, so 21 looks in 30 s.
    for _ in range(21):
        stubber.add_response("describe_db_clusters", _cluster("creating"))
    stream, clock = io.StringIO(), FakeClock()
    session = _session(client, stream, clock)

    with pytest.raises(TimedOut, match=r"after 30s \(status creating\)"):
        session.wait_for(
            "DB cluster drill",
            lambda: aurora._cluster_status(session, "drill"),
            ready={"available"},
            timeout=30,
        )

    assert clock.now == 30
    assert set(clock.sleeps) == {1.5}
    assert stream.getvalue().splitlines()[-1] == "DB cluster drill: still creating after 30s"


def test_a_cluster_that_is_not_visible_yet_is_waited_for(stubbed_rds):
    client, stubber = stubbed_rds
    stubber.add_client_error("describe_db_clusters", "DBClusterNotFoundFault", http_status_code=404)
    stubber.add_response("describe_db_clusters", _cluster("available"))
    stream, clock = io.StringIO(), FakeClock()
    session = _session(client, stream, clock)

    session.wait_for(
        "DB cluster drill",
        lambda: aurora._cluster_status(session, "drill"),
        ready={"available"},
        timeout=60,
    )

    assert stream.getvalue().splitlines()[0] == "waiting for DB cluster drill: not visible yet (0s)"
