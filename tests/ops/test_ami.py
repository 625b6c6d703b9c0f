"""`python -m ops ami list|promote|prune`: golden AMIs by tag, current via SSM, safe pruning."""

from __future__ import annotations

import boto3
import pytest


@pytest.fixture
def ssm(aws):
    return boto3.client("ssm")


@pytest.fixture
def golden(ec2):
    """Five golden AMIs, oldest first (each with its own root snapshot), and one that is not."""
    images = []
    for n in range(1, 6):
        image = ec2.register_image(Name=f"cloudblog-1.{n}-2026", RootDeviceName="/dev/sda1")
        ec2.create_tags(
            Resources=[image["ImageId"]], Tags=[{"Key": "AppVersion", "Value": f"1.{n}"}]
        )
        images.append(image["ImageId"])
    ec2.register_image(Name="someone-elses", RootDeviceName="/dev/sda1")
    return images


def _snapshots(ec2, image_ids):
    images = ec2.describe_images(ImageIds=image_ids)["Images"]
    return [m["Ebs"]["SnapshotId"] for i in images for m in i["BlockDeviceMappings"] if "Ebs" in m]


def _image_ids(ec2):
    return {i["ImageId"] for i in ec2.describe_images(Owners=["self"])["Images"]}


def test_list_shows_golden_images_newest_first_with_their_use(ops, ec2, ssm, golden):
    ssm.put_parameter(
        Name="/cloudblog/ami/current", Value=golden[2], Type="String", DataType="aws:ec2:image"
    )

    done = ops("ami", "list", "--json")

    assert done.code == 0, done.err
    listed = done.json()["images"]
    assert [i["image"] for i in listed] == golden[::-1]
    assert listed[2]["in_use"] == "current (/cloudblog/ami/current)"
    assert listed[0]["app_version"] == "1.5"
    assert done.json()["current"] == golden[2]


def test_promote_sets_the_parameter_and_prints_the_old_one(ops, ssm, golden):
    first = ops("ami", "promote", golden[3], "--json")
    second = ops("ami", "promote", golden[4], "--ticket", "CHG-2", "--json")

    assert first.code == 0 and second.code == 0, second.err
    parameter = ssm.get_parameter(Name="/cloudblog/ami/current")["Parameter"]
    assert parameter["Value"] == golden[4]
    assert parameter["DataType"] == "aws:ec2:image"
    assert first.json()["old_value"] is None
    assert second.json()["old_value"] == golden[3]
    assert (
        second.json()["rollback"]
        == f"python -m ops ami promote {golden[3]} --parameter /cloudblog/ami/current"
    )


def test_promote_refuses_an_image_that_is_not_golden(ops, ec2, ssm, golden):
    other = (_image_ids(ec2) - set(golden)).pop()

    done = ops("ami", "promote", other)

    assert done.code == 3
    assert "not one of our golden AMIs" in done.err
    assert ssm.describe_parameters()["Parameters"] == []


def test_prune_keeps_the_newest_and_those_in_use(ops, ec2, ssm, golden):
    ssm.put_parameter(Name="/cloudblog/ami/current", Value=golden[3], Type="String")
    # An old launch template version still names the oldest image directly...
    ec2.create_launch_template(
        LaunchTemplateName="web-old", LaunchTemplateData={"ImageId": golden[0]}
    )
    # ...and the live one resolves the parameter.
    ec2.create_launch_template(
        LaunchTemplateName="web",
        LaunchTemplateData={"ImageId": "resolve:ssm:/cloudblog/ami/current"},
    )
    doomed_snapshots = _snapshots(ec2, [golden[1], golden[2]])
    kept_snapshots = _snapshots(ec2, [golden[0], golden[3], golden[4]])

    done = ops("ami", "prune", "--keep", "1", "--json")

    assert done.code == 0, done.err
    assert sorted(done.json()["deregistered"]) == sorted([golden[1], golden[2]])
    assert (
        golden[0] in _image_ids(ec2)
        and golden[3] in _image_ids(ec2)
        and golden[4] in _image_ids(ec2)
    )
    assert not {golden[1], golden[2]} & _image_ids(ec2)
    # moto's deregister leaves snapshots behind, as AWS's can: they are deleted explicitly.
    left = {s["SnapshotId"] for s in ec2.describe_snapshots(OwnerIds=["self"])["Snapshots"]}
    assert not set(doomed_snapshots) & left
    assert set(kept_snapshots) <= left
    why = {k["image"]: k["why"] for k in done.json()["kept"]}
    assert why[golden[0]] == "launch template web-old v1"
    assert why[golden[3]] == "current (/cloudblog/ami/current)"
    assert why[golden[4]] == "among the newest"


def test_prune_keeps_images_that_instances_run(ops, ec2, golden):
    ec2.run_instances(ImageId=golden[0], MinCount=1, MaxCount=1)

    done = ops("ami", "prune", "--keep", "2", "--json")

    assert done.code == 0, done.err
    assert sorted(done.json()["deregistered"]) == sorted(golden[1:3])
    assert golden[0] in _image_ids(ec2)


def test_prune_dry_run_deletes_nothing(ops, ec2, golden):
    before = _image_ids(ec2)

    done = ops("ami", "prune", "--keep", "2", "--dry-run", "--json")

    assert done.code == 0
    operations = [c["operation"] for c in done.json()["calls"]]
    assert operations.count("deregister_image") == 3
    assert operations.count("delete_snapshot") == 3
    assert _image_ids(ec2) == before


def test_prune_refuses_to_keep_nothing(ops, ec2, golden):
    done = ops("ami", "prune", "--keep", "0")

    assert done.code == 3
    assert len(_image_ids(ec2)) == 6
