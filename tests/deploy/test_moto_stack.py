"""The stack deployed into moto's CloudFormation (server mode), less what moto cannot create.

moto 5 creates the network, security groups, load balancer, target group, listeners,
launch templates, Auto Scaling groups, the single instance and its Elastic IP, SQS, S3,
EFS, IAM, SSM parameters, SNS and the dashboard. It has no CloudFormation model for
Aurora clusters (and so their instances), ElastiCache, Secrets Manager secrets,
EventBridge Scheduler, CloudWatch alarms, scaling policies, bucket policies or
CloudFront: `cfn.moto_variant` leaves those out and the template tests cover them.
"""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from ops.userdata import render_cloud_config
from tests.deploy import cfn
from userdata.sources import ssm_parameters

# What the moto deploy leaves out: README "Deploying on AWS" lists the same.
NOT_IN_MOTO = {
    "AWS::RDS::DBCluster",
    "AWS::RDS::DBInstance",
    "AWS::ElastiCache::ReplicationGroup",
    "AWS::ElastiCache::SubnetGroup",
    "AWS::SecretsManager::Secret",
    "AWS::Scheduler::Schedule",
    "AWS::CloudWatch::Alarm",
    "AWS::AutoScaling::ScalingPolicy",
    "AWS::S3::BucketPolicy",
    "AWS::CloudFront::Distribution",
    "AWS::CloudFront::OriginAccessControl",
    "AWS::SNS::Subscription",
}
# Aurora instances need their cluster, which moto's CloudFormation cannot make.
DROP = {"DatabaseWriter", "DatabaseReader"}


@pytest.fixture
def image(aws):
    ec2 = boto3.client("ec2")
    return ec2.register_image(Name="cloudblog-1.0-2026", RootDeviceName="/dev/xvda")["ImageId"]


def _deploy(name: str, image: str, **params: str) -> dict:
    variant, _ = cfn.moto_variant(cfn.load(), drop=DROP)
    client = boto3.client("cloudformation")
    values = {"ImageId": image, "EnvName": name, **params}
    client.create_stack(
        StackName=name,
        TemplateBody=json.dumps(variant),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    stack = client.describe_stacks(StackName=name)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in stack["Outputs"]}


def _group_id(env: str, role: str) -> str:
    # By Name tag: moto's describe_stack_resource(s) trips over conditional resources.
    groups = boto3.client("ec2").describe_security_groups(
        Filters=[{"Name": "tag:Name", "Values": [f"cloudblog-{env}-{role}"]}]
    )["SecurityGroups"]
    assert len(groups) == 1, groups
    return groups[0]["GroupId"]


def _launch_data(group_name: str) -> dict:
    group = boto3.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[group_name]
    )["AutoScalingGroups"][0]
    template = group["LaunchTemplate"]
    versions = boto3.client("ec2").describe_launch_template_versions(
        LaunchTemplateId=template["LaunchTemplateId"]
    )["LaunchTemplateVersions"]
    return versions[-1]["LaunchTemplateData"]


def test_what_moto_leaves_out_is_exactly_the_documented_list():
    template = cfn.load()
    _, gone = cfn.moto_variant(template, drop=DROP)
    kinds = {template["Resources"][name]["Type"] for name in gone}
    assert kinds == NOT_IN_MOTO


def test_ha_stack_deploys_with_groups_that_reference_each_other(image):
    _deploy("blog", image, Mode="ha")
    ec2 = boto3.client("ec2")

    def sources(role: str) -> set[tuple[int, str]]:
        group = ec2.describe_security_groups(GroupIds=[_group_id("blog", role)])
        found = set()
        for permission in group["SecurityGroups"][0]["IpPermissions"]:
            for pair in permission.get("UserIdGroupPairs", []):
                found.add((permission["FromPort"], pair["GroupId"]))
            for cidr in permission.get("IpRanges", []):
                found.add((permission["FromPort"], cidr["CidrIp"]))
        return found

    edge, web, worker = (_group_id("blog", role) for role in ("edge", "web", "worker"))
    assert sources("edge") == {(80, "0.0.0.0/0")}
    assert sources("web") == {(80, edge)}
    assert sources("worker") == set()
    assert sources("db") == {(3306, web), (3306, worker)}
    assert sources("efs") == {(2049, web), (2049, worker)}


