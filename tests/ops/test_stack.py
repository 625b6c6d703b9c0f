"""`python -m ops stack deploy|status|diff|delete` against moto's CloudFormation.

The template is deploy/cloudformation/cloudblog.yaml less what moto cannot create
(tests/deploy/cfn.py), written to a file and passed with --template; the Aurora cluster
the stack would make is stood in for by a real moto cluster (the `source_cluster`
fixture), so delete's refusal and --snapshot meet a real database.
"""

from __future__ import annotations

import json

import boto3
import pytest

from ops import stack as stack_module
from tests.deploy import cfn

DROP = {"DatabaseWriter", "DatabaseReader"}


@pytest.fixture(autouse=True)
def _moto_outputs_after_change_sets(aws, monkeypatch):
    """moto 5 builds a stack's outputs only in create_stack/update_stack, never after a
    change set runs (real CloudFormation does). The server runs in this process, so its
    ChangeSet.apply is patched to do what update_stack does afterwards."""
    from moto.cloudformation.models import ChangeSet

    original = ChangeSet.apply

    def apply(self):
        original(self)
        self.stack.template = self.template
        self.stack._parse_template()
        self.stack.output_map = self.stack._create_output_map()

    monkeypatch.setattr(ChangeSet, "apply", apply)


@pytest.fixture
def image(ec2):
    return ec2.register_image(Name="cloudblog-1.0-2026", RootDeviceName="/dev/xvda")["ImageId"]


@pytest.fixture
def template(tmp_path):
    """The moto variant, its cluster standing in as blog-prod (made by source_cluster)."""
    variant, _ = cfn.moto_variant(cfn.load(), drop=DROP, stand_ins={"DatabaseCluster": "blog-prod"})
    path = tmp_path / "cloudblog-moto.json"
    path.write_text(json.dumps(variant, indent=1))
    assert path.stat().st_size > stack_module.INLINE_LIMIT  # so the S3 path is the one tested
    return path


def _deploy(ops, template, image, *extra):
    return ops(
        "stack", "deploy", "--name", "blog", "--mode", "ha", "--ami", image,
        "--template", str(template), "--yes", "--json", *extra,
    )  # fmt: skip


def test_deploy_creates_through_a_change_set_and_prints_the_outputs(ops, template, image):
    done = _deploy(ops, template, image, "--param", "MediaBackend=s3")

    assert done.code == 0, done.err
    result = done.json()
    assert result["action"] == "create"
    assert result["stack_status"] == "CREATE_COMPLETE"
    assert result["outputs"]["SiteUrl"].startswith("http://blog-LoadBalance")
    assert result["outputs"]["QueueUrl"].endswith("/cloudblog-blog-jobs")
    changes = {row["resource"]: row["action"] for row in result["changes"]}
    assert changes["WebAutoScalingGroup"] == "Add"
    # The template went through S3 (it is over the inline limit) and progress to stderr.
    calls = [c["operation"] for c in result["calls"]]
    assert calls[:3] == ["create_bucket", "put_public_access_block", "put_object"]
    assert "create_change_set" in calls and "execute_change_set" in calls
    assert "Add     WebAutoScalingGroup" in done.err
    assert "stack blog: CREATE_COMPLETE after" in done.err
    parameters = boto3.client("cloudformation").describe_stacks(StackName="blog")["Stacks"][0][
        "Parameters"
    ]
    assert {"ParameterKey": "EnvName", "ParameterValue": "blog"} in parameters


def test_diff_shows_what_an_update_changes_and_keeps_previous_parameters(
    ops, template, image, tmp_path
):
    assert _deploy(ops, template, image).code == 0
    changed = json.loads(template.read_text())
    changed["Resources"]["JobsQueue"]["Properties"]["VisibilityTimeout"] = 600
    newer = tmp_path / "newer.json"
    newer.write_text(json.dumps(changed, indent=1))

    done = ops(
        "stack", "diff", "--name", "blog", "--template", str(newer),
        "--param", "WebMinSize=4", "--json",
    )  # fmt: skip

    assert done.code == 0, done.err
    result = done.json()
    assert result["action"] == "update"
    assert {"action": "Modify", "resource": "JobsQueue"}.items() <= result["changes"][0].items()
    assert "Modify  JobsQueue [AWS::SQS::Queue]" in done.err
    sent = next(c for c in result["calls"] if c["operation"] == "create_change_set")["params"]
    parameters = {p["ParameterKey"]: p for p in sent["Parameters"]}
    assert parameters["WebMinSize"]["ParameterValue"] == "4"
    assert parameters["Mode"] == {"ParameterKey": "Mode", "UsePreviousValue": True}
    assert parameters["ImageId"]["UsePreviousValue"] is True
    # diff discards its change set: nothing was applied.
    cf = boto3.client("cloudformation")
    summaries = cf.list_change_sets(StackName="blog")["Summaries"]
    assert [c for c in summaries if c["ExecutionStatus"] == "AVAILABLE"] == []
    assert cf.describe_stacks(StackName="blog")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"


