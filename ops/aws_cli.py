"""The AWS areas of `python -m ops`: rds, aurora, ebs, cutover, ami, stack.

Parsing only: each command builds a Session and hands one function to `run_command`,
which prints the result and picks the exit code.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ops import ami, aurora, cutover, ebs, rds, stack
from ops.aws import EXIT_CODES_HELP, Session, run_command

AREAS = ("rds", "aurora", "ebs", "cutover", "ami", "stack")
DEFAULT_TAG_TEXT = ", ".join(ami.DEFAULT_TAGS)


def _when(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be an ISO 8601 time like 2026-11-22T03:15:00Z, got {value!r}"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise argparse.ArgumentTypeError(f"must be more than 0, got {value}")
    return number


def _count(value: str) -> int:
    number = int(value)
    if not 0 <= number <= 16:
        raise argparse.ArgumentTypeError(f"must be from 0 to 16, got {number}")
    return number


def _common(timeout: float | None) -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("--json", action="store_true", help="print only a JSON result on stdout")
    parent.add_argument(
        "--dry-run",
        action="store_true",
        help="check and look up everything, print the exact API calls, change nothing",
    )
    parent.add_argument("--ticket", help="incident or change ticket, tagged on what is made")
    parent.add_argument("--region", help="AWS region (default: AWS_REGION)")
    if timeout is not None:
        parent.add_argument(
            "--timeout",
            type=_positive_float,
            default=timeout,
            metavar="SECONDS",
            help=f"give up waiting after this long, per wait (default {timeout:g})",
        )
    return parent


def _command(
    commands: argparse._SubParsersAction, name: str, text: str, timeout: float | None = None
) -> argparse.ArgumentParser:
    return commands.add_parser(
        name,
        parents=[_common(timeout)],
        help=text,
        description=text,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def _area(areas: argparse._SubParsersAction, name: str, text: str) -> argparse._SubParsersAction:
    parser = areas.add_parser(
        name,
        help=text,
        description=text,
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    return parser.add_subparsers(dest="command", required=True, metavar="COMMAND")


def _add_rds(areas: argparse._SubParsersAction) -> None:
    commands = _area(areas, "rds", "one RDS instance: snapshot, restore (snapshot or time)")
    snap = _command(commands, "snapshot", "snapshot a DB instance and wait for it", 3600)
    snap.add_argument("--instance", required=True, metavar="ID")
    snap.add_argument("--snapshot-id", help="default: <instance>-<UTC time>")
    restore = _command(
        commands,
        "restore",
        "restore a snapshot, or the instance at a point in time, as a NEW instance",
        5400,
    )
    source = restore.add_mutually_exclusive_group(required=True)
    source.add_argument("--snapshot", metavar="SNAPSHOT_ID")
    source.add_argument("--instance", metavar="ID", help="source for --to-time or --latest")
    restore.add_argument("--new-id", required=True, metavar="ID")
    when = restore.add_mutually_exclusive_group()
    when.add_argument("--to-time", type=_when, metavar="ISO_TIME")
    when.add_argument("--latest", action="store_true", help="the latest restorable time")
    restore.add_argument("--instance-class", help="default: the source's")
    restore.add_argument("--subnet-group", help="default: the source's")
    restore.add_argument("--security-group", action="append", metavar="SG", help="repeatable")
    restore.add_argument("--parameter-group", help="default: the source's")
    restore.add_argument(
        "--kms-key",
        help="restore an encrypted copy of the snapshot made with this key (needed when the "
        "snapshot is not encrypted; default: the snapshot's own encryption)",
    )
    restore.add_argument("--check-url", help="then GET this site's /readyz (must be 200)")


def _add_aurora(areas: argparse._SubParsersAction) -> None:
    commands = _area(areas, "aurora", "Aurora clusters: snapshot, restore (snapshot or time)")
    snap = _command(commands, "snapshot", "snapshot a DB cluster and wait for it", 3600)
    snap.add_argument("--cluster", required=True, metavar="ID")
    snap.add_argument("--snapshot-id", help="default: <cluster>-<UTC time>")
    restore = _command(
        commands,
        "restore",
        "restore a cluster snapshot (or the cluster at a time) as a NEW cluster, "
        "with the source's network, groups and KMS key, then its writer and readers",
        5400,
    )
    source = restore.add_mutually_exclusive_group(required=True)
    source.add_argument("--snapshot", metavar="SNAPSHOT_ID")
    source.add_argument("--cluster", metavar="ID", help="source for --to-time or --latest")
    restore.add_argument("--new-cluster", required=True, metavar="ID")
    when = restore.add_mutually_exclusive_group()
    when.add_argument("--to-time", type=_when, metavar="ISO_TIME")
    when.add_argument("--latest", action="store_true", help="the latest restorable time")
    restore.add_argument(
        "--instances", type=_count, default=2, help="writer + readers to create (default 2)"
    )
    restore.add_argument("--instance-class", help="default: the source writer's")
    restore.add_argument("--subnet-group", help="default: the source's")
    restore.add_argument("--security-group", action="append", metavar="SG", help="repeatable")
    restore.add_argument("--parameter-group", help="cluster parameter group (default: source's)")
    restore.add_argument(
        "--kms-key",
        help="default: the source's; needed to restore an unencrypted snapshot, encrypted",
    )
    restore.add_argument("--check-url", help="then GET this site's /readyz (must be 200)")


def _add_ebs(areas: argparse._SubParsersAction) -> None:
    commands = _area(areas, "ebs", "EBS volumes: snapshot, restore as a new volume")
    snap = _command(commands, "snapshot", "snapshot a volume and wait for it", 7200)
    snap.add_argument("--volume", required=True, metavar="VOLUME_ID")
    snap.add_argument("--description")
    restore = _command(
        commands,
        "restore",
        "create an encrypted volume from a snapshot (same type, size or larger), "
        "wait, optionally attach and initialise it",
        1800,
    )
    restore.add_argument("--snapshot", required=True, metavar="SNAPSHOT_ID")
    restore.add_argument("--az", required=True, help="availability zone of the new volume")
    restore.add_argument("--attach", metavar="INSTANCE_ID")
    restore.add_argument("--device", help="e.g. /dev/sdf (needed with --attach)")
    restore.add_argument("--name", help="Name tag; refused if a volume already has it")
    restore.add_argument("--size", type=int, metavar="GIB", help="default: the snapshot's")
    restore.add_argument("--type", dest="volume_type", help="default: the source volume's")
    restore.add_argument("--iops", type=int)
    restore.add_argument("--throughput", type=int, metavar="MIBPS")
    restore.add_argument("--kms-key", help="default: the snapshot's key")
    restore.add_argument(
        "--initialization-rate",
        type=int,
        metavar="MIBPS",
        help="provisioned initialisation rate (100-300 MiB/s), billed",
    )
    restore.add_argument(
        "--initialize",
        nargs="?",
        const="print",
        choices=["print", "ssm"],
        help="print the full-read command (default) or run it through SSM Run Command",
    )


def _add_cutover(areas: argparse._SubParsersAction) -> None:
    parser = areas.add_parser(
        "cutover",
        parents=[_common(None)],
        help="point the application at a restored database (SSM parameter or Route 53 CNAME)",
        description=(
            "Change the one setting the application reads for its database, printing the "
            "old value and the command that puts it back."
        ),
        epilog=EXIT_CODES_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--ssm-parameter", metavar="NAME")
    where.add_argument("--zone", metavar="HOSTED_ZONE_ID", help="with --record")
    parser.add_argument("--record", help="the CNAME's name, with --zone")
    parser.add_argument("--ttl", type=int, default=60)
    to = parser.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-cluster", metavar="ID", help="its writer endpoint")
    to.add_argument("--to-instance", metavar="ID", help="its endpoint")
    to.add_argument("--value", help="exactly this value (rollback)")


def _add_ami(areas: argparse._SubParsersAction) -> None:
    commands = _area(areas, "ami", "golden AMIs: list, promote to current, prune")
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--tag",
        action="append",
        metavar="KEY[=VALUE]",
        help=f"what makes an AMI golden; repeatable (default: tag {DEFAULT_TAG_TEXT})",
    )
    parent.add_argument(
        "--parameter",
        default=ami.DEFAULT_PARAMETER,
        help="SSM parameter the launch template resolves (default %(default)s)",
    )
    for name, text in (
        ("list", "golden AMIs, newest first, with what uses each"),
        ("promote", "make one AMI current (the SSM parameter)"),
        ("prune", "deregister old AMIs and delete their snapshots"),
    ):
        command = commands.add_parser(
            name,
            parents=[_common(None), parent],
            help=text,
            description=text,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "promote":
            command.add_argument("image", metavar="AMI_ID")
        if name == "prune":
            command.add_argument(
                "--keep", type=int, default=3, help="newest AMIs to keep (default 3)"
            )


def _param(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.isalnum():
        raise argparse.ArgumentTypeError(f"must look like Name=VALUE, got {value!r}")
    return key, val


def _add_stack(areas: argparse._SubParsersAction) -> None:
    commands = _area(
        areas,
        "stack",
        "the CloudFormation stack (deploy/cloudformation): deploy, status, diff, delete",
    )
    shape = argparse.ArgumentParser(add_help=False)
    shape.add_argument("--name", required=True, help="the stack's name")
    shape.add_argument("--mode", choices=("ha", "single"), help="needed to create; kept on update")
    shape.add_argument(
        "--ami", help="golden AMI id, or `current` (the SSM parameter ops ami promote sets)"
    )
    shape.add_argument(
        "--param",
        type=_param,
        action="append",
        metavar="NAME=VALUE",
        help="any other template parameter, e.g. --param MediaBackend=s3; repeatable",
    )
    shape.add_argument(
        "--template",
        type=Path,
        default=stack.TEMPLATE,
        help="default: deploy/cloudformation/cloudblog.yaml",
    )
    shape.add_argument(
        "--bucket",
        help="S3 bucket for a template over 51,200 bytes "
        "(default: cloudblog-templates-ACCOUNT-REGION, made if missing)",
    )
    for name, text, timeout in (
        ("deploy", "create or update through a change set, show it, apply it, follow it", 3600),
        ("diff", "show the change set a deploy would make, then discard it", 600),
    ):
        command = commands.add_parser(
            name,
            parents=[_common(timeout), shape],
            help=text,
            description=text,
            epilog=EXIT_CODES_HELP,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        if name == "deploy":
            command.add_argument("--yes", action="store_true", help="apply without asking")
    status = _command(commands, "status", "the stack's status, outputs and recent events")
    status.add_argument("--name", required=True)
    status.add_argument("--events", type=int, default=10, help="recent events to show")
    delete = _command(
        commands, "delete", "delete the stack; refuses while it holds data unless told", 3600
    )
    delete.add_argument("--name", required=True)
    keep = delete.add_mutually_exclusive_group()
    keep.add_argument(
        "--snapshot",
        action="store_true",
        help="snapshot the Aurora cluster first, then let it go (bucket and EFS are retained)",
    )
    keep.add_argument(
        "--retain", action="store_true", help="keep the database, bucket and file system"
    )


def _stack_action(args: argparse.Namespace) -> Any:
    if args.command == "status":
        return lambda s: stack.status(s, name=args.name, events=args.events)
    if args.command == "delete":
        return lambda s: stack.delete(
            s, name=args.name, snapshot=args.snapshot, retain=args.retain, timeout=args.timeout
        )
    options = {
        "name": args.name,
        "mode": args.mode,
        "image": args.ami,
        "given": dict(args.param or []),
        "template": args.template,
        "bucket": args.bucket,
        "timeout": args.timeout,
    }
    if args.command == "diff":
        return lambda s: stack.diff(s, **options)
    return lambda s: stack.deploy(s, yes=args.yes, **options)


def add_areas(areas: argparse._SubParsersAction) -> None:
    _add_stack(areas)
    _add_rds(areas)
    _add_aurora(areas)
    _add_ebs(areas)
    _add_cutover(areas)
    _add_ami(areas)


def _action(args: argparse.Namespace, parser_error: Any) -> Any:
    """The function to run for these arguments, after the checks argparse cannot express."""
    area, command = args.area, getattr(args, "command", None)
    if area in ("rds", "aurora") and command == "restore":
        source = args.instance if area == "rds" else args.cluster
        if source and not (args.to_time or args.latest):
            parser_error("a point-in-time restore needs --to-time or --latest")
        if args.snapshot and (args.to_time or args.latest):
            parser_error("--to-time and --latest go with the source, not --snapshot")
        if area == "rds" and args.instance and args.kms_key:
            parser_error("--kms-key goes with --snapshot: a point-in-time restore keeps the key")
    if area == "rds":
        if command == "snapshot":
            return lambda s: rds.snapshot(
                s, instance=args.instance, snapshot_id=args.snapshot_id, timeout=args.timeout
            )
        overrides = {
            "DBInstanceClass": args.instance_class,
            "DBSubnetGroupName": args.subnet_group,
            "VpcSecurityGroupIds": args.security_group,
            "DBParameterGroupName": args.parameter_group,
        }
        return lambda s: rds.restore(
            s,
            new_id=args.new_id,
            snapshot_id=args.snapshot,
            source_instance=args.instance,
            to_time=args.to_time,
            latest=args.latest,
            kms_key=args.kms_key,
            overrides=overrides,
            timeout=args.timeout,
            check_url=args.check_url,
        )
    if area == "aurora":
        if command == "snapshot":
            return lambda s: aurora.snapshot(
                s, cluster=args.cluster, snapshot_id=args.snapshot_id, timeout=args.timeout
            )
        overrides = {
            "DBSubnetGroupName": args.subnet_group,
            "VpcSecurityGroupIds": args.security_group,
            "DBClusterParameterGroupName": args.parameter_group,
            "KmsKeyId": args.kms_key,
        }
        return lambda s: aurora.restore(
            s,
            new_cluster=args.new_cluster,
            snapshot_id=args.snapshot,
            source_cluster=args.cluster,
            to_time=args.to_time,
            instances=args.instances,
            instance_class=args.instance_class,
            overrides=overrides,
            timeout=args.timeout,
            check_url=args.check_url,
        )
    if area == "ebs":
        if command == "snapshot":
            return lambda s: ebs.snapshot(
                s, volume=args.volume, description=args.description, timeout=args.timeout
            )
        if bool(args.attach) != bool(args.device):
            parser_error("--attach and --device go together")
        if args.initialize == "ssm" and not args.attach:
            parser_error("--initialize ssm runs on the instance: it needs --attach")
        options = {
            "size": args.size,
            "volume_type": args.volume_type,
            "iops": args.iops,
            "throughput": args.throughput,
            "kms_key": args.kms_key,
            "initialization_rate": args.initialization_rate,
        }
        return lambda s: ebs.restore(
            s,
            snapshot_id=args.snapshot,
            az=args.az,
            attach=args.attach,
            device=args.device,
            initialize=args.initialize,
            name=args.name,
            options=options,
            timeout=args.timeout,
        )
    if area == "cutover":
        return _cutover_action(args, parser_error)
    if area == "stack":
        return _stack_action(args)
    tags = args.tag or ami.DEFAULT_TAGS
    if command == "list":
        return lambda s: ami.list_images(s, tags=tags, parameter=args.parameter)
    if command == "promote":
        return lambda s: ami.promote(s, image_id=args.image, tags=tags, parameter=args.parameter)
    return lambda s: ami.prune(s, keep=args.keep, tags=tags, parameter=args.parameter)


def _cutover_action(args: argparse.Namespace, parser_error: Any) -> Any:
    if args.zone and not args.record:
        parser_error("--zone needs --record")

    def act(session: Session) -> dict[str, Any]:
        host = None
        if args.value is None:
            host = cutover.endpoint_of(session, cluster=args.to_cluster, instance=args.to_instance)
        if args.ssm_parameter:
            return cutover.to_parameter(
                session, name=args.ssm_parameter, value=args.value, host=host
            )
        return cutover.to_record(
            session, zone=args.zone, record=args.record, value=args.value or host, ttl=args.ttl
        )

    return act


def run(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    action = _action(args, parser.error)
    # CloudFormation answers in seconds, not minutes: poll its events more often.
    poll = 5.0 if args.area == "stack" else 10.0
    session = Session(
        dry_run=args.dry_run, ticket=args.ticket, region=args.region, poll_seconds=poll
    )
    return run_command(action, session=session, as_json=args.json)
