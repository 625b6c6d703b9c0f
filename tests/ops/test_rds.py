"""`python -m ops rds ...` against moto: a single instance, by snapshot or point in time."""

from __future__ import annotations

import pytest

from ops import rds as rds_ops
from tests.ops.conftest import everything_in_rds, tags_of


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


@pytest.fixture
def legacy_instance(rds, network):
    """An unencrypted instance with backups, and its nightly snapshot."""
    rds.create_db_instance(
        DBInstanceIdentifier="legacy",
        Engine="mysql",
        EngineVersion="8.0.35",
        DBInstanceClass="db.t3.medium",
        MasterUsername="admin",
        MasterUserPassword="legacy-password-1",
        AllocatedStorage=20,
        StorageEncrypted=False,
        BackupRetentionPeriod=7,
    )
    rds.create_db_snapshot(DBSnapshotIdentifier="legacy-nightly", DBInstanceIdentifier="legacy")


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["for-real", "dry-run"])
def test_an_unencrypted_snapshot_is_refused_before_anything_is_made(
    ops, rds, legacy_instance, dry_run
):
    before = everything_in_rds(rds)

    done = ops(
        "rds", "restore", "--snapshot", "legacy-nightly", "--new-id", "drill", "--json", *dry_run
    )

    assert done.code == 3
    assert "DB snapshot legacy-nightly is not encrypted" in done.json()["error"]
    assert "pass --kms-key KEY" in done.json()["error"]
    assert done.json()["calls"] == []
    assert everything_in_rds(rds) == before


def test_kms_key_restores_an_encrypted_copy_of_an_unencrypted_snapshot(
    ops, rds, kms_key, legacy_instance
):
    done = ops(
        "rds",
        "restore",
        "--snapshot",
        "legacy-nightly",
        "--new-id",
        "drill",
        "--kms-key",
        kms_key["alias"],
        "--ticket",
        "INC-5",
        "--json",
    )

    assert done.code == 0, done.err
    result = done.json()
    copy_id = result["encrypted_copy"]
    assert copy_id.startswith("drill-encrypted-")
    assert [c["operation"] for c in result["calls"]] == [
        "copy_db_snapshot",
        "restore_db_instance_from_db_snapshot",
    ]
    assert result["calls"][1]["params"]["DBSnapshotIdentifier"] == copy_id
    copy = rds.describe_db_snapshots(DBSnapshotIdentifier=copy_id)["DBSnapshots"][0]
    assert copy["Encrypted"] is True
    assert copy["KmsKeyId"] == kms_key["arn"]
    assert tags_of(copy["TagList"])["ticket"] == "INC-5"
    made = _instance(rds, "drill")
    assert made["StorageEncrypted"] is True
    assert made["KmsKeyId"] == kms_key["arn"]
    assert "encryption" in result["verified"]
    # The source snapshot is left as it was.
    original = rds.describe_db_snapshots(DBSnapshotIdentifier="legacy-nightly")["DBSnapshots"][0]
    assert original["Encrypted"] is False


def test_kms_key_in_a_dry_run_shows_the_copy_and_makes_nothing(ops, rds, kms_key, legacy_instance):
    before = everything_in_rds(rds)

    done = ops(
        "rds",
        "restore",
        "--snapshot",
        "legacy-nightly",
        "--new-id",
        "drill",
        "--kms-key",
        kms_key["arn"],
        "--dry-run",
        "--json",
    )

    assert done.code == 0, done.err
    calls = done.json()["calls"]
    assert [c["operation"] for c in calls] == [
        "copy_db_snapshot",
        "restore_db_instance_from_db_snapshot",
    ]
    assert calls[0]["params"]["KmsKeyId"] == kms_key["arn"]
    assert everything_in_rds(rds) == before


def test_a_missing_kms_key_is_refused_before_the_copy(ops, rds, legacy_instance):
    before = everything_in_rds(rds)

    done = ops(
        "rds", "restore", "--snapshot", "legacy-nightly", "--new-id", "d", "--kms-key", "alias/no"
    )

    assert done.code == 3
    assert "--kms-key alias/no: no such KMS key" in done.err
    assert everything_in_rds(rds) == before


def test_point_in_time_of_an_unencrypted_instance_is_refused_with_the_way_out(
    ops, rds, legacy_instance
):
    before = everything_in_rds(rds)

    done = ops("rds", "restore", "--instance", "legacy", "--latest", "--new-id", "pitr")

    assert done.code == 3
    assert "DB instance legacy is not encrypted" in done.err
    assert "ops rds snapshot --instance legacy" in done.err
    assert everything_in_rds(rds) == before


def test_kms_key_with_a_point_in_time_is_a_usage_error(ops, source_instance):
    done = ops(
        "rds", "restore", "--instance", "blog-single", "--latest", "--new-id", "p", "--kms-key", "k"
    )

    assert done.code == 2
