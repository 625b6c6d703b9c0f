"""`ops cluster status`: what runs, on which port, and how the replica is doing."""

from __future__ import annotations

import json

from ops import cluster_db as db
from ops import cluster_sqs as sqs
from ops.cluster_proc import is_stopped, memory_kib
from ops.cluster_run import DATABASES, haproxy_stats, running
from ops.cluster_state import Cluster


def _database(cluster: Cluster, name: str) -> dict:
    base = cluster.db_dir(name)
    entry: dict = {"socket": str(db.socket_path(base)), "role": "writer"}
    if name != cluster.writer:
        entry["role"] = "replica" if name == "replica" else "old primary (fenced, read-only)"
    if not running(cluster, name):
        return entry
    try:
        entry.update(db.server_status(base))
    except db.DatabaseError as exc:
        entry["error"] = str(exc)
    return entry


def collect(cluster: Cluster) -> dict:
    stats = haproxy_stats(cluster) if running(cluster, "haproxy") else {}
    components = {}
    for name in cluster.components:
        proc = cluster.processes.get(name, {})
        alive = running(cluster, name)
        entry: dict = {
            "running": alive,
            "stopped": alive and is_stopped(proc["pid"]),
            "pid": proc.get("pid") if alive else None,
            "port": cluster.port(name),
            "memory_kib": memory_kib(proc["pgid"]) if alive else 0,
            "log": str(cluster.log(name)),
        }
        if name.startswith("web") and name in stats:
            row = stats[name]
            entry["haproxy"] = {"status": row["status"], "check": row["check_status"]}
        if name in DATABASES:
            entry.update(_database(cluster, name))
        if name == "sqs" and alive:
            entry["queue"] = sqs.depth(cluster)
        components[name] = entry
    primary, replica = components["primary"], components["replica"]
    if replica.get("replication") and "gtid_binlog_pos" in primary:
        # Whole-second Seconds_Behind_Master says little; equal GTIDs say "nothing missing".
        replica["replication"]["caught_up"] = (
            replica["gtid_slave_pos"] == primary["gtid_binlog_pos"]
        )
    return {
        "dir": str(cluster.dir),
        "url": cluster.url,
        "writer": cluster.writer,
        "components": components,
        "memory_mib": sum(c["memory_kib"] for c in components.values()) // 1024,
    }


def _detail(name: str, entry: dict) -> str:
    view = entry.get("haproxy")
    balancer = f"haproxy: {view['status']} {view['check']}" if view else ""
    if not entry["running"]:
        return f"{balancer}; log {entry['log']}" if view else f"log {entry['log']}"
    if view:
        return balancer
    if queue := entry.get("queue"):
        if "error" in queue:
            return f"queue unreachable: {queue['error']}"
        return (
            f"queue: {queue['visible']} visible, {queue['in_flight']} in flight, "
            f"{queue['dead_letters']} in the DLQ"
        )
    if name not in DATABASES:
        return ""
    if "error" in entry:
        return f"{entry['role']}; error: {entry['error']}"
    parts = [entry["role"], "read-only" if entry["read_only"] else "writable"]
    parts.append(f"gtid {entry['gtid_binlog_pos'] or '-'}")
    if rep := entry.get("replication"):
        parts.append(f"IO {rep['io_running']}, SQL {rep['sql_running']}")
        behind = rep["seconds_behind_master"]
        parts.append(f"{behind}s behind" if behind is not None else "not applying")
        if rep["sql_delay"]:
            parts.append(f"delay {rep['sql_delay']}s")
        if "caught_up" in rep:
            parts.append("caught up" if rep["caught_up"] else "BEHIND")
        parts += [e for e in (rep["last_io_error"], rep["last_sql_error"]) if e]
    return ", ".join(parts)


def print_status(report: dict, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    print(f"cluster {report['dir']}: {report['url']}, writer {report['writer']}")
    print(f"{'component':<10} {'state':<8} {'pid':>7} {'port':>6} {'MiB':>5}  detail")
    for name, entry in report["components"].items():
        state = "STOPPED" if entry["stopped"] else "running" if entry["running"] else "DOWN"
        pid = entry["pid"] or "-"
        port = entry["port"] or "-"
        mib = entry["memory_kib"] // 1024
        line = f"{name:<10} {state:<8} {pid:>7} {port:>6} {mib:>5}  "
        print(line + _detail(name, entry))
    print(f"memory in all: {report['memory_mib']} MiB (PSS)")
