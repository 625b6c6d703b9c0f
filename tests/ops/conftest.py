"""AWS resources to restore from, made in moto, and two ways to call `python -m ops`."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from ops.__main__ import main

ROOT = Path(__file__).resolve().parent.parent.parent
KMS_KEY = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"


@dataclass
class Outcome:
    code: int
    out: str
    err: str

    def json(self) -> dict:
        return json.loads(self.out)


@pytest.fixture
def ops(aws, capsys):
    """`python -m ops ...` in this process (fast; lets a test inject a slow describe)."""

    def call(*args: str) -> Outcome:
        capsys.readouterr()
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse: --help and usage errors
            code = int(exc.code or 0)
        captured = capsys.readouterr()
        return Outcome(code, captured.out, captured.err)

    return call


@pytest.fixture
def ops_cli(aws):
    """`python -m ops ...` as a separate process, the way an operator or a script runs it."""

    def call(*args: str) -> Outcome:
        done = subprocess.run(
            [sys.executable, "-m", "ops", *args],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        return Outcome(done.returncode, done.stdout, done.stderr)

    return call


@pytest.fixture
def rds(aws):
    return boto3.client("rds")


@pytest.fixture
def ec2(aws):
    return boto3.client("ec2")


@pytest.fixture
def kms_key(aws):
    """A customer managed key in moto: its id, ARN and alias."""
    kms = boto3.client("kms")
    made = kms.create_key(Description="restores")["KeyMetadata"]
    kms.create_alias(AliasName="alias/cloudblog-restores", TargetKeyId=made["KeyId"])
    return {"id": made["KeyId"], "arn": made["Arn"], "alias": "alias/cloudblog-restores"}


@pytest.fixture
def network(ec2, rds):
    """A VPC with two subnets, a security group and a DB subnet group, like production's."""
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{n}.0/24", AvailabilityZone=f"us-east-1{z}")[
            "Subnet"
        ]["SubnetId"]
        for n, z in ((1, "a"), (2, "b"))
    ]
    group = ec2.create_security_group(GroupName="db", Description="database", VpcId=vpc)
    rds.create_db_subnet_group(
        DBSubnetGroupName="blog-db", DBSubnetGroupDescription="db", SubnetIds=subnets
    )
    rds.create_db_cluster_parameter_group(
        DBClusterParameterGroupName="blog-cluster",
        DBParameterGroupFamily="aurora-mysql8.0",
        Description="cluster",
    )
    rds.create_db_parameter_group(
        DBParameterGroupName="blog-instance",
        DBParameterGroupFamily="aurora-mysql8.0",
        Description="instance",
    )
    return {"vpc": vpc, "subnets": subnets, "security_group": group["GroupId"]}


@pytest.fixture
def source_cluster(rds, network):
    """The production Aurora cluster: encrypted, a writer and a reader, and one snapshot."""
    rds.create_db_cluster(
        DBClusterIdentifier="blog-prod",
        Engine="aurora-mysql",
        EngineVersion="8.0.mysql_aurora.3.05.2",
        MasterUsername="admin",
        MasterUserPassword="correct-horse-battery",
        StorageEncrypted=True,
        KmsKeyId=KMS_KEY,
        VpcSecurityGroupIds=[network["security_group"]],
        DBSubnetGroupName="blog-db",
        DBClusterParameterGroupName="blog-cluster",
        BackupRetentionPeriod=7,
    )
    for name in ("blog-prod-1", "blog-prod-2"):
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier="blog-prod",
            Engine="aurora-mysql",
            DBInstanceClass="db.r6g.large",
            DBParameterGroupName="blog-instance",
        )
    rds.create_db_cluster_snapshot(
        DBClusterSnapshotIdentifier="blog-prod-nightly", DBClusterIdentifier="blog-prod"
    )
    return rds.describe_db_clusters(DBClusterIdentifier="blog-prod")["DBClusters"][0]


@pytest.fixture
def source_instance(rds, network):
    """A single encrypted RDS MySQL instance with backups, and one snapshot."""
    rds.create_db_instance(
        DBInstanceIdentifier="blog-single",
        Engine="mysql",
        EngineVersion="8.0.35",
        DBInstanceClass="db.t3.medium",
        MasterUsername="admin",
        MasterUserPassword="correct-horse-battery",
        AllocatedStorage=20,
        StorageEncrypted=True,
        BackupRetentionPeriod=7,
        DBSubnetGroupName="blog-db",
        VpcSecurityGroupIds=[network["security_group"]],
    )
    rds.create_db_snapshot(
        DBSnapshotIdentifier="blog-single-nightly", DBInstanceIdentifier="blog-single"
    )
    return rds.describe_db_instances(DBInstanceIdentifier="blog-single")["DBInstances"][0]


def tags_of(tag_list: list[dict]) -> dict[str, str]:
    return {tag["Key"]: tag["Value"] for tag in tag_list}


def everything_in_rds(rds) -> dict[str, list[str]]:
    """The ids of every cluster, instance and snapshot: what a refusal must leave unchanged."""
    listed = {
        "clusters": ("describe_db_clusters", "DBClusters", "DBClusterIdentifier"),
        "instances": ("describe_db_instances", "DBInstances", "DBInstanceIdentifier"),
        "snapshots": ("describe_db_snapshots", "DBSnapshots", "DBSnapshotIdentifier"),
        "cluster_snapshots": (
            "describe_db_cluster_snapshots",
            "DBClusterSnapshots",
            "DBClusterSnapshotIdentifier",
        ),
    }
    return {
        kind: sorted(item[key] for item in getattr(rds, operation)()[field])
        for kind, (operation, field, key) in listed.items()
    }
