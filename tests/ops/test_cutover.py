"""`python -m ops cutover`: the explicit step that points the site at a restored database."""

from __future__ import annotations

import boto3
import pytest

from ops import cutover


@pytest.fixture
def ssm(aws):
    return boto3.client("ssm")


@pytest.fixture
def restored(rds, source_cluster, ops):
    assert (
        ops(
            "aurora",
            "restore",
            "--snapshot",
            "blog-prod-nightly",
            "--new-cluster",
            "blog-restored",
            "--instances",
            "1",
        ).code
        == 0
    )
    return rds.describe_db_clusters(DBClusterIdentifier="blog-restored")["DBClusters"][0]


def test_parameter_holding_a_url_gets_the_new_host_and_keeps_the_rest(
    ops, ssm, restored, source_cluster
):
    old = f"mysql://blog:s3cret@{source_cluster['Endpoint']}:3306/cloudblog?connect_timeout=5"
    ssm.put_parameter(Name="/cloudblog/prod/DATABASE_URL", Value=old, Type="SecureString")

    done = ops(
        "cutover",
        "--ssm-parameter",
        "/cloudblog/prod/DATABASE_URL",
        "--to-cluster",
        "blog-restored",
        "--json",
    )

    assert done.code == 0, done.err
    now = ssm.get_parameter(Name="/cloudblog/prod/DATABASE_URL", WithDecryption=True)["Parameter"]
    assert (
        now["Value"]
        == f"mysql://blog:s3cret@{restored['Endpoint']}:3306/cloudblog?connect_timeout=5"
    )
    assert now["Type"] == "SecureString"
    result = done.json()
    # The old value is printed for rollback, without the password.
    assert result["old_value"] == old.replace("s3cret", "****")
    assert "s3cret" not in done.out + done.err
    assert result["changed"] is True


def test_plain_parameter_prints_a_rollback_command_that_works(ops, ssm, restored, source_cluster):
    ssm.put_parameter(
        Name="/cloudblog/prod/db-host", Value=source_cluster["Endpoint"], Type="String"
    )

    done = ops(
        "cutover",
        "--ssm-parameter",
        "/cloudblog/prod/db-host",
        "--to-cluster",
        "blog-restored",
        "--json",
    )
    rollback = done.json()["rollback"].split()
    assert rollback[:3] == ["python", "-m", "ops"]
    back = ops(*rollback[3:])

    assert done.code == 0 and back.code == 0, back.err
    value = ssm.get_parameter(Name="/cloudblog/prod/db-host")["Parameter"]["Value"]
    assert value == source_cluster["Endpoint"]


def test_route53_cname_moves_and_keeps_the_old_target(ops, restored, source_cluster):
    route53 = boto3.client("route53")
    zone = route53.create_hosted_zone(Name="internal.example.", CallerReference="t")["HostedZone"][
        "Id"
    ]
    route53.change_resource_record_sets(
        HostedZoneId=zone,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "CREATE",
                    "ResourceRecordSet": {
                        "Name": "db.internal.example.",
                        "Type": "CNAME",
                        "TTL": 300,
                        "ResourceRecords": [{"Value": source_cluster["Endpoint"]}],
                    },
                }
            ]
        },
    )

    done = ops(
        "cutover",
        "--zone",
        zone,
        "--record",
        "db.internal.example",
        "--to-cluster",
        "blog-restored",
        "--json",
    )

    assert done.code == 0, done.err
    records = route53.list_resource_record_sets(HostedZoneId=zone)["ResourceRecordSets"]
    cname = next(r for r in records if r["Type"] == "CNAME")
    assert cname["ResourceRecords"][0]["Value"] == restored["Endpoint"]
    assert done.json()["old_value"] == source_cluster["Endpoint"]
    assert done.json()["old_ttl"] == 300


def test_cutover_to_a_missing_database_is_refused_and_changes_nothing(ops, ssm):
    ssm.put_parameter(Name="/cloudblog/prod/db-host", Value="old.example", Type="String")

    done = ops("cutover", "--ssm-parameter", "/cloudblog/prod/db-host", "--to-cluster", "nope")

    assert done.code == 3
    assert ssm.get_parameter(Name="/cloudblog/prod/db-host")["Parameter"]["Value"] == "old.example"


def test_cutover_to_a_database_not_yet_available_is_refused(ops, ssm, restored, monkeypatch):
    ssm.put_parameter(Name="/cloudblog/prod/db-host", Value="old.example", Type="String")
    real = cutover.find_cluster

    def still_creating(session, name):
        return {**real(session, name), "Status": "creating"}

    monkeypatch.setattr(cutover, "find_cluster", still_creating)

    done = ops(
        "cutover", "--ssm-parameter", "/cloudblog/prod/db-host", "--to-cluster", "blog-restored"
    )

    assert done.code == 3
    assert "blog-restored is creating" in done.err


def test_a_parameter_that_does_not_exist_is_not_created(ops, ssm, restored):
    done = ops("cutover", "--ssm-parameter", "/typo/db-host", "--to-cluster", "blog-restored")

    assert done.code == 3
    assert ssm.describe_parameters()["Parameters"] == []


def test_dry_run_shows_the_put_and_leaves_the_value(ops, ssm, restored):
    ssm.put_parameter(Name="/cloudblog/prod/db-host", Value="old.example", Type="String")

    done = ops(
        "cutover",
        "--ssm-parameter",
        "/cloudblog/prod/db-host",
        "--to-cluster",
        "blog-restored",
        "--dry-run",
        "--json",
    )

    assert done.code == 0
    assert done.json()["calls"][0]["params"]["Value"] == restored["Endpoint"]
    assert ssm.get_parameter(Name="/cloudblog/prod/db-host")["Parameter"]["Value"] == "old.example"
