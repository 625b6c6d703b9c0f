"""One RDS instance: snapshot it, restore a snapshot or a point in time as a new instance."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from ops.aws import Refused, Session, VerificationFailed, check_ready, error_code, reporting, stamp

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
        session.wait_for(
            f"snapshot {snapshot_id}",
            lambda: _snapshot_status(session, snapshot_id),
            ready={"available"},
            failed={"failed", "error"},
            timeout=timeout,
        )
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


def restore(
    session: Session,
    *,
    new_id: str,
    snapshot_id: str | None = None,
    source_instance: str | None = None,
    to_time: datetime | None = None,
    latest: bool = False,
    overrides: dict[str, Any],
    timeout: float,
    check_url: str | None = None,
) -> dict[str, Any]:
    """Restore a snapshot (or the source at a point in time) as a new, verified instance."""
    _refuse_existing(session, new_id)
    if snapshot_id:
        snap = find_snapshot(session, snapshot_id)
        if snap is None:
            raise Refused(f"no DB snapshot {snapshot_id}")
        if snap["Status"] != "available":
            raise Refused(f"DB snapshot {snapshot_id} is {snap['Status']}, not available")
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
        latest_time = source.get("LatestRestorableTime")
        if to_time and latest_time and to_time > latest_time:
            raise Refused(f"--to-time {to_time} is after the latest restorable {latest_time}")
        origin = f"{source_instance}@{to_time.isoformat() if to_time else 'latest'}"
        expected = {"engine": source["Engine"], "engine_version": source["EngineVersion"]}
    params = _restore_settings(source, overrides)
    result: dict[str, Any] = {"new_instance": new_id, "restored_from": origin, **expected}
    with reporting(result):
        session.say(f"restoring {origin} as a new DB instance {new_id}")
        tags = session.tags(origin)
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
