"""deploy/cloudformation/cloudblog.yaml: cfn-lint, and the security and availability rules.

Each rule is checked in every combination of the parameters that change the shape of
the stack (mode, media backend, TLS), on the resources that exist in that combination.
"""

from __future__ import annotations

import itertools
import runpy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from ops.userdata import render_cloud_config
from tests.deploy import cfn

ROOT = cfn.ROOT
CERT = "arn:aws:acm:us-east-1:123456789012:certificate/0123abcd-0000-4000-8000-000000000000"
SHAPES = [
    {"Mode": mode, "MediaBackend": media, "CertificateArn": cert, "MediaCdn": cdn}
    for mode, media, cert, cdn in itertools.product(
        ("ha", "single"), ("efs", "s3"), ("", CERT), ("false", "true")
    )
    if not (media == "efs" and cdn == "true")
]


def _id(shape: dict) -> str:
    tls = "tls" if shape["CertificateArn"] else "http"
    cdn = "+cdn" if shape["MediaCdn"] == "true" else ""
    return f"{shape['Mode']}-{shape['MediaBackend']}{cdn}-{tls}"


@pytest.fixture(scope="module")
def template():
    return cfn.load()


@pytest.fixture(params=SHAPES, ids=_id)
def stack(request, template):
    params = cfn.defaults(template, ImageId="ami-0123456789abcdef0", **request.param)
    return cfn.resolve(template, params)


def _ha(template, **given):
    return cfn.resolve(template, cfn.defaults(template, ImageId="ami-0123456789abcdef0", **given))


