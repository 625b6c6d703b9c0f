"""`ops cluster up --seed-posts N`: the seed runs as long as it needs, shows its progress,
and is never left running when `up` stops waiting for it.

Driven with real child processes standing in for `manage.py seed_demo` (seeding
thousands of posts has no place in the suite): what is tested is the waiting.
"""

from __future__ import annotations

import inspect
import signal
import subprocess
import sys
import time

import pytest

from ops import cluster
from ops.cluster_proc import group_members, spawn
from ops.cluster_run import ClusterError, finish, follow

# Prints progress like seed_demo does, pausing between batches; SEED_FAIL exits 1.
_SEEDER = """
import sys, time
for done in range(1, 4):
    print(f"seeded {done * 1000:,}/3,000 posts (1,000 posts/s)", flush=True)
    time.sleep(float(sys.argv[1]))
print("Created the demo site.", flush=True)
sys.exit(int(sys.argv[2]))
"""


def _seeder(tmp_path, *, pause: float, exit_code: int = 0) -> subprocess.Popen:
    log = tmp_path / "manage.log"
    argv = [sys.executable, "-c", _SEEDER, str(pause), str(exit_code)]
    return spawn(argv, env={}, log=log, cwd=tmp_path)


def test_the_seed_step_shows_each_progress_line_and_finishes(tmp_path):
    said: list[str] = []
    proc = _seeder(tmp_path, pause=0.2)

    follow(proc, "seed_demo", tmp_path / "manage.log", say=said.append, interval=0.05)

    assert said == [
        "    seed_demo: seeded 1,000/3,000 posts (1,000 posts/s)",
        "    seed_demo: seeded 2,000/3,000 posts (1,000 posts/s)",
        "    seed_demo: seeded 3,000/3,000 posts (1,000 posts/s)",
    ]
    assert proc.returncode == 0


def test_the_seed_step_has_no_deadline():
    assert "timeout" not in inspect.signature(follow).parameters
    source = inspect.getsource(cluster._up_app)
    assert "follow(seed" in source and "finish(seed" not in source


def test_a_failed_seed_is_an_error_that_shows_its_log(tmp_path):
    proc = _seeder(tmp_path, pause=0.01, exit_code=1)

    shows_log = r"(?s)seed_demo failed \(exit 1\).*Created the demo site"
    with pytest.raises(ClusterError, match=shows_log):
        follow(proc, "seed_demo", tmp_path / "manage.log", say=lambda line: None, interval=0.05)


def test_interrupting_up_while_it_seeds_kills_the_seed(tmp_path):
    proc = _seeder(tmp_path, pause=30)

    def interrupt(line: str) -> None:
        raise KeyboardInterrupt  # Ctrl-C (or SIGTERM, which ops turns into it)

    started = time.monotonic()
    with pytest.raises(KeyboardInterrupt):
        follow(proc, "seed_demo", tmp_path / "manage.log", say=interrupt, interval=0.05)

    assert proc.returncode == -signal.SIGKILL
    assert not group_members(proc.pid)
    assert time.monotonic() - started < 10


def test_a_short_step_past_its_timeout_is_stopped_not_orphaned(tmp_path):
    proc = _seeder(tmp_path, pause=30)

    with pytest.raises(ClusterError, match=r"took over 0\.5s and was stopped"):
        finish(proc, "manage.py ensure_admin", tmp_path / "manage.log", timeout=0.5)

    assert proc.returncode == -signal.SIGKILL
    assert not group_members(proc.pid)
