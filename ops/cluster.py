"""The local cluster: the production topology on one machine (DESIGN.md, section 5).

haproxy round-robin over N gunicorn instances, a MariaDB primary and a replicating
replica, Redis, a shared media directory, and the worker tier (moto standing in for
SQS, `manage.py run_worker` processes), all under one directory (`var/cluster/`).
Each command is one function returning an exit status; `ops.__main__` parses the
arguments. Servers run detached in their own process groups and outlive the command.
"""

from __future__ import annotations

import fcntl
import json
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from ops import cluster_db as db
from ops import cluster_lb as lb
from ops import cluster_sqs as sqs
from ops.cluster_proc import (
    group_alive,
    group_members,
    memory_kib,
    port_free,
    signal_group,
    stop_group,
    wait_until,
)
from ops.cluster_run import (
    DATABASES,
    ClusterError,
    await_ready,
    check_paths,
    check_ports_free,
    check_prerequisites,
    finish,
    follow,
    haproxy_stats,
    launch,
    manage,
    program,
    running,
    serving,
    write_db_cnf,
)
from ops.cluster_state import Cluster, Settings, ensure_secrets, load
from ops.cluster_status import collect, print_status


def _say(message: str) -> None:
    print(message, flush=True)


def _since(started: float) -> str:
    return f"{time.monotonic() - started:.1f}s"


@contextmanager
def _locked(directory: Path) -> Iterator[None]:
    """One changing command at a time per cluster directory."""
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / ".lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise ClusterError(f"another ops command is working on {directory}") from None
        yield


def _require(directory: Path) -> Cluster:
    cluster = load(directory)
    if cluster is None:
        raise ClusterError(f"no cluster in {directory}: run `python -m ops cluster up` first")
    return cluster


def _check_name(cluster: Cluster, name: str) -> None:
    if name not in cluster.components:
        raise ClusterError(f"no component {name!r}; choose from {', '.join(cluster.components)}")


def _group(cluster: Cluster, name: str) -> int | None:
    """The component's process group while anything of it is left, else None."""
    proc = cluster.processes.get(name, {})
    return proc["pgid"] if group_alive(proc.get("pgid"), proc.get("start_time")) else None


# --- up ----------------------------------------------------------------------------


def _up_databases(cluster: Cluster, secrets: dict[str, str], todo: list[str]) -> None:
    names = [n for n in DATABASES if n in todo]
    if not names:
        return
    fresh = [n for n in names if not db.is_installed(cluster.db_dir(n))]
    if "primary" in fresh and "replica" not in fresh and cluster.writer == "primary":
        raise ClusterError("the replica has data but the primary has none: `down --wipe`, then up")
    started = time.monotonic()
    installs = {}
    for name in fresh:
        write_db_cnf(cluster, name)
        installs[name] = db.install(cluster.db_dir(name), program("mariadb-install-db"))
    for name, proc in installs.items():
        output, _ = proc.communicate(timeout=120)
        if proc.returncode != 0:
            raise ClusterError(f"mariadb-install-db for the {name} failed:\n{output[-2000:]}")
    procs = {name: launch(cluster, secrets, name) for name in names}
    for name, proc in procs.items():
        await_ready(cluster, name, proc)
    primary, replica = cluster.db_dir("primary"), cluster.db_dir("replica")
    if "primary" in fresh:
        db.bootstrap_primary(
            primary,
            app_password=secrets["app_password"],
            repl_password=secrets["repl_password"],
        )
    if "replica" in fresh and cluster.writer == "primary":
        db.start_replication(
            replica,
            primary_port=cluster.port("primary"),
            repl_password=secrets["repl_password"],
        )
    if cluster.writer == "primary" and running(cluster, "replica"):
        if not db.wait_for_gtid(replica, db.binlog_pos(primary), 15):
            raise ClusterError(f"the replica did not catch up; see {cluster.log('replica')}")
    _say(
        f"    MariaDB {', '.join(names)} ready ({'installed, ' if fresh else ''}{_since(started)})"
    )


