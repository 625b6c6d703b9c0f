"""`python -m ops aurora ...` against moto: restores that copy the source and touch nothing else."""

from __future__ import annotations

import boto3
import pytest
from moto.rds.models import RDSBackend

from ops import aurora
from tests.ops.conftest import KMS_KEY, everything_in_rds, tags_of


def _cluster(rds, name):
    return rds.describe_db_clusters(DBClusterIdentifier=name)["DBClusters"][0]


def _settled(rds, name):
    """A cluster's description without the one field that moves with the clock."""
    cluster = _cluster(rds, name)
    cluster.pop("LatestRestorableTime")
    return cluster


def _cluster_ids(rds):
    return sorted(c["DBClusterIdentifier"] for c in rds.describe_db_clusters()["DBClusters"])


def test_restore_copies_the_source_network_groups_and_key(ops, rds, network, source_cluster):
    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "blog-drill",
        "--ticket",
        "INC-42",
        "--json",
    )

    assert done.code == 0, done.err
    result = done.json()
    made = _cluster(rds, "blog-drill")
    assert [g["VpcSecurityGroupId"] for g in made["VpcSecurityGroups"]] == [
        network["security_group"]
    ]
    assert made["DBSubnetGroup"] == "blog-db"
    assert made["DBClusterParameterGroup"] == "blog-cluster"
    assert made["KmsKeyId"] == KMS_KEY
    assert made["StorageEncrypted"] is True
    assert made["EngineVersion"] == source_cluster["EngineVersion"]
    tags = tags_of(made["TagList"])
    assert tags["restored-from"] == "blog-prod-nightly"
    assert tags["ticket"] == "INC-42"
    assert "restored-at" in tags
    assert result["status"] == "ok"
    assert result["endpoint"] == made["Endpoint"]
    assert result["reader_endpoint"] == made["ReaderEndpoint"]
    assert result["writer"] == "blog-drill-1"
    assert result["verified"] == ["status", "engine", "engine_version", "encryption", "members"]


def test_restore_creates_writer_and_readers_like_the_source(ops, rds, source_cluster):
    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "blog-drill",
        "--instances",
        "3",
    )

    assert done.code == 0, done.err
    members = _cluster(rds, "blog-drill")["DBClusterMembers"]
    assert sorted(m["DBInstanceIdentifier"] for m in members) == [
        "blog-drill-1",
        "blog-drill-2",
        "blog-drill-3",
    ]
    writers = [m["DBInstanceIdentifier"] for m in members if m["IsClusterWriter"]]
    assert writers == ["blog-drill-1"]
    instance = rds.describe_db_instances(DBInstanceIdentifier="blog-drill-2")["DBInstances"][0]
    assert instance["DBInstanceClass"] == "db.r6g.large"
    assert instance["DBParameterGroups"][0]["DBParameterGroupName"] == "blog-instance"
    assert instance["PubliclyAccessible"] is False
    assert "endpoint: blog-drill.cluster-" in done.out


def test_the_source_cluster_is_left_exactly_as_it_was(ops, rds, source_cluster):
    before = _settled(rds, "blog-prod")

    assert (
        ops("aurora", "restore", "--snapshot", "blog-prod-nightly", "--new-cluster", "x").code == 0
    )

    assert _settled(rds, "blog-prod") == before


def test_restore_refuses_an_existing_cluster_that_moto_would_overwrite(ops, rds, source_cluster):
    rds.create_db_cluster(
        DBClusterIdentifier="blog-drill",
        Engine="aurora-mysql",
        MasterUsername="admin",
        MasterUserPassword="another-password-1",
    )
    existing = _settled(rds, "blog-drill")

    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "blog-drill",
        "--json",
    )

    assert done.code == 3
    assert done.json()["status"] == "refused"
    assert "blog-drill already exists" in done.json()["error"]
    assert done.json()["calls"] == []
    assert _settled(rds, "blog-drill") == existing