def test_deploy_without_yes_and_without_a_terminal_applies_nothing(ops, template, image):
    done = ops(
        "stack", "deploy", "--name", "blog", "--mode", "ha", "--ami", image,
        "--template", str(template), "--json",
    )  # fmt: skip

    assert done.code == 3
    assert "pass --yes" in done.json()["error"]
    stacks = boto3.client("cloudformation").describe_stacks(StackName="blog")["Stacks"]
    assert stacks[0]["StackStatus"] == "REVIEW_IN_PROGRESS"  # the change set was never run


def test_a_person_saying_yes_at_the_prompt_applies_it(ops, template, image, monkeypatch):
    asked = []
    monkeypatch.setattr(stack_module, "confirm", lambda prompt: asked.append(prompt) or True)

    done = ops(
        "stack", "deploy", "--name", "blog", "--mode", "single", "--ami", image,
        "--template", str(template),
    )  # fmt: skip

    assert done.code == 0, done.err
    assert asked and "apply these" in asked[0]
    assert "PublicIp: " in done.out or '"PublicIp"' in done.out


def test_a_new_stack_needs_mode_and_ami(ops, template):
    done = ops("stack", "deploy", "--name", "blog", "--template", str(template), "--yes")

    assert done.code == 3
    assert "needs ImageId, Mode" in done.err


def test_ami_current_reads_what_ops_ami_promote_set(ops, template, image):
    boto3.client("ssm").put_parameter(Name="/cloudblog/ami/current", Value=image, Type="String")

    done = ops(
        "stack", "deploy", "--name", "blog", "--mode", "ha", "--ami", "current",
        "--template", str(template), "--dry-run", "--json",
    )  # fmt: skip

    assert done.code == 0, done.err
    sent = next(c for c in done.json()["calls"] if c["operation"] == "create_change_set")
    assert {"ParameterKey": "ImageId", "ParameterValue": image} in sent["params"]["Parameters"]
    assert "dry run, would call: cloudformation.create_change_set(" in done.err
    with pytest.raises(Exception, match="does not exist"):
        boto3.client("cloudformation").describe_stacks(StackName="blog")


def test_status_shows_outputs_and_events(ops, template, image):
    assert _deploy(ops, template, image).code == 0

    done = ops("stack", "status", "--name", "blog", "--json")

    assert done.code == 0
    result = done.json()
    assert result["stack_status"] == "CREATE_COMPLETE"
    assert result["parameters"]["Mode"] == "ha"
    assert "LoadBalancerDnsName" in result["outputs"]
    assert result["events"]
    assert ops("stack", "status", "--name", "nope").code == 3


# moto cannot delete the whole stack (it deletes the VPC before what is in it and fails
# with DependencyViolation), so delete is driven on a stack with the same contract: the
# outputs that name the data stores, a bucket retained by its DeletionPolicy.
SMALL = {
    "Parameters": {"ClusterId": {"Type": "String"}},
    "Resources": {
        "MediaBucket": {
            "Type": "AWS::S3::Bucket",
            "DeletionPolicy": "Retain",
            "Properties": {},
        },
        "JobsQueue": {"Type": "AWS::SQS::Queue", "Properties": {}},
    },
    "Outputs": {
        "DatabaseClusterId": {"Value": {"Ref": "ClusterId"}},
        "MediaBucketName": {"Value": {"Ref": "MediaBucket"}},
    },
}


