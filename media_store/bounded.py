"""The image pipeline under hard limits: a child process, a wall clock, a memory cap, slots.

Pillow cannot be interrupted mid-decode, and a file can be built to make a decoder slow
or greedy, so `run()` hands `media_store.images.process` to a child process:

- the parent stops waiting after `Limits.max_seconds` and the child is killed, mid-step;
- the child's data segment (RLIMIT_DATA: heap and private writable mappings, where
  Pillow keeps pixels) may grow by `Limits.max_memory_mb` at most: an allocation past it
  fails inside the child (MemoryError, refused with a message), never in the web worker;
- the child's CPU time (all threads) may not pass `Limits.max_cpu_seconds` (RLIMIT_CPU):
  the kernel ends it mid-step, however loaded the machine is and however long the
  parent's clock would still let it run;
- a child that dies (a decoder crash, the kernel) costs a refusal, not the web worker.

Children are forked by a forkserver that has Pillow imported (started once per process,
like any multiprocessing forkserver), so a child costs a fork, not an interpreter start;
each runs one image (pebble's `max_tasks=1`): nothing of one upload outlives it. pebble
is the maintained pool that kills a task's process on timeout and replaces it.

`slot()` bounds how many images an instance processes at once, across all its processes
(gunicorn workers): a slot is an flock on one of N files in a directory on the instance,
released by the kernel even when its holder is killed. No free slot raises `Busy`.

Plain Python: no Django here, so that the forkserver imports nothing but the pipeline.
"""

from __future__ import annotations

import atexit
import errno
import fcntl
import logging
import math
import multiprocessing
import os
import resource
import signal
import stat
import threading
from collections.abc import Iterator
from concurrent.futures import TimeoutError as FutureTimeout
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from pebble import ProcessExpired, ProcessPool

from media_store import images

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_pool: ProcessPool | None = None
_pool_pid: int | None = None  # a pool belongs to the process that made it (gunicorn forks)


class Busy(Exception):
    """Every processing slot of this instance is taken; try again shortly."""


def _vm_data_bytes() -> int | None:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmData:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None  # not Linux (a Mac running make run): no /proc


def _cap_memory(memory_mb: int) -> None:
    """In the child, before the image: cap what it may allocate from here on.

    RLIMIT_DATA counts heap and private writable mappings (Pillow's pixel buffers), not
    address space merely reserved, so threads' malloc arenas do not eat the budget.
    Each child runs one image, so the cap never needs lifting.
    """
    start = _vm_data_bytes()
    if start is None:
        logger.warning("no memory cap for image processing on this system; the clock still holds")
        return
    limit = start + memory_mb * 1024 * 1024
    try:
        resource.setrlimit(resource.RLIMIT_DATA, (limit, limit))
    except (ValueError, OSError):
        # Above a hard limit someone else set: theirs is lower, and holds.
        logger.warning("could not cap image processing at %s MB", memory_mb, exc_info=True)


@dataclass(frozen=True)
class Processed:
    inspected: images.Inspected
    renditions: list[images.Rendition]
    peak_mb: float  # the child's peak resident memory, interpreter included
    cpu_seconds: float  # the child's CPU time, all its threads: steadier than wall time


@dataclass(frozen=True)
class _Refused:
    message: str
    peak_mb: float


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _cap_cpu(seconds: float) -> None:
    """In the child: the kernel ends it once it has used `seconds` more of CPU time.

    RLIMIT_CPU counts every thread's time and is enforced mid-step, inside Pillow's C
    code, whatever the machine's load: SIGXCPU at the soft limit (its default action
    ends the process; no core file is written), SIGKILL a second later should the
    signal be caught. The parent's clock bounds how long a request waits; this bounds
    the work an upload may take from the instance.
    """
    used = resource.getrusage(resource.RUSAGE_SELF)
    soft = math.ceil(used.ru_utime + used.ru_stime + seconds)
    try:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        signal.signal(signal.SIGXCPU, signal.SIG_DFL)
        resource.setrlimit(resource.RLIMIT_CPU, (soft, soft + 1))
    except (ValueError, OSError):
        logger.warning("could not cap image processing at %s CPU seconds", seconds, exc_info=True)