def test_restore_refuses_when_an_instance_name_is_taken(ops, rds, source_cluster):
    rds.create_db_instance(
        DBInstanceIdentifier="blog-drill-2",
        Engine="mysql",
        DBInstanceClass="db.t3.micro",
        MasterUsername="a",
        MasterUserPassword="password-123",
        AllocatedStorage=20,
    )

    done = ops(
        "aurora", "restore", "--snapshot", "blog-prod-nightly", "--new-cluster", "blog-drill"
    )

    assert done.code == 3
    assert "blog-drill-2 already exists" in done.err
    assert "blog-drill" not in _cluster_ids(rds)


def test_restore_refuses_a_missing_snapshot(ops, rds, source_cluster):
    done = ops("aurora", "restore", "--snapshot", "nope", "--new-cluster", "blog-drill")

    assert done.code == 3
    assert "no DB cluster snapshot nope" in done.err


def test_overrides_replace_what_is_looked_up(ops, rds, ec2, network, source_cluster):
    other = ec2.create_security_group(GroupName="drill", Description="d", VpcId=network["vpc"])

    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "blog-drill",
        "--security-group",
        other["GroupId"],
        "--instances",
        "1",
        "--instance-class",
        "db.r6g.xlarge",
    )

    assert done.code == 0, done.err
    made = _cluster(rds, "blog-drill")
    assert [g["VpcSecurityGroupId"] for g in made["VpcSecurityGroups"]] == [other["GroupId"]]
    instance = rds.describe_db_instances(DBInstanceIdentifier="blog-drill-1")["DBInstances"][0]
    assert instance["DBInstanceClass"] == "db.r6g.xlarge"


def test_point_in_time_restore_of_the_latest_time(ops, rds, source_cluster):
    done = ops(
        "aurora", "restore", "--cluster", "blog-prod", "--latest", "--new-cluster", "pitr", "--json"
    )

    assert done.code == 0, done.err
    assert done.json()["restored_from"] == "blog-prod@latest"
    assert tags_of(_cluster(rds, "pitr")["TagList"])["restored-from"] == "blog-prod@latest"
    assert _cluster(rds, "pitr")["KmsKeyId"] == KMS_KEY


def test_point_in_time_after_the_latest_restorable_time_is_refused(ops, rds, source_cluster):
    done = ops(
        "aurora",
        "restore",
        "--cluster",
        "blog-prod",
        "--to-time",
        "2999-01-01T00:00:00Z",
        "--new-cluster",
        "pitr",
    )

    assert done.code == 3
    assert "after the latest restorable" in done.err


@pytest.fixture
def legacy_cluster(rds, network):
    """An old cluster made before encryption was the rule, with a writer and a snapshot."""
    rds.create_db_cluster(
        DBClusterIdentifier="legacy",
        Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.05.2",
        MasterUsername="admin",
        MasterUserPassword="legacy-password-1",
        StorageEncrypted=False,
        BackupRetentionPeriod=7,
    )
    rds.create_db_instance(
        DBInstanceIdentifier="legacy-1",
        DBClusterIdentifier="legacy",
        Engine="aurora-mysql",
        DBInstanceClass="db.r6g.large",
    )
    rds.create_db_cluster_snapshot(
        DBClusterSnapshotIdentifier="legacy-snap", DBClusterIdentifier="legacy"
    )


@pytest.fixture
def moto_encrypts_restores_given_a_key(monkeypatch):
    """moto keeps an unencrypted snapshot's restore unencrypted even with KmsKeyId; AWS
    encrypts it with that key (RestoreDBClusterFromSnapshot, KmsKeyId). Do as AWS does."""
    real = RDSBackend.restore_db_cluster_from_snapshot

    def restore(backend, from_snapshot_id, overrides):
        cluster = real(backend, from_snapshot_id, overrides)
        if overrides.get("kms_key_id"):
            cluster.storage_encrypted = True
        return cluster

    monkeypatch.setattr(RDSBackend, "restore_db_cluster_from_snapshot", restore)


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["for-real", "dry-run"])
def test_an_unencrypted_snapshot_is_refused_before_anything_is_made(
    ops, rds, legacy_cluster, dry_run
):
    before = everything_in_rds(rds)

    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "legacy-snap",
        "--new-cluster",
        "legacy-drill",
        "--json",
        *dry_run,
    )

    assert done.code == 3
    assert done.json()["status"] == "refused"
    assert "legacy-snap is not encrypted" in done.json()["error"]
    assert "pass --kms-key KEY to restore it encrypted" in done.json()["error"]
    assert done.json()["calls"] == []
    assert everything_in_rds(rds) == before