def test_cfn_lint_passes_on_every_template():
    templates = sorted((ROOT / "deploy" / "cloudformation").glob("*.yaml"))
    assert templates
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), *map(str, templates)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_cfn_lint_catches_a_broken_reference(tmp_path, template):
    # The lint test is only worth something if cfn-lint really reads our file.
    broken = (cfn.TEMPLATE.read_text()).replace(
        "!GetAtt JobsQueue.Arn", "!GetAtt JobsQueue.NoSuchAttribute", 1
    )
    path = tmp_path / "broken.yaml"
    path.write_text(broken)
    done = subprocess.run(
        [str(Path(sys.executable).parent / "cfn-lint"), str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode != 0
    assert "NoSuchAttribute" in done.stdout


def _ingress_rules(stack):
    for name, group in cfn.of_type(stack["Resources"], "AWS::EC2::SecurityGroup").items():
        for rule in group["Properties"].get("SecurityGroupIngress", []):
            yield name, rule
    for name, rule in cfn.of_type(stack["Resources"], "AWS::EC2::SecurityGroupIngress").items():
        yield name, rule["Properties"]


def test_only_the_edge_is_open_to_the_world_and_only_on_http_ports(stack):
    for name, rule in _ingress_rules(stack):
        if name == "EdgeSecurityGroup":
            assert rule.get("CidrIp") == "0.0.0.0/0"
            assert (rule["FromPort"], rule["ToPort"]) in ((80, 80), (443, 443))
        else:
            assert "CidrIp" not in rule and "CidrIpv6" not in rule, name
            assert rule["SourceSecurityGroupId"]["Ref"].endswith("SecurityGroup"), name


def test_nothing_listens_on_22(stack):
    for name, rule in _ingress_rules(stack):
        assert str(rule["IpProtocol"]) != "-1", name
        assert not rule["FromPort"] <= 22 <= rule["ToPort"], name


def test_data_stores_admit_only_the_web_and_worker_groups(stack):
    stores = ("DatabaseSecurityGroup", "CacheSecurityGroup", "FileSystemSecurityGroup")
    for name, rule in _ingress_rules(stack):
        if name in stores:
            assert rule["SourceSecurityGroupId"]["Ref"] in (
                "WebSecurityGroup",
                "WorkerSecurityGroup",
            )
    worker = stack["Resources"]["WorkerSecurityGroup"]["Properties"]
    assert not worker.get("SecurityGroupIngress")


def test_the_edge_group_sits_only_on_the_load_balancer_or_the_single_instance(stack):
    users = [
        name
        for name, resource in stack["Resources"].items()
        if name != "WebSecurityGroup"
        and {"Ref": "EdgeSecurityGroup"} in cfn.walk(resource["Properties"])
    ]
    expected = "LoadBalancer" if stack["Conditions"]["IsHA"] else "WebLaunchTemplate"
    assert users == [expected]


def test_every_data_store_is_encrypted(stack):
    resources = stack["Resources"]
    assert resources["DatabaseCluster"]["Properties"]["StorageEncrypted"] is True
    for queue in cfn.of_type(resources, "AWS::SQS::Queue").values():
        assert queue["Properties"]["SqsManagedSseEnabled"] is True
    for cache in cfn.of_type(resources, "AWS::ElastiCache::ReplicationGroup").values():
        assert cache["Properties"]["AtRestEncryptionEnabled"] is True
        assert cache["Properties"]["TransitEncryptionEnabled"] is True
        assert "resolve:secretsmanager" in cache["Properties"]["AuthToken"]["Fn::Sub"]
    for fs in cfn.of_type(resources, "AWS::EFS::FileSystem").values():
        assert fs["Properties"]["Encrypted"] is True
    for bucket in cfn.of_type(resources, "AWS::S3::Bucket").values():
        rules = bucket["Properties"]["BucketEncryption"]["ServerSideEncryptionConfiguration"]
        assert rules[0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
        assert all(bucket["Properties"]["PublicAccessBlockConfiguration"].values())
    for lt in cfn.of_type(resources, "AWS::EC2::LaunchTemplate").values():
        for device in lt["Properties"]["LaunchTemplateData"]["BlockDeviceMappings"]:
            assert device["Ebs"]["Encrypted"] is True


def test_no_password_is_written_into_the_template(template):
    cluster = template["Resources"]["DatabaseCluster"]["Properties"]
    assert "{{resolve:secretsmanager:" in cluster["MasterUserPassword"]["Fn::Sub"]
    for secret in cfn.of_type(template["Resources"], "AWS::SecretsManager::Secret").values():
        text = str(secret["Properties"].get("SecretString", ""))
        assert "GenerateSecretString" in secret["Properties"] or "{{resolve:" in text


def test_ha_mode_spreads_every_tier_over_availability_zones(template):
    stack = _ha(template, Mode="ha")
    resources = stack["Resources"]
    writer, reader = resources["DatabaseWriter"], resources["DatabaseReader"]
    assert writer["Properties"]["AvailabilityZone"] != reader["Properties"]["AvailabilityZone"]
    cache = resources["CacheReplicationGroup"]["Properties"]
    assert cache["MultiAZEnabled"] is cache["AutomaticFailoverEnabled"] is True
    assert cache["NumCacheClusters"] >= 2
    web = resources["WebAutoScalingGroup"]["Properties"]
    assert len(web["VPCZoneIdentifier"]) == 3
    zones = {
        str(resources[s["Ref"]]["Properties"]["AvailabilityZone"]) for s in web["VPCZoneIdentifier"]
    }
    assert len(zones) == 3
    mounts = cfn.of_type(resources, "AWS::EFS::MountTarget")
    assert len({m["Properties"]["SubnetId"]["Ref"] for m in mounts.values()}) == 3
    assert resources["LoadBalancer"]["Properties"]["Subnets"] == [
        {"Ref": f"PublicSubnet{z}"} for z in "ABC"
    ]


def test_single_mode_is_one_instance_with_an_address_and_no_load_balancer(template):
    stack = _ha(template, Mode="single")
    resources = stack["Resources"]
    assert list(cfn.of_type(resources, "AWS::EC2::Instance")) == ["WebInstance"]
    assert resources["WebAddress"]["Properties"]["InstanceId"] == {"Ref": "WebInstance"}
    for kind in (
        "AWS::ElasticLoadBalancingV2::LoadBalancer",
        "AWS::EC2::NatGateway",
        "AWS::ElastiCache::ReplicationGroup",
    ):
        assert not cfn.of_type(resources, kind), kind
    assert "DatabaseReader" not in resources
    assert resources["WorkerAutoScalingGroup"]["Properties"]["MaxSize"] == "1"


def test_nat_is_one_or_one_per_az(template):
    one = _ha(template, NatGateways="one")["Resources"]
    per_az = _ha(template, NatGateways="per-az")["Resources"]
    assert len(cfn.of_type(one, "AWS::EC2::NatGateway")) == 1
    assert len(cfn.of_type(per_az, "AWS::EC2::NatGateway")) == 3
    routes = [per_az[f"PrivateDefaultRoute{z}"]["Properties"]["NatGatewayId"] for z in "ABC"]
    assert routes == [{"Ref": f"NatGateway{z}"} for z in "ABC"]


def test_instances_require_imdsv2(stack):
    for lt in cfn.of_type(stack["Resources"], "AWS::EC2::LaunchTemplate").values():
        options = lt["Properties"]["LaunchTemplateData"]["MetadataOptions"]
        assert options["HttpTokens"] == "required"
        assert options["HttpPutResponseHopLimit"] == 1


def _statements(stack):
    for name, resource in stack["Resources"].items():
        properties = resource["Properties"]
        documents = [properties.get("PolicyDocument")]
        documents += [p["PolicyDocument"] for p in properties.get("Policies", [])]
        for document in filter(None, documents):
            for statement in document["Statement"]:
                yield name, statement


def test_no_iam_statement_allows_everything_on_everything(stack):
    seen = 0
    for name, statement in _statements(stack):
        seen += 1
        actions = statement.get("Action")
        actions = actions if isinstance(actions, list) else [actions]
        resources = statement.get("Resource")
        resources = resources if isinstance(resources, list) else [resources]
        if statement["Effect"] == "Allow":
            assert not ({"*", "*:*"} & set(map(str, actions)) and "*" in resources), name
            assert "*" not in resources, f"{name} allows {actions} on every resource"
    assert seen > 5


def test_instances_reach_shells_through_ssm_not_ssh(stack):
    for role in ("WebRole", "WorkerRole"):
        arns = stack["Resources"][role]["Properties"]["ManagedPolicyArns"]
        assert any("AmazonSSMManagedInstanceCore" in str(arn) for arn in arns)


def test_load_balancer_drains_within_gunicorns_graceful_timeout(template):
    graceful = runpy.run_path(str(ROOT / "config" / "gunicorn.conf.py"))["graceful_timeout"]
    delay = template["Parameters"]["DeregistrationDelaySeconds"]
    assert delay["Default"] < graceful
    assert delay["MaxValue"] < graceful
    group = _ha(template)["Resources"]["WebTargetGroup"]["Properties"]
    attributes = {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}
    assert attributes["deregistration_delay.timeout_seconds"] == {
        "Ref": "DeregistrationDelaySeconds"
    }
    assert group["HealthCheckPath"] == "/healthz"
    assert group["Matcher"] == {"HttpCode": "200"}


def test_stickiness_is_off_unless_asked_for(template):
    def sticky(**given):
        group = _ha(template, **given)["Resources"]["WebTargetGroup"]["Properties"]
        return {a["Key"]: a["Value"] for a in group["TargetGroupAttributes"]}["stickiness.enabled"]

    assert sticky() == "false"
    assert sticky(StickySessions="true") == "true"
    assert "hide statelessness bugs" in template["Parameters"]["StickySessions"]["Description"]


def test_http_redirects_to_https_with_a_certificate_and_serves_plainly_without(template):
    tls = _ha(template, CertificateArn=CERT)["Resources"]
    action = tls["HttpListener"]["Properties"]["DefaultActions"][0]
    assert action["Type"] == "redirect"
    assert action["RedirectConfig"]["Protocol"] == "HTTPS"
    certificates = tls["HttpsListener"]["Properties"]["Certificates"]
    assert certificates == [{"CertificateArn": {"Ref": "CertificateArn"}}]
    assert tls["ParamSslRedirect"]["Properties"]["Value"] == "true"
    plain = _ha(template)["Resources"]
    assert plain["HttpListener"]["Properties"]["DefaultActions"][0]["Type"] == "forward"
    assert "HttpsListener" not in plain
    # Plain HTTP must not send Django redirecting to an HTTPS nobody serves.
    assert plain["ParamSslRedirect"]["Properties"]["Value"] == "false"
    assert plain["ParamSessionCookieSecure"]["Properties"]["Value"] == "false"


def test_rolling_updates_keep_the_minimum_in_service(template):
    group = _ha(template)["Resources"]["WebAutoScalingGroup"]
    update = group["UpdatePolicy"]["AutoScalingRollingUpdate"]
    assert update["MinInstancesInService"] == {"Ref": "WebMinSize"}
    assert update["MaxBatchSize"] == 1
    params = template["Parameters"]
    assert params["WebMaxSize"]["Default"] > params["WebMinSize"]["Default"]


def test_deleting_the_stack_cannot_lose_data(template):
    resources = template["Resources"]
    cluster = resources["DatabaseCluster"]
    assert cluster["DeletionPolicy"] == cluster["UpdateReplacePolicy"] == "Snapshot"
    assert cluster["Properties"]["DeletionProtection"] is True
    assert cluster["Properties"]["BackupRetentionPeriod"] == {"Ref": "DbBackupRetentionDays"}
    for name in ("MediaFileSystem", "MediaBucket"):
        assert resources[name]["DeletionPolicy"] == "Retain", name


def test_a_snapshot_identifier_restores_the_cluster(template):
    restored = _ha(template, SnapshotIdentifier="blog-prod-nightly")["Resources"]
    props = restored["DatabaseCluster"]["Properties"]
    assert props["SnapshotIdentifier"] == {"Ref": "SnapshotIdentifier"}
    assert "DatabaseName" not in props
    fresh = _ha(template)["Resources"]["DatabaseCluster"]["Properties"]
    assert "SnapshotIdentifier" not in fresh
    assert fresh["DatabaseName"] == "cloudblog"


@pytest.mark.parametrize("role", ["web", "worker"])
@pytest.mark.parametrize("media", ["efs", "s3"])
def test_user_data_is_what_ops_userdata_render_makes(template, role, media):
    stack = _ha(template, MediaBackend=media)
    name = "WebLaunchTemplate" if role == "web" else "WorkerLaunchTemplate"
    data = stack["Resources"][name]["Properties"]["LaunchTemplateData"]["UserData"]
    text, variables = data["Fn::Base64"]["Fn::Sub"]
    efs = "fs-0123456789abcdef0" if media == "efs" else ""
    assert variables["EfsId"] == ({"Ref": "MediaFileSystem"} if efs else "")
    filled = text.replace("${EnvName}", "prod").replace("${EfsId}", efs)
    assert filled == render_cloud_config(env="prod", role=role, efs_id=efs)


def _eventbridge(schedule: str) -> str:
    """cron.yaml's five fields in EventBridge's six (one of the day fields must be ?)."""
    minute, hour, day, month, weekday = schedule.split()
    assert weekday == "*", "a weekday schedule needs day-of-month ? instead"
    minute = minute.replace("*/", "0/")
    return f"cron({minute} {hour} {day} {month} ? *)"


def test_the_periodic_jobs_are_cron_yamls_with_the_same_schedules(template):
    from worker import registry

    jobs = yaml.safe_load((ROOT / "cron.yaml").read_text())["cron"]
    schedules = cfn.of_type(template["Resources"], "AWS::Scheduler::Schedule")
    by_name = {s["Properties"]["Name"]["Fn::Sub"].split("}-", 1)[1]: s for s in schedules.values()}
    assert set(by_name) == {job["name"] for job in jobs}
    for job in jobs:
        props = by_name[job["name"]]["Properties"]
        assert props["ScheduleExpression"] == _eventbridge(job["schedule"]), job["name"]
        assert props["ScheduleExpressionTimezone"] == "UTC"
        body = yaml.safe_load(props["Target"]["Input"])
        assert body["task"] == registry.periodic_task_path(job["name"])
        # No id: an id would make the worker treat every later firing as a duplicate.
        assert "id" not in body
        assert props["Target"]["Arn"] == {"Fn::GetAtt": ["JobsQueue", "Arn"]}


def test_queue_visibility_outlasts_the_jobs_time_limit(template):
    from django.conf import settings

    queue = template["Resources"]["JobsQueue"]["Properties"]
    assert queue["VisibilityTimeout"] > settings.WORKER_TASK_TIME_LIMIT
    assert queue["VisibilityTimeout"] > 299  # the sqsd InactivityTimeout of the EB bundle
    assert queue["RedrivePolicy"]["maxReceiveCount"] == 5


def test_outputs_name_the_url_and_every_endpoint(template):
    for shape, wanted in (
        ({"Mode": "ha"}, {"SiteUrl", "LoadBalancerDnsName", "DatabaseReaderEndpoint"}),
        ({"Mode": "ha"}, {"CacheEndpoint", "MediaFileSystemId", "QueueUrl"}),
        ({"Mode": "single"}, {"SiteUrl", "PublicIp", "DatabaseEndpoint", "QueueUrl"}),
        ({"MediaBackend": "s3", "MediaCdn": "true"}, {"MediaBucketName", "MediaCdnDomain"}),
    ):
        assert wanted <= set(_ha(template, **shape)["Outputs"]), shape
