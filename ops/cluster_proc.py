"""Processes and ports for the local cluster.

Every server runs detached in its own process group, so one signal reaches the whole
group (a gunicorn master and its workers). Liveness comes from /proc: this machine's
PID 1 reaps orphans only every couple of seconds, so a killed daemon lingers as a
zombie that `kill -0` would call alive; state Z counts as dead here. A pid is ours
only while its start time matches the one recorded when we launched it.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
_DEAD_STATES = {"Z", "X", "x"}


@dataclass(frozen=True)
class ProcInfo:
    pid: int
    state: str
    pgid: int
    start_time: int


def proc_info(pid: int) -> ProcInfo | None:
    try:
        raw = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    # The command name may hold spaces and parentheses: fields start after the last ")".
    fields = raw[raw.rindex(")") + 2 :].split()
    return ProcInfo(pid=pid, state=fields[0], pgid=int(fields[2]), start_time=int(fields[19]))


def is_running(pid: int | None, start_time: int | None) -> bool:
    """True when `pid` is the process we started (same start time) and not a zombie."""
    if not pid:
        return False
    info = proc_info(pid)
    return info is not None and info.state not in _DEAD_STATES and info.start_time == start_time


def is_stopped(pid: int) -> bool:
    """Stopped by SIGSTOP (state T): alive, but answering nothing."""
    info = proc_info(pid)
    return info is not None and info.state == "T"


def group_members(pgid: int) -> list[int]:
    members = []
    for entry in PROC.iterdir():
        if entry.name.isdigit():
            info = proc_info(int(entry.name))
            if info and info.pgid == pgid and info.state not in _DEAD_STATES:
                members.append(info.pid)
    return members


def group_alive(pgid: int | None, start_time: int | None) -> bool:
    """Is anything left of the group we started (the leader, or workers it left behind)?"""
    if not pgid:
        return False
    leader = proc_info(pgid)
    if leader is not None and leader.state not in _DEAD_STATES:
        # A live leader with another start time: the pid was reused, our group is gone.
        return leader.start_time == start_time
    # The kernel never hands out a pid still used as a process group id, so members
    # of this group outliving their leader are ours.
    return bool(group_members(pgid))


def signal_group(pgid: int, sig: int) -> bool:
    if pgid <= 1 or pgid == os.getpgrp():
        raise ValueError(f"refusing to signal process group {pgid}")
    try:
        os.killpg(pgid, sig)
    except ProcessLookupError:
        return False
    return True


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while True:
        if predicate():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def stop_group(pgid: int, *, timeout: float, sig: int = signal.SIGTERM) -> str:
    """Signal the group, wait up to `timeout`, then SIGKILL it; say which it took."""
    if not group_members(pgid):
        return "not running"
    signal_group(pgid, sig)
    if sig != signal.SIGKILL:
        # A stopped group (a simulated hang) only acts on TERM once it runs again.
        signal_group(pgid, signal.SIGCONT)
    if wait_until(lambda: not group_members(pgid), timeout):
        return "killed" if sig == signal.SIGKILL else "stopped"
    signal_group(pgid, signal.SIGKILL)
    wait_until(lambda: not group_members(pgid), 5)
    return f"killed after {timeout:g}s"


def spawn(argv: Sequence[str], *, env: dict[str, str], log: Path, cwd: Path) -> subprocess.Popen:
    """Start `argv` in a new session (setsid), output appended to `log`, stdin closed.

    Nothing is inherited from our own stdout: a caller capturing our output (a test)
    would otherwise wait for the servers to exit before it saw EOF.
    """
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as out:
        return subprocess.Popen(
            list(argv),
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def start_time_of(pid: int) -> int:
    info = proc_info(pid)
    if info is None:
        raise ProcessLookupError(pid)
    return info.start_time


def port_free(port: int, host: str = "127.0.0.1") -> bool:
    """Could a server listen on host:port now? (SO_REUSEADDR, as servers bind.)"""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError:
            return False
    return True


def memory_kib(pgid: int) -> int:
    """Proportional set size of the group: shared pages are split, not counted twice."""
    total = 0
    for pid in group_members(pgid):
        for name, field in (("smaps_rollup", "Pss:"), ("status", "VmRSS:")):
            try:
                lines = (PROC / str(pid) / name).read_text().splitlines()
            except OSError:
                continue
            values = [int(line.split()[1]) for line in lines if line.startswith(field)]
            if values:
                total += values[0]
                break
    return total


def tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return f"({path} is missing)"
    return "\n".join(text.splitlines()[-lines:])