def test_kms_key_restores_an_unencrypted_snapshot_encrypted(
    ops, rds, kms_key, legacy_cluster, moto_encrypts_restores_given_a_key
):
    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "legacy-snap",
        "--new-cluster",
        "legacy-drill",
        "--kms-key",
        kms_key["alias"],
        "--instances",
        "1",
        "--json",
    )

    assert done.code == 0, done.err
    calls = done.json()["calls"]
    assert calls[0]["operation"] == "restore_db_cluster_from_snapshot"
    # The alias is resolved up front, so the call names the key it checked.
    assert calls[0]["params"]["KmsKeyId"] == kms_key["arn"]
    made = _cluster(rds, "legacy-drill")
    assert made["StorageEncrypted"] is True
    assert made["KmsKeyId"] == kms_key["arn"]
    assert done.json()["kms_key"] == kms_key["arn"]
    assert "encryption" in done.json()["verified"]
    assert "legacy-snap is not encrypted: the new cluster is encrypted with" in done.err


def test_a_kms_key_that_cannot_encrypt_is_refused_before_anything_is_made(
    ops, rds, kms_key, legacy_cluster
):
    boto3.client("kms").disable_key(KeyId=kms_key["id"])
    before = everything_in_rds(rds)

    missing = ops(
        "aurora", "restore", "--snapshot", "legacy-snap", "--new-cluster", "d", "--kms-key", "nope"
    )
    disabled = ops(
        "aurora",
        "restore",
        "--snapshot",
        "legacy-snap",
        "--new-cluster",
        "d",
        "--kms-key",
        kms_key["arn"],
        "--dry-run",
    )

    assert missing.code == 3
    assert "--kms-key nope: no such KMS key" in missing.err
    assert disabled.code == 3
    assert "is Disabled: it cannot encrypt anything" in disabled.err
    assert everything_in_rds(rds) == before


def test_point_in_time_of_an_unencrypted_cluster_is_refused_with_the_way_out(
    ops, rds, kms_key, legacy_cluster
):
    before = everything_in_rds(rds)

    done = ops(
        "aurora",
        "restore",
        "--cluster",
        "legacy",
        "--latest",
        "--new-cluster",
        "pitr",
        "--kms-key",
        kms_key["arn"],
    )

    assert done.code == 3
    assert "DB cluster legacy is not encrypted" in done.err
    assert "ops aurora snapshot --cluster legacy" in done.err
    assert everything_in_rds(rds) == before


def test_a_snapshot_of_a_multi_az_db_cluster_is_refused(ops, rds, network):
    rds.create_db_cluster(
        DBClusterIdentifier="maz",
        Engine="mysql",
        MasterUsername="admin",
        MasterUserPassword="maz-password-1",
        StorageEncrypted=True,
        DBClusterInstanceClass="db.m6gd.large",
        StorageType="io1",
        Iops=1000,
        AllocatedStorage=100,
    )
    rds.create_db_cluster_snapshot(
        DBClusterSnapshotIdentifier="maz-snap", DBClusterIdentifier="maz"
    )
    before = everything_in_rds(rds)

    done = ops("aurora", "restore", "--snapshot", "maz-snap", "--new-cluster", "d")

    assert done.code == 3
    assert "maz-snap is mysql, not Aurora" in done.err
    assert everything_in_rds(rds) == before


def test_dry_run_prints_the_exact_calls_and_makes_nothing(ops, rds, source_cluster):
    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "blog-drill",
        "--dry-run",
        "--json",
    )

    assert done.code == 0, done.err
    calls = done.json()["calls"]
    assert [c["operation"] for c in calls] == [
        "restore_db_cluster_from_snapshot",
        "create_db_instance",
        "create_db_instance",
    ]
    assert calls[0]["params"]["KmsKeyId"] == KMS_KEY
    assert calls[0]["params"]["DBSubnetGroupName"] == "blog-db"
    assert calls[1]["params"]["DBClusterIdentifier"] == "blog-drill"
    assert "dry run, would call: rds.restore_db_cluster_from_snapshot(" in done.err
    assert _cluster_ids(rds) == ["blog-prod"]


