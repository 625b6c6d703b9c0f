"""Aurora: snapshot a cluster; restore a snapshot or a point in time as a new cluster.

A restored Aurora cluster has no instances: this creates the writer and the readers once
the cluster is available, and passes the source's network, security groups, subnet group,
parameter groups and KMS key explicitly, since the API would otherwise use defaults.
"""

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
from ops.rds import find_instance

logger = logging.getLogger(__name__)

_FAILED = ("failed", "inaccessible-encryption-credentials", "incompatible-parameters")


def find_cluster(session: Session, identifier: str) -> dict[str, Any] | None:
    try:
        found = session.read("rds", "describe_db_clusters", DBClusterIdentifier=identifier)
    except ClientError as exc:
        if error_code(exc) == "DBClusterNotFoundFault":
            return None
        raise
    return found["DBClusters"][0] if found["DBClusters"] else None


def find_cluster_snapshot(session: Session, identifier: str) -> dict[str, Any] | None:
    try:
        found = session.read(
            "rds", "describe_db_cluster_snapshots", DBClusterSnapshotIdentifier=identifier
        )
    except ClientError as exc:
        if error_code(exc) == "DBClusterSnapshotNotFoundFault":
            return None
        raise
    return found["DBClusterSnapshots"][0] if found["DBClusterSnapshots"] else None


def _cluster_status(session: Session, identifier: str) -> str | None:
    cluster = find_cluster(session, identifier)
    return cluster["Status"] if cluster else None


def _instances_status(session: Session, identifiers: list[str]) -> str | None:
    """One word for a group: `available` only when every instance is."""
    statuses = []
    for identifier in identifiers:
        instance = find_instance(session, identifier)
        statuses.append(instance["DBInstanceStatus"] if instance else "not visible yet")
    if all(status == "available" for status in statuses):
        return "available"
    for status in statuses:
        if status in _FAILED:
            return status
    return ", ".join(f"{i}={s}" for i, s in zip(identifiers, statuses, strict=True))


def snapshot(
    session: Session, *, cluster: str, snapshot_id: str | None, timeout: float
) -> dict[str, Any]:
    if find_cluster(session, cluster) is None:
        raise Refused(f"no DB cluster {cluster}")
    snapshot_id = snapshot_id or f"{cluster}-{stamp(session.started)}"
    if find_cluster_snapshot(session, snapshot_id) is not None:
        raise Refused(f"DB cluster snapshot {snapshot_id} already exists")
    result: dict[str, Any] = {"cluster": cluster, "snapshot": snapshot_id}
    with reporting(result):
        session.say(f"snapshotting DB cluster {cluster} as {snapshot_id}")
        session.act(
            "rds",
            "create_db_cluster_snapshot",
            DBClusterSnapshotIdentifier=snapshot_id,
            DBClusterIdentifier=cluster,
            Tags=session.tags(cluster),
        )

        def probe() -> str | None:
            found = find_cluster_snapshot(session, snapshot_id)
            return found["Status"] if found else None

        session.wait_for(
            f"cluster snapshot {snapshot_id}",
            probe,
            ready={"available"},
            failed={"failed", "error"},
            timeout=timeout,
        )
        if session.dry_run:
            return result
        made = find_cluster_snapshot(session, snapshot_id) or {}
        result.update(engine=made.get("Engine"), engine_version=made.get("EngineVersion"))
        result["encrypted"] = made.get("StorageEncrypted")
        return result


def _source_settings(session: Session, source: dict[str, Any] | None) -> dict[str, Any]:
    """What the restored cluster and its instances copy from the source cluster."""
    settings: dict[str, Any] = {}
    if not source:
        return settings
    groups = [g["VpcSecurityGroupId"] for g in source.get("VpcSecurityGroups", [])]
    if groups:
        settings["VpcSecurityGroupIds"] = groups
    for key, param in (
        ("DBSubnetGroup", "DBSubnetGroupName"),
        ("DBClusterParameterGroup", "DBClusterParameterGroupName"),
        ("Port", "Port"),
    ):
        if source.get(key):
            settings[param] = source[key]
    # An unencrypted cluster has no key to copy (moto shows a placeholder one anyway).
    if source.get("StorageEncrypted") and source.get("KmsKeyId"):
        settings["KmsKeyId"] = source["KmsKeyId"]
    writers = [m for m in source.get("DBClusterMembers", []) if m.get("IsClusterWriter")]
    if writers:
        writer = find_instance(session, writers[0]["DBInstanceIdentifier"])
        if writer:
            settings["_instance_class"] = writer["DBInstanceClass"]
            if writer.get("DBParameterGroups"):
                name = writer["DBParameterGroups"][0]["DBParameterGroupName"]
                settings["_instance_parameter_group"] = name
    return settings


