"""EBS: snapshot a volume; restore a snapshot as a new volume, attach it, initialise it."""

from __future__ import annotations

import logging
import shlex
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import Refused, Session, VerificationFailed, error_code, reporting, usable_kms_key

logger = logging.getLogger(__name__)

# Types whose IOPS (and, for gp3, throughput) are set per volume.
_PROVISIONED = {"gp3": ("Iops", "Throughput"), "io1": ("Iops",), "io2": ("Iops",)}


def initialization_command(device: str) -> str:
    """The full read that pulls every block from S3, so first reads are not slow later.

    fio reads in parallel and is much faster than dd; dd is there on every image.
    """
    dev = shlex.quote(device)
    return (
        f"if command -v fio >/dev/null; then sudo fio --filename={dev} --rw=read --bs=1M "
        f"--iodepth=32 --ioengine=libaio --direct=1 --name=volume-initialize; "
        f"else sudo dd if={dev} of=/dev/null bs=1M status=progress; fi"
    )


def _find(session: Session, kind: str, identifier: str) -> dict[str, Any] | None:
    operation, key, missing = {
        "volume": ("describe_volumes", "VolumeIds", "InvalidVolume.NotFound"),
        "snapshot": ("describe_snapshots", "SnapshotIds", "InvalidSnapshot.NotFound"),
        "instance": ("describe_instances", "InstanceIds", "InvalidInstanceID.NotFound"),
    }[kind]
    try:
        found = session.read("ec2", operation, **{key: [identifier]})
    except ClientError as exc:
        if error_code(exc) in (missing, "InvalidInstanceID.Malformed"):
            return None
        raise
    if kind == "instance":
        instances = [i for r in found["Reservations"] for i in r["Instances"]]
        return instances[0] if instances else None
    items = found["Volumes" if kind == "volume" else "Snapshots"]
    return items[0] if items else None


def snapshot(
    session: Session, *, volume: str, description: str | None, timeout: float
) -> dict[str, Any]:
    source = _find(session, "volume", volume)
    if source is None:
        raise Refused(f"no volume {volume}")
    result: dict[str, Any] = {"volume": volume}
    with reporting(result):
        session.say(f"snapshotting volume {volume}")
        made = session.act(
            "ec2",
            "create_snapshot",
            VolumeId=volume,
            Description=description or f"cloudblog-ops snapshot of {volume}",
            TagSpecifications=[{"ResourceType": "snapshot", "Tags": session.tags(volume)}],
        )
        if made is None:
            return result
        snapshot_id = made["SnapshotId"]
        result["snapshot"] = snapshot_id

        def probe() -> str | None:
            found = _find(session, "snapshot", snapshot_id)
            return found["State"] if found else None

        session.wait_for(
            f"snapshot {snapshot_id}",
            probe,
            ready={"completed"},
            failed={"error"},
            timeout=timeout,
        )
        final = _find(session, "snapshot", snapshot_id) or {}
        result["encrypted"] = bool(final.get("Encrypted"))
        if bool(final.get("Encrypted")) != bool(source.get("Encrypted")):
            raise VerificationFailed(f"snapshot {snapshot_id} encryption differs from {volume}")
        return result


def _volume_params(
    snap: dict[str, Any], source: dict[str, Any] | None, options: dict[str, Any]
) -> dict[str, Any]:
    size = options.get("size") or snap["VolumeSize"]
    if size < snap["VolumeSize"]:
        raise Refused(f"--size {size} GiB is smaller than the snapshot's {snap['VolumeSize']}")
    volume_type = options.get("volume_type") or (source or {}).get("VolumeType") or "gp3"
    # Always encrypted: AWS encrypts a volume made from an unencrypted snapshot on request.
    params: dict[str, Any] = {"Size": size, "VolumeType": volume_type, "Encrypted": True}
    kms = options.get("kms_key") or snap.get("KmsKeyId")
    if kms:
        params["KmsKeyId"] = kms
    for field in _PROVISIONED.get(volume_type, ()):
        option = options.get(field.lower())
        if option:
            params[field] = option
        elif source and source.get("VolumeType") == volume_type and source.get(field):
            params[field] = source[field]
    if options.get("initialization_rate"):
        params["VolumeInitializationRate"] = options["initialization_rate"]
    return params


def _check_attach(session: Session, instance_id: str, device: str, az: str) -> None:
    instance = _find(session, "instance", instance_id)
    if instance is None:
        raise Refused(f"no instance {instance_id}")
    if instance["Placement"]["AvailabilityZone"] != az:
        raise Refused(
            f"{instance_id} is in {instance['Placement']['AvailabilityZone']}, not --az {az}"
        )
    used = {m["DeviceName"] for m in instance.get("BlockDeviceMappings", [])}
    if device in used:
        raise Refused(f"{device} is already in use on {instance_id}")


