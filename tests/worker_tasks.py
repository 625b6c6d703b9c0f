"""Tasks that only tests enqueue: they leave their trace in a file, so a test can
count runs made by another process (run_worker) as easily as by this one."""

from __future__ import annotations

import time
from pathlib import Path

from django_tasks import task


def _append(path: str, line: str) -> None:
    with Path(path).open("a") as handle:
        handle.write(line + "\n")


def runs(path: str | Path) -> list[str]:
    path = Path(path)
    return path.read_text().splitlines() if path.exists() else []


@task
def record(path: str, value: str = "ran") -> str:
    _append(path, value)
    return value


@task
def fail(path: str) -> None:
    _append(path, "tried")
    raise RuntimeError("this job always fails")


@task
def slow_record(path: str, seconds: float) -> None:
    _append(path, "started")
    time.sleep(seconds)
    _append(path, "finished")


@task
def slow_once(path: str, seconds: float) -> None:
    """Slow the first time (long enough to be killed in), quick when run again."""
    if "started" in runs(path):
        _append(path, "resumed")
        return
    _append(path, "started")
    time.sleep(seconds)
    _append(path, "finished")


@task
def noop() -> None:
    return None


not_a_task = "a string"
