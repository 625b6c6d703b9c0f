"""Golden AMIs: list them, promote one to current, prune old ones with their snapshots.

"Current" is an SSM parameter (data type aws:ec2:image) that the launch template reads as
`resolve:ssm:<name>`, so promoting an image needs no new launch template version.
"""

from __future__ import annotations

import logging
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import Refused, Session, VerificationFailed, error_code, reporting

logger = logging.getLogger(__name__)

DEFAULT_PARAMETER = "/cloudblog/ami/current"
# Every golden image carries AppVersion (see the AMI template's tags).
DEFAULT_TAGS = ["AppVersion"]


def _filters(tags: list[str]) -> list[dict[str, Any]]:
    filters = []
    for tag in tags:
        key, sep, value = tag.partition("=")
        if sep:
            filters.append({"Name": f"tag:{key}", "Values": [value]})
        else:
            filters.append({"Name": "tag-key", "Values": [key]})
    return filters


def golden_images(session: Session, tags: list[str]) -> list[dict[str, Any]]:
    """Our golden images, newest first.

    CreationDate has one-second resolution; the name (version and build time, from the
    AMI template) breaks ties.
    """
    images = session.read("ec2", "describe_images", Owners=["self"], Filters=_filters(tags))
    return sorted(
        images["Images"],
        key=lambda i: (i.get("CreationDate", ""), i.get("Name", "")),
        reverse=True,
    )


def _parameter(session: Session, name: str) -> str | None:
    try:
        return session.read("ssm", "get_parameter", Name=name)["Parameter"]["Value"]
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return None
        raise


def images_in_use(session: Session, parameter: str) -> dict[str, str]:
    """Image id -> why it must stay: the current parameter, launch templates, instances."""
    used: dict[str, str] = {}
    current = _parameter(session, parameter)
    if current:
        used[current] = f"current ({parameter})"
    templates = session.read("ec2", "describe_launch_templates")["LaunchTemplates"]
    for template in templates:
        versions = session.read(
            "ec2",
            "describe_launch_template_versions",
            LaunchTemplateId=template["LaunchTemplateId"],
        )["LaunchTemplateVersions"]
        for version in versions:
            image = version.get("LaunchTemplateData", {}).get("ImageId")
            if image and image.startswith("resolve:ssm:"):
                image = _parameter(session, image.removeprefix("resolve:ssm:"))
            if image:
                name = template["LaunchTemplateName"]
                used.setdefault(image, f"launch template {name} v{version['VersionNumber']}")
    reservations = session.read(
        "ec2",
        "describe_instances",
        Filters=[{"Name": "instance-state-name", "Values": ["pending", "running", "stopped"]}],
    )["Reservations"]
    for reservation in reservations:
        for instance in reservation["Instances"]:
            used.setdefault(instance["ImageId"], f"instance {instance['InstanceId']}")
    return used


def _summary(image: dict[str, Any], used: dict[str, str]) -> dict[str, Any]:
    tags = {t["Key"]: t["Value"] for t in image.get("Tags", [])}
    return {
        "image": image["ImageId"],
        "name": image.get("Name"),
        "created": image.get("CreationDate"),
        "state": image.get("State"),
        "app_version": tags.get("AppVersion"),
        "in_use": used.get(image["ImageId"]),
        "snapshots": _snapshots(image),
    }


def _snapshots(image: dict[str, Any]) -> list[str]:
    return [
        m["Ebs"]["SnapshotId"]
        for m in image.get("BlockDeviceMappings", [])
        if m.get("Ebs", {}).get("SnapshotId")
    ]


def list_images(session: Session, *, tags: list[str], parameter: str) -> dict[str, Any]:
    used = images_in_use(session, parameter)
    images = [_summary(image, used) for image in golden_images(session, tags)]
    return {"current": _parameter(session, parameter), "images": images}


def promote(session: Session, *, image_id: str, tags: list[str], parameter: str) -> dict:
    golden = {image["ImageId"]: image for image in golden_images(session, tags)}
    if image_id not in golden:
        raise Refused(f"{image_id} is not one of our golden AMIs (tags {', '.join(tags)})")
    if golden[image_id]["State"] != "available":
        raise Refused(f"{image_id} is {golden[image_id]['State']}, not available")
    old = _parameter(session, parameter)
    result: dict[str, Any] = {"parameter": parameter, "old_value": old, "new_value": image_id}
    if old:
        result["rollback"] = f"python -m ops ami promote {old} --parameter {parameter}"
    with reporting(result):
        if old == image_id:
            session.say(f"{image_id} is already current")
            result["changed"] = False
            return result
        session.say(f"promoting {image_id} (was {old or 'unset'})")
        session.act(
            "ssm",
            "put_parameter",
            Name=parameter,
            Value=image_id,
            Type="String",
            DataType="aws:ec2:image",
            Overwrite=True,
        )
        result["changed"] = True
        if not session.dry_run and _parameter(session, parameter) != image_id:
            raise VerificationFailed(f"{parameter} does not hold {image_id}")
        return result


def prune(session: Session, *, keep: int, tags: list[str], parameter: str) -> dict[str, Any]:
    """Deregister all but the `keep` newest golden AMIs and any in use; delete their snapshots."""
    if keep < 1:
        raise Refused("--keep must be at least 1")
    used = images_in_use(session, parameter)
    images = golden_images(session, tags)
    kept = [
        {"image": i["ImageId"], "why": used.get(i["ImageId"], "among the newest")}
        for n, i in enumerate(images)
        if n < keep or i["ImageId"] in used
    ]
    doomed = [i for n, i in enumerate(images) if n >= keep and i["ImageId"] not in used]
    result: dict[str, Any] = {"kept": kept, "deregistered": [], "deleted_snapshots": []}
    with reporting(result):
        for image in doomed:
            session.say(f"deregistering {image['ImageId']} ({image.get('Name')})")
            # Deleting the snapshots ourselves: the API's own option is not honoured everywhere.
            session.act("ec2", "deregister_image", ImageId=image["ImageId"])
            result["deregistered"].append(image["ImageId"])
            for snapshot_id in _snapshots(image):
                session.act("ec2", "delete_snapshot", SnapshotId=snapshot_id)
                result["deleted_snapshots"].append(snapshot_id)
        return result
