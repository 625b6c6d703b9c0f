"""Which task a job names: the periodic jobs of cron.yaml, and task paths that moved.

The apps that own the tasks register them in their `ready()`, so the worker tier
imports no app above it. A name is resolved when a job arrives: one whose task is
missing from this release is a rejected job, not a failed start.

Moved paths keep an upgrade from losing work: messages and outbox rows written by the
previous release name a task by its old import path (`blog.media_tasks.…`), and they
must still run after the code moved.
"""

from __future__ import annotations

_periodic: dict[str, str] = {}
_moved: dict[str, str] = {}


def register_periodic(name: str, task_path: str) -> None:
    """`name` is the cron.yaml job name the Beanstalk daemon sends (X-Aws-Sqsd-Taskname)."""
    _periodic[name] = task_path


def register_moved(old_path: str, task_path: str) -> None:
    _moved[old_path] = task_path


def periodic_task_path(name: str) -> str | None:
    return _periodic.get(name)


def periodic_names() -> list[str]:
    return sorted(_periodic)


def current_path(task_path: str) -> str:
    return _moved.get(task_path, task_path)
