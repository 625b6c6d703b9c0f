"""`python -m ops stack`: deploy, inspect, preview and delete the CloudFormation stack.

Every deploy goes through a change set, so what will change (and what will be replaced)
is shown before anything does; nothing is executed without `--yes` or a "y" at the
prompt. Progress is the stack's own events, on stderr. Delete refuses while the stack
holds data (the Aurora cluster, objects in the media bucket, the EFS file system) unless
told what to do with it: `--snapshot` (a final cluster snapshot, then the cluster goes)
or `--retain` (the data stores stay behind, out of the stack).
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from ops import aurora
from ops.ami import DEFAULT_PARAMETER as CURRENT_AMI_PARAMETER
from ops.aws import OpsError, Refused, Session, VerificationFailed, error_code, reporting, stamp

TEMPLATE = Path(__file__).resolve().parent.parent / "deploy" / "cloudformation" / "cloudblog.yaml"
# CloudFormation takes at most this much inline; larger templates go through S3.
INLINE_LIMIT = 51200
CAPABILITIES = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"]
BUSY = ("_IN_PROGRESS",)
DONE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}
FAILED = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_FAILED",
    "DELETE_FAILED",
}


def _ask(prompt: str) -> bool:
    """Yes only from a person at a terminal: a script must say --yes."""
    if not sys.stdin.isatty():
        return False
    print(prompt, end=" ", file=sys.stderr, flush=True)
    return sys.stdin.readline().strip().lower() in ("y", "yes")


confirm: Callable[[str], bool] = _ask  # a seam for tests


def find_stack(session: Session, name: str) -> dict[str, Any] | None:
    try:
        stacks = session.read("cloudformation", "describe_stacks", StackName=name)["Stacks"]
    except ClientError as exc:
        if error_code(exc) == "ValidationError" and "does not exist" in str(exc):
            return None
        raise
    if not stacks or stacks[0]["StackStatus"] == "DELETE_COMPLETE":
        return None
    return stacks[0]


def outputs_of(stack: dict[str, Any]) -> dict[str, str]:
    return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}


def _resolve_image(session: Session, image: str) -> str:
    if image != "current":
        return image
    try:
        found = session.read("ssm", "get_parameter", Name=CURRENT_AMI_PARAMETER)
    except ClientError as exc:
        if error_code(exc) == "ParameterNotFound":
            raise Refused(
                f"--ami current: {CURRENT_AMI_PARAMETER} is not set (ops ami promote)"
            ) from None
        raise
    return found["Parameter"]["Value"]


def _parameters(
    *, name: str, mode: str | None, image: str | None, given: dict[str, str], stack: dict | None
) -> list[dict[str, Any]]:
    """Given values first; on an update everything else keeps its previous value."""
    values = dict(given)
    if mode:
        values["Mode"] = mode
    if image:
        values["ImageId"] = image
    if stack is None:
        values.setdefault("EnvName", name)
        missing = {"Mode", "ImageId"} - set(values)
        if missing:
            raise Refused(f"a new stack needs {', '.join(sorted(missing))} (--mode, --ami)")
    result = [{"ParameterKey": k, "ParameterValue": v} for k, v in sorted(values.items())]
    for existing in (stack or {}).get("Parameters", []):
        if existing["ParameterKey"] not in values:
            result.append({"ParameterKey": existing["ParameterKey"], "UsePreviousValue": True})
    return result


def _bucket_exists(session: Session, bucket: str) -> bool:
    try:
        session.read("s3", "get_bucket_location", Bucket=bucket)
    except ClientError as exc:
        if error_code(exc) in ("NoSuchBucket", "404"):
            return False
        raise
    return True


def _template(session: Session, name: str, path: Path, bucket: str | None) -> dict[str, str]:
    """TemplateBody when it fits, else a TemplateURL to a copy in S3 (named by content)."""
    try:
        body = path.read_text()
    except OSError as exc:
        raise Refused(f"cannot read the template {path}: {exc}") from None
    if len(body.encode()) <= INLINE_LIMIT:
        return {"TemplateBody": body}
    region = session.client("cloudformation").meta.region_name
    if not bucket:
        account = session.read("sts", "get_caller_identity")["Account"]
        bucket = f"cloudblog-templates-{account}-{region}"
    if not _bucket_exists(session, bucket):
        where = (
            {}
            if region == "us-east-1"
            else {"CreateBucketConfiguration": {"LocationConstraint": region}}
        )
        session.act("s3", "create_bucket", Bucket=bucket, **where)
        session.act(
            "s3",
            "put_public_access_block",
            Bucket=bucket,
            PublicAccessBlockConfiguration=dict.fromkeys(
                (
                    "BlockPublicAcls",
                    "IgnorePublicAcls",
                    "BlockPublicPolicy",
                    "RestrictPublicBuckets",
                ),
                True,
            ),
        )
    digest = hashlib.sha256(body.encode()).hexdigest()[:16]
    key = f"cloudformation/{name}/{path.stem}-{digest}{path.suffix}"
    session.act("s3", "put_object", Bucket=bucket, Key=key, Body=body.encode())
    return {"TemplateURL": f"https://{bucket}.s3.{region}.amazonaws.com/{key}"}


def _change_rows(change_set: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for change in change_set.get("Changes", []):
        detail = change.get("ResourceChange", {})
        rows.append(
            {
                "action": detail.get("Action", "?"),
                "resource": detail.get("LogicalResourceId", "?"),
                "type": detail.get("ResourceType", "?"),
                "replacement": detail.get("Replacement") or "",
            }
        )
    return rows


def _show(session: Session, rows: list[dict[str, str]]) -> None:
    if not rows:
        session.say("no changes")
        return
    for row in rows:
        replace = " (REPLACEMENT)" if row["replacement"] == "True" else ""
        session.say(f"  {row['action']:<7} {row['resource']} [{row['type']}]{replace}")


def _make_change_set(
    session: Session,
    *,
    name: str,
    stack: dict | None,
    parameters: list[dict],
    template: dict[str, str],
    timeout: float,
) -> tuple[str | None, list[dict[str, str]]]:
    """Create the change set and wait for it; (None, []) when there is nothing to change."""
    change_set = f"cloudblog-{stamp(session.started)}"
    made = session.act(
        "cloudformation",
        "create_change_set",
        StackName=name,
        ChangeSetName=change_set,
        ChangeSetType="UPDATE" if stack else "CREATE",
        Parameters=parameters,
        Capabilities=CAPABILITIES,
        Tags=[{"Key": "made-by", "Value": "cloudblog-ops"}],
        **template,
    )
    if made is None:  # dry run
        return None, []
    change_set_id = made["Id"]
    described: dict[str, Any] = {}

    def probe() -> str:
        described.update(
            session.read("cloudformation", "describe_change_set", ChangeSetName=change_set_id)
        )
        return described["Status"]

    status = session.wait_for(
        f"change set {change_set}",
        probe,
        ready={"CREATE_COMPLETE", "FAILED"},
        timeout=timeout,
    )
    if status == "FAILED":
        reason = described.get("StatusReason", "")
        if "didn't contain changes" in reason or "No updates" in reason:
            session.act(
                "cloudformation", "delete_change_set", ChangeSetName=change_set_id, StackName=name
            )
            return None, []
        raise OpsError(f"change set {change_set} failed: {reason}")
    rows = _change_rows(described)
    if stack and not rows:
        # Parameters that change no resource: nothing worth executing.
        session.act(
            "cloudformation", "delete_change_set", ChangeSetName=change_set_id, StackName=name
        )
        return None, []
    return change_set_id, rows


def _follow(session: Session, stack_id: str, *, ready: set[str], timeout: float, since: set) -> str:
    """Wait for the stack, printing each new event once, oldest first."""

    def probe() -> str | None:
        events = session.read("cloudformation", "describe_stack_events", StackName=stack_id)
        for event in reversed(events["StackEvents"]):
            if event["EventId"] in since:
                continue
            since.add(event["EventId"])
            reason = event.get("ResourceStatusReason") or ""
            session.say(
                f"  {event['ResourceStatus']:<20} {event['LogicalResourceId']}"
                f" [{event.get('ResourceType', '')}] {reason}".rstrip()
            )
        stacks = session.read("cloudformation", "describe_stacks", StackName=stack_id)["Stacks"]
        return stacks[0]["StackStatus"] if stacks else None

    return session.wait_for(
        f"stack {stack_id.split('/')[1] if '/' in stack_id else stack_id}",
        probe,
        ready=ready,
        failed=FAILED - ready,
        timeout=timeout,
    )


def _seen_events(session: Session, stack: dict | None) -> set:
    if stack is None:
        return set()
    events = session.read("cloudformation", "describe_stack_events", StackName=stack["StackId"])
    return {event["EventId"] for event in events["StackEvents"]}


def _preflight(session: Session, name: str) -> dict | None:
    stack = find_stack(session, name)
    if stack and stack["StackStatus"].endswith(BUSY):
        raise Refused(f"stack {name} is {stack['StackStatus']}: wait for it to finish")
    if stack and stack["StackStatus"] == "ROLLBACK_COMPLETE":
        raise Refused(f"stack {name} failed to create (ROLLBACK_COMPLETE): delete it first")
    return stack


def _plan(
    session: Session,
    result: dict[str, Any],
    *,
    name: str,
    mode: str | None,
    image: str | None,
    given: dict[str, str],
    template: Path,
    bucket: str | None,
    timeout: float,
) -> tuple[dict | None, str | None, list[dict[str, str]]]:
    """The checks, the parameters, the template's upload and the change set, waited for."""
    stack = _preflight(session, name)
    parameters = _parameters(
        name=name,
        mode=mode,
        image=image and _resolve_image(session, image),
        given=given,
        stack=stack,
    )
    result["action"] = "update" if stack else "create"
    location = _template(session, name, template, bucket)
    change_set_id, rows = _make_change_set(
        session,
        name=name,
        stack=stack,
        parameters=parameters,
        template=location,
        timeout=timeout,
    )
    return stack, change_set_id, rows


