"""`python -m ops rds ...` against moto: a single instance, by snapshot or point in time."""

from __future__ import annotations

from ops import rds as rds_ops
from tests.ops.conftest import tags_of


def _instance(rds, name):
    return rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]


def test_restore_from_snapshot_makes_a_new_verified_instance(ops, rds, network, source_instance):
    done = ops(
        "rds",
        "restore",
        "--snapshot",
        "blog-single-nightly",
        "--new-id",
        "blog-single-drill",
        "--ticket",
        "INC-9",
        "--json",
    )

    assert done.code == 0, done.err
    made = _instance(rds, "blog-single-drill")
    assert made["DBInstanceStatus"] == "available"
    assert made["StorageEncrypted"] is True
    assert made["DBInstanceClass"] == "db.t3.medium"
    assert made["DBSubnetGroup"]["DBSubnetGroupName"] == "blog-db"
    tags = tags_of(made["TagList"])
    assert tags["restored-from"] == "blog-single-nightly"
    assert tags["ticket"] == "INC-9"
    result = done.json()
    # moto does not echo the flag back, so check what was asked of AWS.
    assert result["calls"][0]["params"]["PubliclyAccessible"] is False
    assert result["endpoint"] == f"{made['Endpoint']['Address']}:3306"
    assert result["engine_version"] == "8.0.35"
    assert result["verified"] == ["status", "engine", "engine_version", "encryption"]


def test_restore_with_another_instance_class(ops, rds, source_instance):
    done = ops(
        "rds",
        "restore",
        "--snapshot",
        "blog-single-nightly",
        "--new-id",
        "bigger",
        "--instance-class",
        "db.m6g.large",
    )

    assert done.code == 0, done.err
    assert _instance(rds, "bigger")["DBInstanceClass"] == "db.m6g.large"


def test_restore_refuses_an_existing_instance_and_leaves_it_alone(ops, rds, source_instance):
    before = _instance(rds, "blog-single")

    done = ops("rds", "restore", "--snapshot", "blog-single-nightly", "--new-id", "blog-single")

    assert done.code == 3
    assert "blog-single already exists" in done.err
    after = _instance(rds, "blog-single")
    before.pop("LatestRestorableTime"), after.pop("LatestRestorableTime")
    assert after == before


def test_point_in_time_restore_to_the_latest_time(ops, rds, source_instance):
    done = ops(
        "rds", "restore", "--instance", "blog-single", "--latest", "--new-id", "pitr", "--json"
    )

    assert done.code == 0, done.err
    assert tags_of(_instance(rds, "pitr")["TagList"])["restored-from"] == "blog-single@latest"


def test_point_in_time_needs_automated_backups(ops, rds, source_instance):
    rds.create_db_instance(
        DBInstanceIdentifier="no-backups",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="a",
        MasterUserPassword="password-123",
        AllocatedStorage=20,
        BackupRetentionPeriod=0,
    )

    done = ops("rds", "restore", "--instance", "no-backups", "--latest", "--new-id", "pitr")

    assert done.code == 3
    assert "keeps no automated backups" in done.err


def test_snapshot_waits_and_refuses_a_taken_name(ops, rds, source_instance):
    first = ops("rds", "snapshot", "--instance", "blog-single", "--snapshot-id", "pre-migrate")
    second = ops("rds", "snapshot", "--instance", "blog-single", "--snapshot-id", "pre-migrate")

    assert first.code == 0, first.err
    assert "snapshot pre-migrate: available after" in first.err
    assert second.code == 3


def test_snapshot_of_a_missing_instance_is_refused(ops):
    done = ops("rds", "snapshot", "--instance", "ghost", "--json")

    assert done.code == 3
    assert done.json()["error"] == "no DB instance ghost"


def test_an_instance_that_fails_to_restore_is_an_error(ops, source_instance, monkeypatch):
    states = iter(["creating", "modifying", "incompatible-restore"])
    monkeypatch.setattr(rds_ops, "_instance_status", lambda session, name: next(states))

    done = ops(
        "rds",
        "restore",
        "--snapshot",
        "blog-single-nightly",
        "--new-id",
        "x",
        "--timeout",
        "1",
        "--json",
    )

    assert done.code == 1
    assert done.json()["error"] == "DB instance x is incompatible-restore"


def test_check_url_accepts_a_ready_site(ops, source_instance, live_server, settings):
    # The site's readiness includes a writable media folder.
    settings.MEDIA_ROOT.mkdir(parents=True)
    done = ops(
        "rds",
        "restore",
        "--snapshot",
        "blog-single-nightly",
        "--new-id",
        "checked",
        "--check-url",
        live_server.url,
        "--json",
    )

    assert done.code == 0, done.err
    assert done.json()["check_url"] == f"{live_server.url}/readyz answered 200"


def test_check_url_that_does_not_answer_fails_verification(ops, source_instance):
    # Nothing listens on port 9 of the loopback: the site is down.
    done = ops(
        "rds",
        "restore",
        "--snapshot",
        "blog-single-nightly",
        "--new-id",
        "unchecked",
        "--check-url",
        "http://127.0.0.1:9",
        "--json",
    )

    assert done.code == 5
    assert "could not be reached" in done.json()["error"]