def restore(
    session: Session,
    *,
    new_cluster: str,
    snapshot_id: str | None = None,
    source_cluster: str | None = None,
    to_time: datetime | None = None,
    instances: int = 2,
    instance_class: str | None = None,
    overrides: dict[str, Any],
    timeout: float,
    check_url: str | None = None,
) -> dict[str, Any]:
    # moto silently overwrites an existing cluster here, AWS refuses: check either way.
    if find_cluster(session, new_cluster) is not None:
        raise Refused(f"DB cluster {new_cluster} already exists; pick a new --new-cluster")
    instance_ids = [f"{new_cluster}-{n}" for n in range(1, instances + 1)]
    for identifier in instance_ids:
        if find_instance(session, identifier) is not None:
            raise Refused(f"DB instance {identifier} already exists")
    kms_key = overrides.get("KmsKeyId")
    if kms_key:
        overrides = {**overrides, "KmsKeyId": usable_kms_key(session, kms_key)}
    if snapshot_id:
        snap = find_cluster_snapshot(session, snapshot_id)
        if snap is None:
            raise Refused(f"no DB cluster snapshot {snapshot_id}")
        if snap["Status"] != "available":
            raise Refused(f"cluster snapshot {snapshot_id} is {snap['Status']}, not available")
        if not snap["Engine"].startswith("aurora"):
            # A Multi-AZ DB cluster's snapshot: its instances are not made this way.
            raise Refused(f"cluster snapshot {snapshot_id} is {snap['Engine']}, not Aurora")
        encrypted = bool(snap.get("StorageEncrypted"))
        if not encrypted and not kms_key:
            raise Refused(
                f"cluster snapshot {snapshot_id} is not encrypted, so a cluster restored from "
                "it would not be either: pass --kms-key KEY to restore it encrypted"
            )
        source = find_cluster(session, snap.get("DBClusterIdentifier", ""))
        origin = snapshot_id
        engine, version = snap["Engine"], snap["EngineVersion"]
    else:
        assert source_cluster
        source = find_cluster(session, source_cluster)
        if source is None:
            raise Refused(f"no DB cluster {source_cluster}")
        if not source.get("StorageEncrypted"):
            # AWS rejects a KMS key on a point-in-time restore of an unencrypted cluster.
            raise Refused(
                f"DB cluster {source_cluster} is not encrypted and a point-in-time restore "
                f"cannot encrypt it: snapshot it (ops aurora snapshot --cluster "
                f"{source_cluster}), then restore the snapshot with --kms-key KEY"
            )
        latest_time = source.get("LatestRestorableTime")
        if to_time and latest_time and to_time > latest_time:
            raise Refused(f"--to-time {to_time} is after the latest restorable {latest_time}")
        earliest = source.get("EarliestRestorableTime")
        if to_time and earliest and to_time < earliest:
            raise Refused(f"--to-time {to_time} is before the earliest restorable {earliest}")
        origin = f"{source_cluster}@{to_time.isoformat() if to_time else 'latest'}"
        engine, version = source["Engine"], source["EngineVersion"]
        encrypted = True
    settings = _source_settings(session, source)
    if encrypted and not settings.get("KmsKeyId") and snapshot_id and snap.get("KmsKeyId"):
        # The source cluster is gone: the snapshot still names the key it was made with.
        settings["KmsKeyId"] = snap["KmsKeyId"]
    settings.update({key: value for key, value in overrides.items() if value})
    instance_class = instance_class or settings.pop("_instance_class", None)
    instance_parameters = settings.pop("_instance_parameter_group", None)
    settings.pop("_instance_class", None)
    if instances and not instance_class:
        raise Refused("the source's instance class is unknown: pass --instance-class")
    if not settings.get("KmsKeyId") and snapshot_id:
        # Restoring with no key given uses the snapshot's key; say so rather than guess.
        session.say("no KMS key found on the source: the snapshot's own key applies")
    if not encrypted:
        session.say(f"{origin} is not encrypted: the new cluster is encrypted with {kms_key}")
    result: dict[str, Any] = {
        "new_cluster": new_cluster,
        "restored_from": origin,
        "engine": engine,
        "engine_version": version,
        "instances": instance_ids,
        "kms_key": settings.get("KmsKeyId"),
    }
    with reporting(result):
        tags = session.tags(origin)
        session.say(f"restoring {origin} as a new DB cluster {new_cluster}")
        if snapshot_id:
            session.act(
                "rds",
                "restore_db_cluster_from_snapshot",
                DBClusterIdentifier=new_cluster,
                SnapshotIdentifier=snapshot_id,
                Engine=engine,
                EngineVersion=version,
                Tags=tags,
                **settings,
            )
        else:
            when = {"RestoreToTime": to_time} if to_time else {"UseLatestRestorableTime": True}
            session.act(
                "rds",
                "restore_db_cluster_to_point_in_time",
                DBClusterIdentifier=new_cluster,
                SourceDBClusterIdentifier=source_cluster,
                RestoreType="full-copy",
                Tags=tags,
                **when,
                **settings,
            )
        session.wait_for(
            f"DB cluster {new_cluster}",
            lambda: _cluster_status(session, new_cluster),
            ready={"available"},
            failed=_FAILED,
            timeout=timeout,
        )
        # The first instance created becomes the writer; the others are readers.
        for identifier in instance_ids:
            extra = {"DBParameterGroupName": instance_parameters} if instance_parameters else {}
            session.act(
                "rds",
                "create_db_instance",
                DBInstanceIdentifier=identifier,
                DBClusterIdentifier=new_cluster,
                Engine=engine,
                DBInstanceClass=instance_class,
                PubliclyAccessible=False,
                Tags=tags,
                **extra,
            )
        if instance_ids:
            session.wait_for(
                f"instances of {new_cluster}",
                lambda: _instances_status(session, instance_ids),
                ready={"available"},
                failed=_FAILED,
                timeout=timeout,
            )
        if session.dry_run:
            return result
        verify(session, new_cluster, engine=engine, version=version, result=result)
        if check_url:
            result["check_url"] = check_ready(check_url)
        return result