def restore(
    session: Session,
    *,
    snapshot_id: str,
    az: str,
    attach: str | None,
    device: str | None,
    initialize: str | None,
    name: str | None,
    options: dict[str, Any],
    timeout: float,
) -> dict[str, Any]:
    snap = _find(session, "snapshot", snapshot_id)
    if snap is None:
        raise Refused(f"no snapshot {snapshot_id}")
    if snap["State"] != "completed":
        raise Refused(f"snapshot {snapshot_id} is {snap['State']}, not completed")
    if name:
        named = session.read(
            "ec2", "describe_volumes", Filters=[{"Name": "tag:Name", "Values": [name]}]
        )["Volumes"]
        if named:
            raise Refused(f"a volume named {name} already exists: {named[0]['VolumeId']}")
    if attach:
        _check_attach(session, attach, device or "", az)
    if options.get("kms_key"):
        options = {**options, "kms_key": usable_kms_key(session, options["kms_key"])}
    source = _find(session, "volume", snap.get("VolumeId", ""))
    params = _volume_params(snap, source, options)
    if not snap.get("Encrypted"):
        key = params.get("KmsKeyId", "the account's default EBS key")
        session.say(f"{snapshot_id} is not encrypted: the new volume is encrypted with {key}")
    extra = {"Name": name} if name else {}
    result: dict[str, Any] = {"snapshot": snapshot_id, "availability_zone": az, **params}
    with reporting(result):
        session.say(f"creating a volume in {az} from {snapshot_id}")
        made = session.act(
            "ec2",
            "create_volume",
            AvailabilityZone=az,
            SnapshotId=snapshot_id,
            TagSpecifications=[
                {"ResourceType": "volume", "Tags": session.tags(snapshot_id, **extra)}
            ],
            **params,
        )
        volume_id = made["VolumeId"] if made else "<new volume>"
        result["volume"] = volume_id
        session.wait_for(
            f"volume {volume_id}",
            lambda: (_find(session, "volume", volume_id) or {}).get("State"),
            ready={"available"},
            failed={"error"},
            timeout=timeout,
        )
        if attach:
            session.say(f"attaching {volume_id} to {attach} as {device}")
            session.act(
                "ec2", "attach_volume", VolumeId=volume_id, InstanceId=attach, Device=device
            )

            def attached() -> str | None:
                found = _find(session, "volume", volume_id) or {}
                states = [a["State"] for a in found.get("Attachments", [])]
                return states[0] if states else found.get("State")

            session.wait_for(
                f"attachment of {volume_id}",
                attached,
                ready={"attached"},
                timeout=timeout,
            )
            result.update(instance=attach, device=device)
        if initialize:
            command = initialization_command(device or "/dev/DEVICE")
            result["initialize_command"] = command
            if initialize == "ssm":
                sent = session.act(
                    "ssm",
                    "send_command",
                    InstanceIds=[attach],
                    DocumentName="AWS-RunShellScript",
                    Comment=f"initialise {volume_id}",
                    Parameters={"commands": [command]},
                )
                if sent:
                    result["ssm_command_id"] = sent["Command"]["CommandId"]
            else:
                session.say(f"run this on the instance to initialise the volume:\n  {command}")
        if session.dry_run:
            return result
        _verify(session, volume_id, snap=snap, params=params, attach=attach, result=result)
        return result


def _verify(
    session: Session,
    volume_id: str,
    *,
    snap: dict[str, Any],
    params: dict[str, Any],
    attach: str | None,
    result: dict[str, Any],
) -> None:
    made = _find(session, "volume", volume_id)
    if made is None:
        raise VerificationFailed(f"volume {volume_id} is not there")
    problems = []
    if made["State"] != ("in-use" if attach else "available"):
        problems.append(f"state is {made['State']}")
    if not made.get("Encrypted"):
        problems.append("not encrypted")
    if made["Size"] < snap["VolumeSize"]:
        problems.append(f"size {made['Size']} GiB is below the snapshot's {snap['VolumeSize']}")
    if made.get("SnapshotId") != snap["SnapshotId"]:
        problems.append(f"made from {made.get('SnapshotId')}")
    if made.get("VolumeType") != params["VolumeType"]:
        problems.append(f"type {made.get('VolumeType')} is not {params['VolumeType']}")
    if problems:
        raise VerificationFailed(f"volume {volume_id}: " + "; ".join(problems))
    result["verified"] = ["state", "encryption", "size", "snapshot", "type"]
