"""`python -m ops` (or `cloudblog-ops`): the operators' command line.

Thin on purpose: parse the arguments, call a function in `ops.cluster`, print.
"""

from __future__ import annotations

import argparse
import signal
import sys
from pathlib import Path

from ops import aws_cli, cluster, eb, userdata
from ops.cluster_db import DatabaseError
from ops.cluster_lb import HaproxyError
from ops.cluster_run import ClusterError, kill_children
from ops.cluster_state import Settings, default_dir

DEFAULTS = Settings()
SIGNALS = ["KILL", "TERM", "INT", "QUIT", "STOP", "CONT"]


def _positive(value: str) -> int:
    number = int(value)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {number}")
    return number


def _not_negative(value: str) -> int:
    number = int(value)
    if number < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {number}")
    return number


def _port(value: str) -> int:
    number = int(value)
    if not 1024 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"must be a port from 1024 to 65535, got {number}")
    return number


def _key_value(value: str) -> tuple[str, str]:
    key, sep, val = value.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"must look like NAME=VALUE, got {value!r}")
    return key, val


def _dir_option() -> argparse.ArgumentParser:
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--dir",
        type=Path,
        default=default_dir(),
        help="where the cluster keeps its state, data and logs (default: %(default)s)",
    )
    return parent


def _add_up(commands: argparse._SubParsersAction, parent: argparse.ArgumentParser) -> None:
    up = commands.add_parser(
        "up",
        parents=[parent],
        help="start the whole cluster (or whatever part of it is down)",
        description=(
            "Start MariaDB primary and replica, Redis, SQS (a moto server), N gunicorn "
            "instances, the run_worker workers and haproxy; migrate, seed demo content and "
            "create an admin once. Settings are fixed when the directory is first used; "
            "`down --wipe` starts over. Needs the test extras (pip install -e '.[test]') "
            "for moto."
        ),
    )
    options = [
        ("--instances", _positive, "number of gunicorn instances"),
        ("--workers", _positive, "gunicorn workers per instance"),
        ("--port", _port, "haproxy's port, the site's address on 127.0.0.1"),
        ("--web-port", _port, "port of web1; web2.. take the next ones"),
        ("--primary-port", _port, "MariaDB primary's port (3306 is the machine's own)"),
        ("--replica-port", _port, "MariaDB replica's port"),
        ("--redis-port", _port, "Redis's port"),
        ("--sqs-port", _port, "port of the moto server standing in for SQS"),
        ("--worker-instances", _not_negative, "run_worker processes (0: jobs wait in the queue)"),
        (
            "--queue-visibility",
            _positive,
            "the work queue's visibility timeout: how long a killed worker's job stays hidden",
        ),
        ("--seed-posts", _not_negative, "demo posts to create in an empty site (0: none)"),
        (
            "--edge-cache",
            _not_negative,
            "seconds haproxy may answer an anonymous page from its own cache, as a CDN "
            "would (EDGE_CACHE_SECONDS; 0: every request reaches an instance)",
        ),
    ]
    fields = {"--port": "lb_port"}
    for flag, kind, text in options:
        dest = fields.get(flag, flag[2:].replace("-", "_"))
        default = getattr(DEFAULTS, dest)
        seconds = flag in ("--edge-cache", "--queue-visibility")
        metavar = "PORT" if "port" in flag else "SECONDS" if seconds else "N"
        up.add_argument(
            flag, dest=dest, type=kind, metavar=metavar, help=f"{text} (default: {default})"
        )
    up.add_argument(
        "--session-store",
        choices=["cached_db", "db", "cache", "dynamodb"],
        default=None,
        help="where the instances keep sessions (SESSION_STORE); dynamodb: a table on the "
        "moto server, made at start (default: the app's, cached_db with Redis)",
    )
    up.add_argument(
        "--redis-persist",
        action="store_true",
        default=None,
        help="give Redis an append-only file (fsync every second); default: no persistence",
    )
    up.add_argument(
        "--env",
        type=_key_value,
        action="append",
        metavar="NAME=VALUE",
        help="extra setting for every web instance, e.g. --env PAGE_CACHE_SECONDS=0; repeatable",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m ops", description="cloudblog operations.")
    areas = parser.add_subparsers(dest="area", required=True, metavar="AREA")
    area = areas.add_parser(
        "cluster",
        help="the local cluster: haproxy, gunicorn instances, MariaDB pair, Redis, SQS, workers",
        description=(
            "The production topology on this machine, under one directory: haproxy on "
            "127.0.0.1 round-robin over gunicorn instances, a MariaDB primary and replica, "
            "Redis, a shared media folder, and the worker tier: a moto server standing in "
            "for SQS (from the test extras: pip install -e '.[test]') and run_worker "
            "processes. Mail is written to files under the cluster's mail/ folder."
        ),
    )
    userdata.add_parser(areas)
    eb.add_parser(areas)
    commands = area.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parent = _dir_option()
    _add_up(commands, parent)
    status = commands.add_parser(
        "status",
        parents=[parent],
        help="show each component, its pid and port, and replication (exit 3 if any is down)",
    )
    status.add_argument("--json", action="store_true", help="print JSON instead of a table")
    kill = commands.add_parser(
        "kill",
        parents=[parent],
        help="signal a component's whole process group (a crash by default)",
    )
    kill.add_argument(
        "component",
        metavar="COMPONENT",
        help="haproxy, web1..webN, worker1..workerN, sqs, redis, primary or replica",
    )
    kill.add_argument(
        "--signal",
        choices=SIGNALS,
        default="KILL",
        help="KILL simulates a crash, TERM a graceful stop, STOP/CONT a hang (default: KILL)",
    )
    kill.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=10,
        help="seconds before TERM becomes KILL (default 10)",
    )
    kill.add_argument(
        "--json",
        action="store_true",
        help="print JSON: the outcome and when the signal was sent (signalled_at, Unix time)",
    )
    start = commands.add_parser(
        "start", parents=[parent], help="start one stopped component with its configuration"
    )
    start.add_argument(
        "component",
        metavar="COMPONENT",
        help="haproxy, web1..webN, worker1..workerN, sqs, redis, primary or replica",
    )
    promote = commands.add_parser(
        "promote",
        parents=[parent],
        help="make the replica the writer and move every web instance onto it, one at a time",
    )
    promote.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=30,
        help="graceful stop per instance (default 30 s)",
    )
    lag = commands.add_parser(
        "lag", parents=[parent], help="delay the replica by SECONDS (0 removes the delay)"
    )
    lag.add_argument("seconds", type=_not_negative, help="MASTER_DELAY in seconds")
    commands.add_parser(
        "pause-replica", parents=[parent], help="stop applying on the replica (SQL thread)"
    )
    commands.add_parser("resume-replica", parents=[parent], help="apply on the replica again")
    down = commands.add_parser(
        "down", parents=[parent], help="stop everything (TERM, then KILL) and check the ports"
    )
    down.add_argument("--wipe", action="store_true", help="also delete the cluster's directory")
    down.add_argument(
        "--timeout",
        type=float,
        metavar="SECONDS",
        default=15,
        help="seconds before TERM becomes KILL (default 15)",
    )
    aws_cli.add_areas(areas)
    return parser