def _up_app(cluster: Cluster, secrets: dict[str, str], names: list[str]) -> dict:
    """Migrate, then boot the web instances and workers (`names`) while the demo content
    and admin are made."""
    started = time.monotonic()
    log = cluster.log("manage")
    finish(manage(cluster, secrets, "migrate", "--noinput"), "manage.py migrate", log)
    _say(f"    migrate ({_since(started)})")
    procs = {name: launch(cluster, secrets, name) for name in names}
    started = time.monotonic()
    admin = manage(
        cluster, secrets, "ensure_admin", "--password-file", str(cluster.admin_password_file)
    )
    seed = None
    if posts := cluster.settings.seed_posts:
        seed = manage(cluster, secrets, "seed_demo", "--posts", str(posts))
    finish(admin, "manage.py ensure_admin", log)
    if seed is not None:
        # As long as it takes (minutes at 100,000 posts), with its progress shown.
        follow(seed, "seed_demo", log, say=_say)
    _say(f"    ensure_admin{' and seed_demo' if seed else ''} ({_since(started)})")
    return procs


def _up_sqs(
    cluster: Cluster, secrets: dict[str, str], proc: subprocess.Popen | None = None
) -> None:
    """Start moto (or wait for `proc`, launched already) and make the queues: they live
    in its memory, so after every start."""
    started = time.monotonic()
    await_ready(cluster, "sqs", proc or launch(cluster, secrets, "sqs"))
    try:
        sqs.create_queues(cluster)
    except sqs.QueueError as exc:
        raise ClusterError(str(exc)) from exc
    made = "queues"
    if cluster.settings.session_store == "dynamodb":
        # moto keeps its tables in memory too: the sessions table after every start.
        table = manage(cluster, secrets, "create_session_table")
        finish(table, "manage.py create_session_table", cluster.log("manage"))
        made = "queues and the sessions table"
    _say(f"    SQS (moto) on port {cluster.port('sqs')}, {made} made ({_since(started)})")


def _up_workers(cluster: Cluster, secrets: dict[str, str], procs: dict) -> None:
    """Wait for the workers in `procs` (launched with the web instances), or start them."""
    started = time.monotonic()
    for name in cluster.workers:
        if name in procs or not running(cluster, name):
            await_ready(cluster, name, procs.get(name) or launch(cluster, secrets, name))
    _say(f"    {', '.join(cluster.workers)} consuming the queue ({_since(started)})")


def _open(directory: Path, requested: Settings, explicit: set[str]) -> Cluster:
    """The cluster in `directory`, made with `requested` settings if there is none yet."""
    cluster = load(directory)
    if cluster is None:
        cluster = Cluster(dir=directory, settings=requested)
        check_paths(cluster)
        # Before anything is saved: a busy port is fixed by passing another one.
        check_ports_free(cluster, cluster.components)
        cluster.save()
        return cluster
    ignored = sorted(
        f"--{name.replace('_', '-')}"
        for name in explicit
        if getattr(requested, name) != getattr(cluster.settings, name)
    )
    if ignored:
        _say(f"note: {directory} keeps the settings it was made with; ignored: "
             f"{', '.join(ignored)} (`down --wipe` to start over)")  # fmt: skip
    return cluster