@pytest.fixture
def small(aws):
    cf = boto3.client("cloudformation")
    cf.create_stack(
        StackName="blog",
        TemplateBody=json.dumps(SMALL),
        Parameters=[{"ParameterKey": "ClusterId", "ParameterValue": "blog-prod"}],
    )
    return {o["OutputKey"]: o["OutputValue"] for o in cf.describe_stacks(StackName="blog")[
        "Stacks"][0]["Outputs"]}  # fmt: skip


def _gone(name: str) -> bool:
    stacks = boto3.client("cloudformation").list_stacks()["StackSummaries"]
    return all(s["StackStatus"] == "DELETE_COMPLETE" for s in stacks if s["StackName"] == name)


def test_delete_refuses_while_the_database_holds_data(ops, small, source_cluster):
    done = ops("stack", "delete", "--name", "blog", "--json")

    assert done.code == 3
    assert "Aurora cluster blog-prod" in done.json()["error"]
    assert done.json()["calls"] == []
    assert not _gone("blog")


def test_delete_with_snapshot_snapshots_the_database_then_deletes(ops, small, source_cluster, rds):
    done = ops("stack", "delete", "--name", "blog", "--snapshot", "--json")

    assert done.code == 0, done.err
    result = done.json()
    snapshot = result["final_snapshot"]
    assert snapshot.startswith("blog-prod-")
    made = rds.describe_db_cluster_snapshots(DBClusterSnapshotIdentifier=snapshot)
    assert made["DBClusterSnapshots"][0]["Status"] == "available"
    cluster = rds.describe_db_clusters(DBClusterIdentifier="blog-prod")["DBClusters"][0]
    assert cluster["DeletionProtection"] is False
    operations = [c["operation"] for c in result["calls"]]
    assert operations == ["create_db_cluster_snapshot", "modify_db_cluster", "delete_stack"]
    assert result["stack_status"] == "DELETE_COMPLETE"
    assert _gone("blog")


def test_delete_with_retain_keeps_the_database_too(ops, small, source_cluster, rds):
    done = ops("stack", "delete", "--name", "blog", "--retain", "--json")

    assert done.code == 0, done.err
    assert done.json()["retained"] == ["Aurora cluster blog-prod"]
    assert [c["operation"] for c in done.json()["calls"]] == ["delete_stack"]
    assert rds.describe_db_clusters(DBClusterIdentifier="blog-prod")["DBClusters"]


def test_delete_with_retain_keeps_the_bucket_and_its_objects(ops, small):
    s3 = boto3.client("s3")
    s3.put_object(Bucket=small["MediaBucketName"], Key="2026/11/1-a.jpg", Body=b"x")
    refused = ops("stack", "delete", "--name", "blog")
    assert refused.code == 3
    assert f"media bucket {small['MediaBucketName']}" in refused.err

    done = ops("stack", "delete", "--name", "blog", "--retain", "--json")

    assert done.code == 0, done.err
    assert done.json()["retained"] == [f"media bucket {small['MediaBucketName']}"]
    assert _gone("blog")
    assert s3.get_object(Bucket=small["MediaBucketName"], Key="2026/11/1-a.jpg")["Body"].read()


def test_an_empty_stack_deletes_without_flags(ops, small):
    done = ops("stack", "delete", "--name", "blog", "--dry-run", "--json")
    assert done.code == 0
    assert [c["operation"] for c in done.json()["calls"]] == ["delete_stack"]
    assert not _gone("blog")

    assert ops("stack", "delete", "--name", "blog").code == 0
    assert _gone("blog")


def test_the_stack_commands_through_a_real_process(ops_cli, template, image):
    done = ops_cli(
        "stack", "deploy", "--name", "blog", "--mode", "single", "--ami", image,
        "--template", str(template), "--yes", "--json",
    )  # fmt: skip

    assert done.code == 0, done.err
    assert json.loads(done.out)["stack_status"] == "CREATE_COMPLETE"
    again = ops_cli(
        "stack", "deploy", "--name", "blog", "--template", str(template), "--yes", "--json"
    )
    assert again.code == 0, again.err
    assert json.loads(again.out)["action"] == "none"
    assert "no changes" in again.err
    assert ops_cli("stack", "delete", "--name", "blog", "--help").code == 0
    assert ops_cli("stack", "deploy", "--name", "blog", "--mode", "huge").code == 2