def diff(session: Session, *, name: str, **options: Any) -> dict[str, Any]:
    """What a deploy would change: a change set, shown and then deleted."""
    result: dict[str, Any] = {"stack": name}
    with reporting(result):
        stack, change_set_id, rows = _plan(session, result, name=name, **options)
        _show(session, rows)
        result["changes"] = rows
        if change_set_id:
            session.act(
                "cloudformation", "delete_change_set", ChangeSetName=change_set_id, StackName=name
            )
            if stack is None:
                # A CREATE change set leaves an empty stack in REVIEW_IN_PROGRESS behind.
                session.act("cloudformation", "delete_stack", StackName=name)
        return result


def deploy(session: Session, *, name: str, yes: bool, **options: Any) -> dict[str, Any]:
    """Create or update through a change set: show it, ask, execute, follow the events.

    `options` are _plan's: mode, image, given (NAME=VALUE parameters), template, bucket
    and timeout.
    """
    result: dict[str, Any] = {"stack": name}
    with reporting(result):
        stack, change_set_id, rows = _plan(session, result, name=name, **options)
        if session.dry_run:
            return result
        session.say(f"change set for stack {name} ({result['action']}):")
        _show(session, rows)
        result["changes"] = rows
        if change_set_id is None:
            result["action"] = "none"
            result["outputs"] = outputs_of(stack or {})
            return result
        if not yes and not confirm(f"apply these {len(rows)} change(s) to {name}? [y/N]"):
            session.act(
                "cloudformation", "delete_change_set", ChangeSetName=change_set_id, StackName=name
            )
            raise Refused("not applied: answer y at the prompt, or pass --yes")
        seen = _seen_events(session, stack)
        session.act(
            "cloudformation", "execute_change_set", ChangeSetName=change_set_id, StackName=name
        )
        made = find_stack(session, name)
        if made is None:
            raise VerificationFailed(f"stack {name} is not there after executing its change set")
        result["stack_id"] = made["StackId"]
        status = _follow(
            session, made["StackId"], ready=DONE, timeout=options["timeout"], since=seen
        )
        result["stack_status"] = status
        result["outputs"] = outputs_of(find_stack(session, name) or {})
        return result


