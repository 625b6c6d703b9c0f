"""One RDS instance: snapshot it, restore a snapshot or a point in time as a new instance."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import (
    Refused,
    Session,
    VerificationFailed,
    check_ready,
    error_code,
    reporting,
    stamp,
    usable_kms_key,
)

logger = logging.getLogger(__name__)

_FAILED = ("failed", "incompatible-restore", "incompatible-parameters", "storage-full")


def find_instance(session: Session, identifier: str) -> dict[str, Any] | None:
    try:
        found = session.read("rds", "describe_db_instances", DBInstanceIdentifier=identifier)
    except ClientError as exc:
        if error_code(exc) == "DBInstanceNotFound":
            return None
        raise
    return found["DBInstances"][0]


def find_snapshot(session: Session, identifier: str) -> dict[str, Any] | None:
    try:
        found = session.read("rds", "describe_db_snapshots", DBSnapshotIdentifier=identifier)
    except ClientError as exc:
        if error_code(exc) == "DBSnapshotNotFound":
            return None
        raise
    return found["DBSnapshots"][0] if found["DBSnapshots"] else None


def _instance_status(session: Session, identifier: str) -> str | None:
    instance = find_instance(session, identifier)
    return instance["DBInstanceStatus"] if instance else None


def _snapshot_status(session: Session, identifier: str) -> str | None:
    snapshot = find_snapshot(session, identifier)
    return snapshot["Status"] if snapshot else None


def _wait_for_snapshot(session: Session, snapshot_id: str, *, timeout: float) -> None:
    session.wait_for(
        f"snapshot {snapshot_id}",
        lambda: _snapshot_status(session, snapshot_id),
        ready={"available"},
        failed={"failed", "error"},
        timeout=timeout,
    )


def _refuse_existing(session: Session, new_id: str) -> None:
    # AWS refuses a duplicate instance id too, but checking first means nothing is started.
    if find_instance(session, new_id) is not None:
        raise Refused(f"DB instance {new_id} already exists; pick a new --new-id")


def snapshot(
    session: Session, *, instance: str, snapshot_id: str | None, timeout: float
) -> dict[str, Any]:
    source = find_instance(session, instance)
    if source is None:
        raise Refused(f"no DB instance {instance}")
    snapshot_id = snapshot_id or f"{instance}-{stamp(session.started)}"
    if find_snapshot(session, snapshot_id) is not None:
        raise Refused(f"DB snapshot {snapshot_id} already exists")
    result: dict[str, Any] = {"instance": instance, "snapshot": snapshot_id}
    with reporting(result):
        session.say(f"snapshotting DB instance {instance} as {snapshot_id}")
        session.act(
            "rds",
            "create_db_snapshot",
            DBSnapshotIdentifier=snapshot_id,
            DBInstanceIdentifier=instance,
            Tags=session.tags(instance),
        )
        _wait_for_snapshot(session, snapshot_id, timeout=timeout)
        if session.dry_run:
            return result
        made = find_snapshot(session, snapshot_id) or {}
        result.update(engine=made.get("Engine"), engine_version=made.get("EngineVersion"))
        result["encrypted"] = made.get("Encrypted")
        if made.get("Status") != "available":
            raise VerificationFailed(f"snapshot {snapshot_id} is {made.get('Status')}")
        return result


def _restore_settings(source: dict[str, Any] | None, overrides: dict[str, Any]) -> dict[str, Any]:
    """Network, security, parameters and size of the source, unless told otherwise."""
    params: dict[str, Any] = {}
    if source:
        if source.get("DBSubnetGroup"):
            params["DBSubnetGroupName"] = source["DBSubnetGroup"]["DBSubnetGroupName"]
        groups = [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups", [])]
        if groups:
            params["VpcSecurityGroupIds"] = groups
        if source.get("DBParameterGroups"):
            params["DBParameterGroupName"] = source["DBParameterGroups"][0]["DBParameterGroupName"]
        params["DBInstanceClass"] = source["DBInstanceClass"]
        params["MultiAZ"] = bool(source.get("MultiAZ"))
    # A restored copy is for the operators: never public, whatever the source was.
    params["PubliclyAccessible"] = False
    params.update({key: value for key, value in overrides.items() if value})
    return params


def _encrypted_copy(
    session: Session, snap: dict[str, Any], *, new_id: str, kms_key: str | None
) -> tuple[str, str] | None:
    """(copy id, key ARN) when the snapshot must be copied under --kms-key first, else None.

    RestoreDBInstanceFromDBSnapshot takes no KMS key: an instance restored from a snapshot
    has the snapshot's encryption. CopyDBSnapshot with a key encrypts (or re-keys) the copy.
    """
    name = snap["DBSnapshotIdentifier"]
    if not kms_key:
        if not snap.get("Encrypted"):
            raise Refused(
                f"DB snapshot {name} is not encrypted, so an instance restored from it would "
                "not be either: pass --kms-key KEY to restore an encrypted copy of it"
            )
        return None
    key_arn = usable_kms_key(session, kms_key)
    if snap.get("Encrypted") and snap.get("KmsKeyId") == key_arn:
        return None
    copy_id = f"{new_id}-encrypted-{stamp(session.started)}"
    if find_snapshot(session, copy_id) is not None:
        raise Refused(f"DB snapshot {copy_id} (the encrypted copy) already exists")
    return copy_id, key_arn


def restore(
    session: Session,
    *,
    new_id: str,
    snapshot_id: str | None = None,
    source_instance: str | None = None,
    to_time: datetime | None = None,
    latest: bool = False,
    kms_key: str | None = None,
    overrides: dict[str, Any],
    timeout: float,
    check_url: str | None = None,
) -> dict[str, Any]:
    """Restore a snapshot (or the source at a point in time) as a new, verified instance."""
    _refuse_existing(session, new_id)
    copy = None
    if snapshot_id:
        snap = find_snapshot(session, snapshot_id)
        if snap is None:
            raise Refused(f"no DB snapshot {snapshot_id}")
        if snap["Status"] != "available":
            raise Refused(f"DB snapshot {snapshot_id} is {snap['Status']}, not available")
        copy = _encrypted_copy(session, snap, new_id=new_id, kms_key=kms_key)
        origin = snapshot_id
        source = find_instance(session, snap.get("DBInstanceIdentifier", ""))
        expected = {"engine": snap["Engine"], "engine_version": snap["EngineVersion"]}
    else:
        assert source_instance
        source = find_instance(session, source_instance)
        if source is None:
            raise Refused(f"no DB instance {source_instance}")
        if not source.get("BackupRetentionPeriod"):
            raise Refused(f"{source_instance} keeps no automated backups: no point in time")
        if not source.get("StorageEncrypted"):
            raise Refused(
                f"DB instance {source_instance} is not encrypted and a point-in-time restore "
                f"cannot encrypt it: snapshot it (ops rds snapshot --instance "
                f"{source_instance}), then restore the snapshot with --kms-key KEY"
            )
        latest_time = source.get("LatestRestorableTime")
        if to_time and latest_time and to_time > latest_time:
            raise Refused(f"--to-time {to_time} is after the latest restorable {latest_time}")
        origin = f"{source_instance}@{to_time.isoformat() if to_time else 'latest'}"
        expected = {"engine": source["Engine"], "engine_version": source["EngineVersion"]}
    params = _restore_settings(source, overrides)
    result: dict[str, Any] = {"new_instance": new_id, "restored_from": origin, **expected}
    with reporting(result):
        tags = session.tags(origin)
        if copy:
            snapshot_id, key_arn = copy
            result.update(encrypted_copy=snapshot_id, kms_key=key_arn)
            session.say(f"copying {origin} as {snapshot_id}, encrypted with {key_arn}")
            session.act(
                "rds",
                "copy_db_snapshot",
                SourceDBSnapshotIdentifier=origin,
                TargetDBSnapshotIdentifier=snapshot_id,
                KmsKeyId=key_arn,
                Tags=tags,
            )
            _wait_for_snapshot(session, snapshot_id, timeout=timeout)
        session.say(f"restoring {origin} as a new DB instance {new_id}")
        if snapshot_id:
            session.act(
                "rds",
                "restore_db_instance_from_db_snapshot",
                DBInstanceIdentifier=new_id,
                DBSnapshotIdentifier=snapshot_id,
                Tags=tags,
                **params,
            )
        else:
            when = {"RestoreTime": to_time} if to_time else {"UseLatestRestorableTime": True}
            session.act(
                "rds",
                "restore_db_instance_to_point_in_time",
                SourceDBInstanceIdentifier=source_instance,
                TargetDBInstanceIdentifier=new_id,
                Tags=tags,
                **when,
                **params,
            )
        session.wait_for(
            f"DB instance {new_id}",
            lambda: _instance_status(session, new_id),
            ready={"available"},
            failed=_FAILED,
            timeout=timeout,
        )
        if session.dry_run:
            return result
        verify(session, new_id, expected=expected, result=result)
        if check_url:
            result["check_url"] = check_ready(check_url)
        return result


def verify(
    session: Session, identifier: str, *, expected: dict[str, str], result: dict[str, Any]
) -> None:
    made = find_instance(session, identifier)
    if made is None:
        raise VerificationFailed(f"DB instance {identifier} is not there after the restore")
    endpoint = made.get("Endpoint") or {}
    result["endpoint"] = f"{endpoint.get('Address')}:{endpoint.get('Port')}"
    result["encrypted"] = bool(made.get("StorageEncrypted"))
    problems = []
    if made["DBInstanceStatus"] != "available":
        problems.append(f"status is {made['DBInstanceStatus']}")
    if made["Engine"] != expected["engine"]:
        problems.append(f"engine {made['Engine']} is not {expected['engine']}")
    if made["EngineVersion"] != expected["engine_version"]:
        problems.append(f"version {made['EngineVersion']} is not {expected['engine_version']}")
    if not made.get("StorageEncrypted"):
        problems.append("storage is not encrypted")
    if problems:
        raise VerificationFailed(f"DB instance {identifier}: " + "; ".join(problems))
    result["verified"] = ["status", "engine", "engine_version", "encryption"]
