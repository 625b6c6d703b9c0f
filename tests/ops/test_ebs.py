"""`python -m ops ebs ...` against moto: volumes from snapshots, attached and initialised."""

from __future__ import annotations

import pytest

from tests.ops.conftest import tags_of


@pytest.fixture
def volume(ec2):
    """The media volume of a single-instance site, with a completed snapshot."""
    made = ec2.create_volume(
        AvailabilityZone="us-east-1a",
        Size=50,
        VolumeType="gp3",
        Encrypted=True,
        Iops=4000,
        Throughput=250,
    )
    snap = ec2.create_snapshot(VolumeId=made["VolumeId"], Description="nightly")
    return {"volume": made["VolumeId"], "snapshot": snap["SnapshotId"]}


@pytest.fixture
def instance(ec2):
    ec2.register_image(Name="base", RootDeviceName="/dev/sda1")
    image = ec2.describe_images(Owners=["self"])["Images"][0]["ImageId"]
    made = ec2.run_instances(
        ImageId=image,
        MinCount=1,
        MaxCount=1,
        InstanceType="t3.small",
        Placement={"AvailabilityZone": "us-east-1a"},
    )
    return made["Instances"][0]["InstanceId"]


def test_restore_makes_an_encrypted_volume_like_the_source(ops, ec2, volume):
    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1a",
        "--ticket",
        "INC-3",
        "--json",
    )

    assert done.code == 0, done.err
    new_id = done.json()["volume"]
    made = ec2.describe_volumes(VolumeIds=[new_id])["Volumes"][0]
    assert made["State"] == "available"
    assert made["Encrypted"] is True
    assert made["Size"] == 50
    assert made["VolumeType"] == "gp3"
    assert made["Iops"] == 4000
    assert made["SnapshotId"] == volume["snapshot"]
    tags = tags_of(made["Tags"])
    assert tags["restored-from"] == volume["snapshot"]
    assert tags["ticket"] == "INC-3"
    assert done.json()["Throughput"] == 250
    assert done.json()["verified"] == ["state", "encryption", "size", "snapshot", "type"]


def test_restore_larger_but_never_smaller(ops, ec2, volume):
    larger = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1b",
        "--size",
        "80",
        "--json",
    )
    smaller = ops(
        "ebs", "restore", "--snapshot", volume["snapshot"], "--az", "us-east-1b", "--size", "10"
    )

    assert larger.code == 0, larger.err
    assert ec2.describe_volumes(VolumeIds=[larger.json()["volume"]])["Volumes"][0]["Size"] == 80
    assert smaller.code == 3
    assert "smaller than the snapshot's 50" in smaller.err


def test_restore_attaches_and_prints_the_initialisation_read(ops, ec2, volume, instance):
    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1a",
        "--attach",
        instance,
        "--device",
        "/dev/sdf",
        "--initialize",
        "--json",
    )

    assert done.code == 0, done.err
    made = ec2.describe_volumes(VolumeIds=[done.json()["volume"]])["Volumes"][0]
    assert made["State"] == "in-use"
    assert made["Attachments"][0]["InstanceId"] == instance
    assert made["Attachments"][0]["Device"] == "/dev/sdf"
    assert "fio --filename=/dev/sdf --rw=read" in done.json()["initialize_command"]
    assert "dd if=/dev/sdf of=/dev/null" in done.err


def test_initialisation_through_ssm_run_command(ops, volume, instance):
    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1a",
        "--attach",
        instance,
        "--device",
        "/dev/sdg",
        "--initialize",
        "ssm",
        "--json",
    )

    assert done.code == 0, done.err
    sent = [c for c in done.json()["calls"] if c["operation"] == "send_command"]
    assert sent[0]["params"]["InstanceIds"] == [instance]
    assert done.json()["ssm_command_id"]