def test_ha_web_tier_is_an_asg_over_three_azs_behind_the_alb_checking_healthz(image):
    outputs = _deploy("blog", image, Mode="ha")
    elb = boto3.client("elbv2")
    autoscaling = boto3.client("autoscaling")
    group = autoscaling.describe_auto_scaling_groups(
        AutoScalingGroupNames=[outputs["WebAutoScalingGroupName"]]
    )["AutoScalingGroups"][0]
    assert group["MinSize"] == 3 and group["MaxSize"] == 9
    assert len(set(group["AvailabilityZones"])) == 3
    assert len(group["Instances"]) == 3
    assert group["HealthCheckType"] == "ELB"
    [target_group_arn] = group["TargetGroupARNs"]
    target_group = elb.describe_target_groups(TargetGroupArns=[target_group_arn])["TargetGroups"][0]
    assert target_group["HealthCheckPath"] == "/healthz"
    # (moto's CloudFormation ignores TargetGroupAttributes: drain and stickiness are
    # checked on the template in test_template_policy.py.)
    balancer = elb.describe_load_balancers()["LoadBalancers"][0]
    assert balancer["DNSName"] == outputs["LoadBalancerDnsName"]
    assert balancer["Scheme"] == "internet-facing"
    listeners = elb.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert [(li["Port"], li["DefaultActions"][0]["Type"]) for li in listeners] == [(80, "forward")]
    rules = elb.describe_rules(ListenerArn=listeners[0]["ListenerArn"])["Rules"]
    hidden = [r for r in rules if r["Actions"][0]["Type"] == "fixed-response"]
    assert hidden[0]["Conditions"][0]["PathPatternConfig"]["Values"] == ["/readyz", "/worker/*"]


def test_instances_boot_with_imdsv2_required_and_the_rendered_user_data(image):
    outputs = _deploy("blog", image, Mode="ha")
    for output, role in (
        ("WebAutoScalingGroupName", "web"),
        ("WorkerAutoScalingGroupName", "worker"),
    ):
        version = _launch_data(outputs[output])
        assert version["MetadataOptions"]["HttpTokens"] == "required"
        assert version["ImageId"] == image
        user_data = base64.b64decode(version["UserData"]).decode()
        # With the EFS id moto gave the stack's file system.
        assert user_data == render_cloud_config(
            env="blog", role=role, efs_id=outputs["MediaFileSystemId"]
        )


def test_the_bootstrap_finds_its_configuration_under_the_stacks_ssm_path(image):
    outputs = _deploy("blog", image, Mode="ha")
    values, _ = ssm_parameters("us-east-1", outputs["ConfigurationPath"])
    assert values["TASKS_BACKEND"] == "sqs"
    assert values["WORKER_QUEUE_URL"] == outputs["QueueUrl"]
    assert values["DJANGO_ALLOWED_HOSTS"] == outputs["LoadBalancerDnsName"]
    assert values["MEDIA_BACKEND"] == "efs"
    assert values["MEDIA_ROOT"] == "/mnt/cloudblog-media"
    assert values["DEPLOYMENT_MODE"] == "ha"
    # No certificate: plain HTTP, so Django must not insist on HTTPS.
    assert values["SECURE_SSL_REDIRECT"] == "false"


def test_jobs_that_fail_every_attempt_end_in_the_dead_letter_queue(image):
    outputs = _deploy("blog", image, Mode="ha")
    sqs = boto3.client("sqs")
    attributes = sqs.get_queue_attributes(QueueUrl=outputs["QueueUrl"], AttributeNames=["All"])[
        "Attributes"
    ]
    assert attributes["VisibilityTimeout"] == "300"
    redrive = json.loads(attributes["RedrivePolicy"])
    dlq_arn = sqs.get_queue_attributes(
        QueueUrl=outputs["DeadLetterQueueUrl"], AttributeNames=["QueueArn"]
    )["Attributes"]["QueueArn"]
    assert redrive == {"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 5}


def test_single_mode_is_one_instance_on_an_elastic_ip_with_an_s3_bucket(image):
    outputs = _deploy("solo", image, Mode="single", MediaBackend="s3")
    ec2 = boto3.client("ec2")
    running = [
        i
        for r in ec2.describe_instances()["Reservations"]
        for i in r["Instances"]
        if i["State"]["Name"] == "running"
    ]
    web = [i for i in running if i["InstanceId"] == outputs["WebInstanceId"]]
    assert len(web) == 1
    [address] = ec2.describe_addresses(PublicIps=[outputs["PublicIp"]])["Addresses"]
    assert address["InstanceId"] == outputs["WebInstanceId"]
    assert outputs["SiteUrl"] == f"http://{outputs['PublicIp']}/"
    assert not boto3.client("elbv2").describe_load_balancers()["LoadBalancers"]
    assert not ec2.describe_nat_gateways()["NatGateways"]
    s3 = boto3.client("s3")
    # The media bucket is there for the instances (its settings: test_template_policy.py).
    s3.head_bucket(Bucket=outputs["MediaBucketName"])
    worker = boto3.client("autoscaling").describe_auto_scaling_groups(
        AutoScalingGroupNames=[outputs["WorkerAutoScalingGroupName"]]
    )["AutoScalingGroups"][0]
    assert worker["MaxSize"] == 1
