"""Point the application at a restored database: a separate, explicit, reversible step.

The target is either an SSM parameter the instances read at boot (a host name or a whole
`mysql://` URL, whose host part alone is replaced) or a Route 53 CNAME. The old value is
printed with the exact command that puts it back.
"""

from __future__ import annotations

import logging
import shlex
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from botocore.exceptions import ClientError

from ops.aurora import find_cluster
from ops.aws import Refused, Session, VerificationFailed, error_code, reporting
from ops.rds import find_instance

logger = logging.getLogger(__name__)


def endpoint_of(session: Session, *, cluster: str | None, instance: str | None) -> str:
    """The writer endpoint of an available cluster or instance, refusing anything else."""
    if cluster:
        found = find_cluster(session, cluster)
        if found is None:
            raise Refused(f"no DB cluster {cluster}")
        status, endpoint = found["Status"], found.get("Endpoint")
    else:
        assert instance
        found = find_instance(session, instance)
        if found is None:
            raise Refused(f"no DB instance {instance}")
        status, endpoint = found["DBInstanceStatus"], (found.get("Endpoint") or {}).get("Address")
    if status != "available" or not endpoint:
        raise Refused(f"{cluster or instance} is {status}: cut over to an available database")
    return endpoint


def _with_host(old: str | None, host: str) -> str:
    """Swap only the host of a database URL, keeping user, password, port and options."""
    if old and "://" in old:
        parts = urlsplit(old)
        userinfo, _, _ = parts.netloc.rpartition("@")
        port = f":{parts.port}" if parts.port else ""
        netloc = f"{userinfo}@{host}{port}" if userinfo else f"{host}{port}"
        return urlunsplit(parts._replace(netloc=netloc))
    return host


def _mask(value: str | None) -> str | None:
    """Print URLs without their password."""
    if value and "://" in value:
        parts = urlsplit(value)
        if parts.password:
            netloc = parts.netloc.replace(f":{parts.password}@", ":****@")
            return urlunsplit(parts._replace(netloc=netloc))
    return value


def _ssm_old(session: Session, name: str) -> dict[str, Any] | None:
    try:
        return session.read("ssm", "get_parameter", Name=name, WithDecryption=True)["Parameter"]
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            return None
        raise


def to_parameter(session: Session, *, name: str, value: str | None, host: str | None) -> dict:
    old = _ssm_old(session, name)
    if old is None:
        raise Refused(f"no SSM parameter {name}: cutover changes an existing setting only")
    new = value if value is not None else _with_host(old["Value"], host or "")
    # The ledger of calls is printed: keep passwords and SecureStrings out of it.
    for held in (old["Value"], new):
        password = urlsplit(held).password if "://" in held else None
        if password:
            session.secret(password)
        elif old["Type"] == "SecureString":
            session.secret(held)
    result: dict[str, Any] = {
        "parameter": name,
        "old_value": _mask(old["Value"]),
        "new_value": _mask(new),
        "rollback": (
            f"python -m ops cutover --ssm-parameter {shlex.quote(name)} "
            f"--value {shlex.quote(old['Value'])}"
            if old["Type"] != "SecureString" and _mask(old["Value"]) == old["Value"]
            else f"python -m ops cutover --ssm-parameter {shlex.quote(name)} "
            f"--value '<old value, version {old['Version']} of the parameter>'"
        ),
    }
    with reporting(result):
        if new == old["Value"]:
            session.say(f"{name} already holds that value: nothing to change")
            result["changed"] = False
            return result
        session.say(f"old value of {name} (keep it for rollback): {_mask(old['Value'])}")
        session.act("ssm", "put_parameter", Name=name, Value=new, Type=old["Type"], Overwrite=True)
        result["changed"] = True
        if not session.dry_run and _ssm_old(session, name)["Value"] != new:  # type: ignore[index]
            raise VerificationFailed(f"{name} does not hold the new value")
        return result


def _record(session: Session, zone: str, record: str) -> dict[str, Any] | None:
    fqdn = record.rstrip(".") + "."
    found = session.read(
        "route53",
        "list_resource_record_sets",
        HostedZoneId=zone,
        StartRecordName=fqdn,
        StartRecordType="CNAME",
        MaxItems="1",
    )["ResourceRecordSets"]
    if found and found[0]["Name"] == fqdn and found[0]["Type"] == "CNAME":
        return found[0]
    return None


def to_record(session: Session, *, zone: str, record: str, value: str, ttl: int) -> dict[str, Any]:
    old = _record(session, zone, record)
    if old is None:
        raise Refused(f"no CNAME {record} in zone {zone}: cutover changes an existing record")
    old_value = old["ResourceRecords"][0]["Value"]
    result: dict[str, Any] = {
        "zone": zone,
        "record": record,
        "old_value": old_value,
        "old_ttl": old.get("TTL"),
        "new_value": value,
        "rollback": (
            f"python -m ops cutover --zone {zone} --record {record} --value {old_value} "
            f"--ttl {old.get('TTL', ttl)}"
        ),
    }
    with reporting(result):
        if old_value.rstrip(".") == value.rstrip("."):
            session.say(f"{record} already points at {value}: nothing to change")
            result["changed"] = False
            return result
        session.say(f"old target of {record} (keep it for rollback): {old_value}")
        session.act(
            "route53",
            "change_resource_record_sets",
            HostedZoneId=zone,
            ChangeBatch={
                "Comment": f"cloudblog-ops cutover (ticket {session.ticket or 'none'})",
                "Changes": [
                    {
                        "Action": "UPSERT",
                        "ResourceRecordSet": {
                            "Name": old["Name"],
                            "Type": "CNAME",
                            "TTL": ttl,
                            "ResourceRecords": [{"Value": value}],
                        },
                    }
                ],
            },
        )
        result["changed"] = True
        if not session.dry_run:
            now = _record(session, zone, record)
            if not now or now["ResourceRecords"][0]["Value"].rstrip(".") != value.rstrip("."):
                raise VerificationFailed(f"{record} does not point at {value}")
        return result