def test_attach_to_an_instance_in_another_zone_is_refused_before_anything_is_made(
    ops, ec2, volume, instance
):
    before = len(ec2.describe_volumes()["Volumes"])

    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1b",
        "--attach",
        instance,
        "--device",
        "/dev/sdf",
    )

    assert done.code == 3
    assert "not --az us-east-1b" in done.err
    assert len(ec2.describe_volumes()["Volumes"]) == before


def test_a_device_in_use_is_refused(ops, volume, instance, ec2):
    root = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    device = root["BlockDeviceMappings"][0]["DeviceName"]

    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1a",
        "--attach",
        instance,
        "--device",
        device,
    )

    assert done.code == 3
    assert "already in use" in done.err


def test_a_taken_name_is_refused(ops, volume):
    first = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1a",
        "--name",
        "media-restore",
    )
    second = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1a",
        "--name",
        "media-restore",
    )

    assert first.code == 0, first.err
    assert second.code == 3
    assert "a volume named media-restore already exists" in second.err


def test_dry_run_lists_create_and_attach_and_makes_nothing(ops, ec2, volume, instance):
    before = ec2.describe_volumes()["Volumes"]

    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1a",
        "--attach",
        instance,
        "--device",
        "/dev/sdf",
        "--dry-run",
        "--json",
    )

    assert done.code == 0, done.err
    assert [c["operation"] for c in done.json()["calls"]] == ["create_volume", "attach_volume"]
    assert done.json()["calls"][0]["params"]["Encrypted"] is True
    assert ec2.describe_volumes()["Volumes"] == before


def test_snapshot_of_a_volume_is_tagged_and_waited_for(ops, ec2, volume):
    done = ops("ebs", "snapshot", "--volume", volume["volume"], "--ticket", "CHG-1", "--json")

    assert done.code == 0, done.err
    snap = ec2.describe_snapshots(SnapshotIds=[done.json()["snapshot"]])["Snapshots"][0]
    assert snap["State"] == "completed"
    assert tags_of(snap["Tags"])["ticket"] == "CHG-1"
    assert done.json()["encrypted"] is True


def test_attach_without_device_is_a_usage_error(ops, volume, instance):
    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        volume["snapshot"],
        "--az",
        "us-east-1a",
        "--attach",
        instance,
    )

    assert done.code == 2


@pytest.fixture
def unencrypted_snapshot(ec2):
    made = ec2.create_volume(AvailabilityZone="us-east-1a", Size=20, VolumeType="gp3")
    return ec2.create_snapshot(VolumeId=made["VolumeId"], Description="old")["SnapshotId"]


def test_an_unencrypted_snapshot_becomes_an_encrypted_volume_with_the_key_given(
    ops, ec2, kms_key, unencrypted_snapshot
):
    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        unencrypted_snapshot,
        "--az",
        "us-east-1a",
        "--kms-key",
        kms_key["alias"],
        "--json",
    )

    assert done.code == 0, done.err
    made = ec2.describe_volumes(VolumeIds=[done.json()["volume"]])["Volumes"][0]
    assert made["Encrypted"] is True
    assert made["KmsKeyId"] == kms_key["arn"]
    assert f"{unencrypted_snapshot} is not encrypted: the new volume is encrypted with" in done.err


@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]], ids=["for-real", "dry-run"])
def test_a_kms_key_that_is_not_there_is_refused_before_the_volume_is_made(
    ops, ec2, unencrypted_snapshot, dry_run
):
    before = ec2.describe_volumes()["Volumes"]

    done = ops(
        "ebs",
        "restore",
        "--snapshot",
        unencrypted_snapshot,
        "--az",
        "us-east-1a",
        "--kms-key",
        "alias/typo",
        "--json",
        *dry_run,
    )

    assert done.code == 3
    assert (
        done.json()["error"] == "--kms-key alias/typo: no such KMS key in this account and region"
    )
    assert done.json()["calls"] == []
    assert ec2.describe_volumes()["Volumes"] == before