def verify(
    session: Session, identifier: str, *, engine: str, version: str, result: dict[str, Any]
) -> None:
    made = find_cluster(session, identifier)
    if made is None:
        raise VerificationFailed(f"DB cluster {identifier} is not there after the restore")
    result["endpoint"] = made.get("Endpoint")
    result["reader_endpoint"] = made.get("ReaderEndpoint")
    result["encrypted"] = bool(made.get("StorageEncrypted"))
    problems = []
    if made["Status"] != "available":
        problems.append(f"status is {made['Status']}")
    if made["Engine"] != engine:
        problems.append(f"engine {made['Engine']} is not {engine}")
    if made["EngineVersion"] != version:
        problems.append(f"version {made['EngineVersion']} is not {version}")
    if not made.get("StorageEncrypted"):
        problems.append("storage is not encrypted")
    members = {m["DBInstanceIdentifier"]: m for m in made.get("DBClusterMembers", [])}
    for name in result["instances"]:
        if name not in members:
            problems.append(f"{name} is not a member")
    if result["instances"] and not any(m.get("IsClusterWriter") for m in members.values()):
        problems.append("no writer")
    if problems:
        raise VerificationFailed(f"DB cluster {identifier}: " + "; ".join(problems))
    writer = [name for name, m in members.items() if m.get("IsClusterWriter")]
    result["writer"] = writer[0] if writer else None
    result["verified"] = ["status", "engine", "engine_version", "encryption", "members"]