def up(directory: Path, requested: Settings, explicit: set[str]) -> int:
    check_prerequisites()
    with _locked(directory):
        cluster = _open(directory, requested, explicit)
        todo = [name for name in cluster.components if not running(cluster, name)]
        if not todo:
            _say(f"The cluster in {directory} is already up.")
            _summary(cluster, None)
            return 0
        started = time.monotonic()
        secrets = ensure_secrets(cluster)
        # Leftovers of a crashed component (gunicorn workers without their master).
        for name in todo:
            if (pgid := _group(cluster, name)) is not None:
                stop_group(pgid, timeout=5)
        check_ports_free(cluster, todo)
        for folder in (cluster.logs, cluster.media, cluster.static, cluster.mail):
            folder.mkdir(parents=True, exist_ok=True)
        _say(f"==> Starting {', '.join(todo)} in {directory}")
        webs = [name for name in cluster.webs if name in todo]
        workers = [name for name in cluster.workers if name in todo]
        # collectstatic needs no database, Redis and moto need nothing: they start while
        # MariaDB comes up (moto's import alone takes seconds on a loaded machine).
        collectstatic = manage(cluster, secrets, "collectstatic", "--noinput") if webs else None
        early = {name: launch(cluster, secrets, name) for name in ("redis", "sqs") if name in todo}
        _up_databases(cluster, secrets, todo)
        if "redis" in early:
            await_ready(cluster, "redis", early["redis"])
            _say(f"    Redis ready on port {cluster.port('redis')}")
        if "sqs" in early:
            _up_sqs(cluster, secrets, early["sqs"])
        booting = {}
        if collectstatic:
            finish(collectstatic, "manage.py collectstatic", cluster.log("manage"))
            webs_started = time.monotonic()
            # The workers boot with the web instances: both only need the migrated schema.
            booting = _up_app(cluster, secrets, webs + workers)
            for name in webs:
                await_ready(cluster, name, booting[name])
            _say(f"    gunicorn {', '.join(webs)} answer /healthz ({_since(webs_started)})")
        if workers:
            _up_workers(cluster, secrets, booting)
        if "haproxy" in todo:
            await_ready(cluster, "haproxy", launch(cluster, secrets, "haproxy"))
        elif not wait_until(lambda: serving(cluster, cluster.webs), 30):
            raise ClusterError("haproxy's checks have not passed for every instance")
        _say("    haproxy: every instance passed its health check")
        _summary(cluster, time.monotonic() - started)
    return 0


def _summary(cluster: Cluster, took: float | None) -> None:
    s = cluster.settings
    password = cluster.admin_password_file
    pw_note = f"password in {password}" if password.exists() else "password: see manage.py"
    webs = ", ".join(f"{web} :{cluster.port(web)}" for web in cluster.webs)
    memory = sum(memory_kib(p["pgid"]) for p in cluster.processes.values()) // 1024
    lines = [
        f"cloudblog cluster is up{f' in {took:.1f}s' if took is not None else ''}:",
        f"  site      {cluster.url}",
        f"  admin     {cluster.url}admin/  (user admin, {pw_note})",
        f"  web       {webs} ({s.workers} workers each), logs in {cluster.logs}/",
        f"  writer    {cluster.writer} :{cluster.port(cluster.writer)}"
        + (f", replica :{s.replica_port}" if cluster.writer == "primary" else ""),
        f"  redis     :{s.redis_port}; media in {cluster.media}",
        f"  queue     {sqs.queue_url(cluster)} (moto), "
        f"{len(cluster.workers)} worker(s); mail in {cluster.mail}/",
        f"  haproxy   admin socket {cluster.haproxy_socket}",
        f"  memory    {memory} MiB (PSS of every process)",
        f"  status    python -m ops cluster status --dir {cluster.dir}",
        f"  stop      python -m ops cluster down --dir {cluster.dir}",
    ]
    _say("\n".join(lines))


# --- status, kill, start -----------------------------------------------------------------


def status(directory: Path, *, as_json: bool) -> int:
    cluster = _require(directory)
    report = collect(cluster)
    print_status(report, as_json=as_json)
    # Like `systemctl status`: 3 when something is not running.
    return 0 if all(c["running"] for c in report["components"].values()) else 3