def status(session: Session, *, name: str, events: int) -> dict[str, Any]:
    stack = find_stack(session, name)
    if stack is None:
        raise Refused(f"no stack {name}")
    recent = session.read("cloudformation", "describe_stack_events", StackName=stack["StackId"])
    return {
        "stack": name,
        "stack_status": stack["StackStatus"],
        "reason": stack.get("StackStatusReason", ""),
        "updated": str(stack.get("LastUpdatedTime") or stack.get("CreationTime")),
        "parameters": {p["ParameterKey"]: p.get("ParameterValue") for p in stack["Parameters"]},
        "outputs": outputs_of(stack),
        "events": [
            f"{e['Timestamp']} {e['ResourceStatus']} {e['LogicalResourceId']}"
            for e in recent["StackEvents"][:events]
        ],
    }


def _holdings(session: Session, outputs: dict[str, str]) -> list[str]:
    """The data stores of this stack that hold data, in words."""
    holding = []
    cluster = outputs.get("DatabaseClusterId")
    if cluster and aurora.find_cluster(session, cluster):
        holding.append(f"Aurora cluster {cluster}")
    bucket = outputs.get("MediaBucketName")
    if bucket and _bucket_exists(session, bucket):
        listed = session.read("s3", "list_objects_v2", Bucket=bucket, MaxKeys=1)
        if listed.get("KeyCount", 0):
            holding.append(f"media bucket {bucket}")
    # An EFS file system cannot be listed from the API: it counts while it exists.
    file_system = outputs.get("MediaFileSystemId")
    if file_system:
        try:
            session.read("efs", "describe_file_systems", FileSystemId=file_system)
            holding.append(f"EFS file system {file_system}")
        except ClientError as exc:
            if error_code(exc) != "FileSystemNotFound":
                raise
    return holding