def _child_process(data: bytes, limits: images.Limits, full_only: bool) -> Processed | _Refused:
    _cap_memory(limits.max_memory_mb)
    _cap_cpu(limits.max_cpu_seconds)
    try:
        inspected, renditions = images.process(data, limits, full_only=full_only)
    except images.ImageRejected as exc:
        return _Refused(str(exc), _peak_mb())
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return Processed(inspected, renditions, _peak_mb(), usage.ru_utime + usage.ru_stime)


def _get_pool(workers: int) -> ProcessPool:
    """This process's pool, sized at its first use (the slots bound the instance anyway)."""
    global _pool, _pool_pid
    with _lock:
        if _pool is None or _pool_pid != os.getpid() or not _pool.active:
            if _pool is not None and _pool_pid == os.getpid():
                _pool.stop()
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["media_store.bounded"])
            _pool = ProcessPool(
                max_workers=workers,
                max_tasks=1,
                context=context,
            )
            _pool_pid = os.getpid()
        return _pool


@atexit.register
def _stop_pool() -> None:
    if _pool is not None and _pool_pid == os.getpid():
        _pool.stop()
        _pool.join(timeout=5)


def run(
    data: bytes, limits: images.Limits, *, full_only: bool = False, workers: int = 1
) -> Processed:
    """`images.process(data, limits)` in a child process under `limits`' hard bounds.

    Raises images.ImageRejected for a refused image, one that ran out of time or memory,
    and one whose processing crashed.
    """
    pool = _get_pool(max(1, workers))
    # The clock here is the bound; the pipeline's own checks between steps get a margin,
    # so that the child is stopped by it and no step can run past it.
    child_limits = replace(limits, max_seconds=limits.max_seconds + 5)
    future = pool.schedule(
        _child_process, args=(data, child_limits, full_only), timeout=limits.max_seconds
    )
    try:
        result = future.result()
    except FutureTimeout:
        raise images.ImageRejected(
            f"Processing this image was stopped after {limits.max_seconds:g} seconds; "
            "upload a smaller image."
        ) from None
    except ProcessExpired as exc:
        logger.warning(
            "image processing child %s ended with exit code %s: %s", exc.pid, exc.exitcode, exc
        )
        if exc.exitcode == -signal.SIGXCPU:
            raise images.ImageRejected(
                f"Processing this image was stopped after {limits.max_cpu_seconds:g} seconds "
                "of computing; upload a smaller image."
            ) from None
        raise images.ImageRejected(
            "The image is too large to process (it needs more memory than an upload may use)."
        ) from None
    except MemoryError as exc:
        logger.warning("image processing ended without a result: %r", exc)
        raise images.ImageRejected(
            "The image is too large to process (it needs more memory than an upload may use)."
        ) from None
    except BrokenProcessPool:
        # Not the image's fault: the next call builds a new pool.
        logger.exception("the image processing pool broke")
        _forget_pool()
        raise images.ImageRejected(
            "The image could not be processed just now; please try again."
        ) from None
    if isinstance(result, _Refused):
        logger.info("image refused, peak %.0f MB: %s", result.peak_mb, result.message)
        raise images.ImageRejected(result.message)
    return result


def _forget_pool() -> None:
    global _pool, _pool_pid
    with _lock:
        if _pool is not None and _pool_pid == os.getpid():
            _pool.stop()
        _pool, _pool_pid = None, None


# --- Slots --------------------------------------------------------------------------


def _slot_directory(directory: Path) -> None:
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = directory.lstat()
    # A shared /tmp: never use a directory someone else made (or a link to one).
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise PermissionError(f"{directory} is not a directory owned by this user")


@contextmanager
def slot(count: int, directory: Path) -> Iterator[int]:
    """Hold one of `count` processing slots of this instance, or raise Busy at once."""
    _slot_directory(directory)
    for index in range(count):
        fd = os.open(directory / f"slot-{index}", os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                continue
            raise
        try:
            yield index
        finally:
            os.close(fd)  # closing the last descriptor releases the lock
        return
    raise Busy(f"all {count} image processing slots are in use")