def kill(
    directory: Path, name: str, *, signal_name: str, timeout: float, as_json: bool = False
) -> int:
    """Signal a component's group. The moment of the signal is printed (`--json`: as Unix
    time), since a caller's clock read before this command ran is off by its start-up:
    over a second on a busy machine."""
    cluster = _require(directory)
    _check_name(cluster, name)
    pgid = _group(cluster, name)
    sig = signal.Signals[f"SIG{signal_name}"]
    report = {"component": name, "signal": sig.name, "pgid": pgid, "outcome": "not running"}
    if pgid is not None:
        started, report["signalled_at"] = time.monotonic(), time.time()
        if sig in (signal.SIGSTOP, signal.SIGCONT):
            signal_group(pgid, sig)
            report["outcome"] = "sent"
        else:
            # Waits until nothing of the group is left (zombies count as gone).
            report["outcome"] = stop_group(pgid, timeout=timeout, sig=sig)
            report["gone_after"] = round(time.monotonic() - started, 3)
    if as_json:
        print(json.dumps(report), flush=True)
    elif pgid is None:
        _say(f"{name} is not running.")
    else:
        moment = datetime.fromtimestamp(report["signalled_at"]).strftime("%H:%M:%S.%f")[:-3]
        took = f" ({report['gone_after']:.1f}s)" if "gone_after" in report else ""
        _say(f"{name}: {sig.name} to process group {pgid} at {moment}: {report['outcome']}{took}")
    return 0


def start(directory: Path, name: str) -> int:
    with _locked(directory):
        cluster = _require(directory)
        _check_name(cluster, name)
        if running(cluster, name):
            _say(f"{name} is already running.")
            return 0
        started = time.monotonic()
        if (pgid := _group(cluster, name)) is not None:
            stop_group(pgid, timeout=5)
        check_ports_free(cluster, [name])
        secrets = ensure_secrets(cluster)
        if name == "sqs":
            _up_sqs(cluster, secrets)
            _say("    (moto starts empty: whatever was queued before it died is gone)")
        else:
            await_ready(cluster, name, launch(cluster, secrets, name))
        if name.startswith("web") and running(cluster, "haproxy"):
            if not wait_until(lambda: serving(cluster, [name]), 10):
                raise ClusterError(f"{name} answers, but haproxy's check has not passed")
        _say(f"{name} started (pid {cluster.processes[name]['pid']}) in {_since(started)}")
    return 0


# --- replica: promote, lag, pause -----------------------------------------------------


def _require_replicating(cluster: Cluster) -> Path:
    if cluster.writer != "primary":
        raise ClusterError("the replica was promoted: it no longer replicates")
    if not running(cluster, "replica"):
        raise ClusterError("the replica is not running: `python -m ops cluster start replica`")
    return cluster.db_dir("replica")


def _restart_web(cluster: Cluster, secrets: dict[str, str], name: str, timeout: float) -> None:
    """Drain in haproxy, stop gracefully, start with the current writer, back in."""
    marks = [("", time.monotonic())]
    balanced = running(cluster, "haproxy")
    if balanced:
        lb.set_server_state(cluster.haproxy_socket, name, "drain")
        wait_until(lambda: haproxy_stats(cluster).get(name, {}).get("scur") == "0", 5)
        marks.append(("drained", time.monotonic()))
    if (pgid := _group(cluster, name)) is not None:
        stop_group(pgid, timeout=timeout)
        marks.append(("stopped", time.monotonic()))
    await_ready(cluster, name, launch(cluster, secrets, name))
    marks.append(("booted", time.monotonic()))
    if balanced:
        lb.set_server_state(cluster.haproxy_socket, name, "ready")
        if not wait_until(lambda: serving(cluster, [name]), 10):
            raise ClusterError(f"{name} restarted, but haproxy's check has not passed")
        marks.append(("in service", time.monotonic()))
    steps = ", ".join(f"{what} {at - marks[0][1]:.1f}s" for what, at in marks[1:])
    _say(f"    {name} restarted on the new writer: {steps}")