def test_snapshot_is_tagged_and_waited_for(ops, rds, source_cluster):
    done = ops(
        "aurora",
        "snapshot",
        "--cluster",
        "blog-prod",
        "--snapshot-id",
        "before-upgrade",
        "--ticket",
        "CHG-7",
        "--json",
    )

    assert done.code == 0, done.err
    snap = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier="before-upgrade")[
        "DBClusterSnapshots"
    ][0]
    assert snap["Status"] == "available"
    arn = snap["DBClusterSnapshotArn"]
    tags = tags_of(rds.list_tags_for_resource(ResourceName=arn)["TagList"])
    assert tags["ticket"] == "CHG-7"
    assert done.json()["encrypted"] is True
    assert "cluster snapshot before-upgrade: available" in done.err


def test_snapshot_refuses_an_existing_snapshot_name(ops, source_cluster):
    done = ops("aurora", "snapshot", "--cluster", "blog-prod", "--snapshot-id", "blog-prod-nightly")

    assert done.code == 3
    assert "already exists" in done.err


def test_a_cluster_that_never_becomes_available_times_out(ops, rds, source_cluster, monkeypatch):
    # moto is instant: the slow AWS is a describe that keeps saying `creating`.
    monkeypatch.setattr(aurora, "_cluster_status", lambda session, name: "creating")

    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "blog-drill",
        "--timeout",
        "0.3",
        "--json",
    )

    assert done.code == 4
    assert done.json()["status"] == "timedout"
    assert done.json()["new_cluster"] == "blog-drill"
    assert "gave up waiting for DB cluster blog-drill after 0.3s (status creating)" in done.err
    assert "waiting for DB cluster blog-drill: creating" in done.err
    # Nothing more was started after the timeout: no instances for a cluster not yet there.
    assert [c["operation"] for c in done.json()["calls"]] == ["restore_db_cluster_from_snapshot"]


def test_progress_shows_each_status_until_available(ops, rds, source_cluster, monkeypatch):
    statuses = iter(["creating", "creating", "backing-up", "available"])
    real = aurora._cluster_status
    monkeypatch.setattr(
        aurora, "_cluster_status", lambda session, name: next(statuses, None) or real(session, name)
    )

    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "d",
        "--timeout",
        "5",
    )

    assert done.code == 0, done.err
    waits = [line for line in done.err.splitlines() if line.startswith("waiting for DB cluster d:")]
    # Off a terminal: one line per status change, each with the elapsed time.
    assert [w.split(": ")[1].split(" (")[0] for w in waits] == ["creating", "backing-up"]
    assert all(w.endswith("s)") for w in waits)
    assert "DB cluster d: available after" in done.err


@pytest.mark.parametrize("args", [["--snapshot", "s", "--latest"], ["--cluster", "c"]])
def test_point_in_time_options_must_match_the_source(ops, args):
    done = ops("aurora", "restore", *args, "--new-cluster", "n")

    assert done.code == 2


def test_restore_after_the_source_is_gone_uses_the_snapshot_key(ops, rds, source_cluster):
    for name in ("blog-prod-1", "blog-prod-2"):
        rds.delete_db_instance(DBInstanceIdentifier=name, SkipFinalSnapshot=True)
    rds.delete_db_cluster(DBClusterIdentifier="blog-prod", SkipFinalSnapshot=True)

    without_class = ops(
        "aurora", "restore", "--snapshot", "blog-prod-nightly", "--new-cluster", "back"
    )
    done = ops(
        "aurora",
        "restore",
        "--snapshot",
        "blog-prod-nightly",
        "--new-cluster",
        "back",
        "--instance-class",
        "db.r6g.large",
        "--instances",
        "1",
        "--json",
    )

    assert without_class.code == 3
    assert "pass --instance-class" in without_class.err
    assert done.code == 0, done.err
    assert _cluster(rds, "back")["KmsKeyId"] == KMS_KEY