def delete(
    session: Session, *, name: str, snapshot: bool, retain: bool, timeout: float
) -> dict[str, Any]:
    stack = find_stack(session, name)
    if stack is None:
        raise Refused(f"no stack {name}")
    outputs = outputs_of(stack)
    holding = _holdings(session, outputs)
    if holding and not (snapshot or retain):
        raise Refused(
            f"stack {name} holds data ({'; '.join(holding)}): pass --snapshot to snapshot the "
            "database and delete it, or --retain to keep the data stores"
        )
    result: dict[str, Any] = {"stack": name, "stack_id": stack["StackId"], "holding": holding}
    kept = [h for h in holding if not h.startswith("Aurora")]
    with reporting(result):
        cluster = outputs.get("DatabaseClusterId")
        if snapshot and cluster and aurora.find_cluster(session, cluster):
            made = aurora.snapshot(session, cluster=cluster, snapshot_id=None, timeout=timeout)
            result["final_snapshot"] = made["snapshot"]
            session.act(
                "rds",
                "modify_db_cluster",
                DBClusterIdentifier=cluster,
                DeletionProtection=False,
                ApplyImmediately=True,
            )
        elif retain and cluster and holding and holding[0].startswith("Aurora"):
            kept.insert(0, holding[0])
        result["retained"] = kept
        seen = _seen_events(session, stack)
        session.act("cloudformation", "delete_stack", StackName=stack["StackId"])
        if session.dry_run:
            return result
        try:
            status_ = _follow(
                session, stack["StackId"], ready={"DELETE_COMPLETE"}, timeout=timeout, since=seen
            )
        except OpsError:
            if not retain:
                raise
            # The protected cluster stops the delete (DELETE_FAILED): leave what failed
            # behind, as asked, and delete the rest.
            failed = _failed_resources(session, stack["StackId"])
            session.act(
                "cloudformation", "delete_stack", StackName=stack["StackId"], RetainResources=failed
            )
            status_ = _follow(
                session, stack["StackId"], ready={"DELETE_COMPLETE"}, timeout=timeout, since=seen
            )
        result["stack_status"] = status_
        return result


def _failed_resources(session: Session, stack_id: str) -> list[str]:
    resources = session.read("cloudformation", "list_stack_resources", StackName=stack_id)
    return [
        r["LogicalResourceId"]
        for r in resources["StackResourceSummaries"]
        if r["ResourceStatus"] == "DELETE_FAILED"
    ]