def promote(directory: Path, *, timeout: float) -> int:
    with _locked(directory):
        cluster = _require(directory)
        if cluster.writer == "replica":
            _say("The replica is the writer already.")
            return 0
        replica = _require_replicating(cluster)
        secrets = ensure_secrets(cluster)
        started = time.monotonic()
        primary = cluster.db_dir("primary")
        if running(cluster, "primary") and db.ping(primary):
            # A planned switchover: fence the old writer, wait until nothing is in flight.
            db.fence(primary)
            caught_up = db.wait_for_gtid(replica, db.binlog_pos(primary), 10)
            _say(f"    primary is read-only; replica caught up: {caught_up} ({_since(started)})")
        elif running(cluster, "primary"):
            _say("    WARNING: the primary runs but does not answer: not fenced. Nothing will "
                 "write to it, and it restarts read-only; `kill primary` to be sure.")  # fmt: skip
        applied = db.promote(replica)
        cluster.writer = "replica"
        cluster.save()
        note = "" if applied else " (WARNING: part of its relay log was not applied)"
        _say(f"==> replica is the writer after {(time.monotonic() - started) * 1000:.0f} ms{note}")
        rolling = time.monotonic()
        for name in cluster.webs:
            _restart_web(cluster, secrets, name, timeout)
        for name in cluster.workers:
            # A worker left on the old primary could not record its jobs: each would fail
            # and, after the queue's maxReceiveCount, land in the dead-letter queue.
            if (pgid := _group(cluster, name)) is not None:
                stop_group(pgid, timeout=timeout)
                await_ready(cluster, name, launch(cluster, secrets, name))
                _say(f"    {name} restarted on the new writer")
        _say(f"==> every web instance writes to the replica ({_since(rolling)} rolling restart,"
             f" {_since(started)} in all)")  # fmt: skip
    return 0


def lag(directory: Path, seconds: int) -> int:
    replica = _require_replicating(_require(directory))
    db.set_delay(replica, seconds)
    _say(f"replica delay set to {seconds}s" if seconds else "replica delay removed")
    return 0


def replica_applier(directory: Path, *, running_: bool) -> int:
    replica = _require_replicating(_require(directory))
    db.set_applier(replica, running=running_)
    _say("replica applying again" if running_ else "replica paused (SQL thread stopped)")
    return 0


# --- down ----------------------------------------------------------------------------


def _stop_tier(cluster: Cluster, names: list[str], timeout: float) -> None:
    groups = {n: pgid for n in names if (pgid := _group(cluster, n)) is not None}
    started = time.monotonic()
    for pgid in groups.values():
        signal_group(pgid, signal.SIGTERM)
        # A group stopped with `kill --signal STOP` (a simulated hang) must run to exit.
        signal_group(pgid, signal.SIGCONT)
    wait_until(lambda: not any(group_members(p) for p in groups.values()), timeout)
    for name, pgid in groups.items():
        killed = bool(group_members(pgid)) and signal_group(pgid, signal.SIGKILL)
        wait_until(lambda p=pgid: not group_members(p), 5)
        _say(f"    {name} {'killed' if killed else 'stopped'} ({_since(started)})")


def down(directory: Path, *, wipe: bool, timeout: float) -> int:
    cluster = load(directory)
    if cluster is None:
        _say(f"No cluster in {directory}; nothing to stop.")
        return 0
    with _locked(directory):
        started = time.monotonic()
        _say(f"==> Stopping the cluster in {directory}")
        ours = [name for name in cluster.components if _group(cluster, name) is not None]
        # Workers after the web tier (nothing new is enqueued), before the queue and
        # the databases they need to finish the jobs in flight.
        for tier in (["haproxy"], cluster.webs, cluster.workers, ["sqs", "redis", *DATABASES]):
            _stop_tier(cluster, [name for name in tier if name in ours], timeout)
        cluster.processes = {}
        cluster.save()
        busy = [
            f"{n} {cluster.port(n)}"
            for n in cluster.listening(ours)
            if not port_free(cluster.port(n))
        ]
        if busy:
            raise ClusterError(f"ports still in use after stopping: {', '.join(busy)}")
        if wipe:
            shutil.rmtree(directory)
            _say(f"    removed {directory}")
        kept = "" if wipe else "; data kept"
        _say(f"==> Down in {_since(started)}; its ports are free{kept}")
    return 0