def _run(args: argparse.Namespace) -> int:
    if args.area == "userdata":
        return userdata.run(args)
    if args.area == "eb":
        return eb.run(args)
    directory = args.dir.resolve()
    if args.command == "up":
        explicit = {
            name
            for name in vars(DEFAULTS)
            if name != "extra_env" and getattr(args, name, None) is not None
        }
        values = {name: getattr(args, name) for name in explicit}
        settings = Settings(**values, extra_env=dict(args.env or []))
        return cluster.up(directory, settings, explicit)
    if args.command == "status":
        return cluster.status(directory, as_json=args.json)
    if args.command == "kill":
        return cluster.kill(
            directory,
            args.component,
            signal_name=args.signal,
            timeout=args.timeout,
            as_json=args.json,
        )
    if args.command == "start":
        return cluster.start(directory, args.component)
    if args.command == "promote":
        return cluster.promote(directory, timeout=args.timeout)
    if args.command == "lag":
        return cluster.lag(directory, args.seconds)
    if args.command in ("pause-replica", "resume-replica"):
        return cluster.replica_applier(directory, running_=args.command == "resume-replica")
    return cluster.down(directory, wipe=args.wipe, timeout=args.timeout)


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.area in aws_cli.AREAS:
        return aws_cli.run(args, parser)
    # SIGTERM unwinds like Ctrl-C: running manage.py children are killed, state is saved.
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        return _run(args)
    except BrokenPipeError:
        # `status | head`: the reader left; say nothing more.
        sys.stderr.close()
        return 1
    except (ClusterError, DatabaseError, HaproxyError) as exc:
        # A step still running (a seed while an instance failed to start) goes too.
        kill_children()
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        kill_children()
        print(
            f"\ninterrupted; whatever started is recorded in {args.dir}/state.json:"
            f" `python -m ops cluster down --dir {args.dir}` stops it",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
