"""A fresh instance's first /readyz: how long each check took, and the verdict.

Starts a new gunicorn (one worker) --runs times against the database in DATABASE_URL
(MariaDB; created and migrated here if needed), Redis in REDIS_URL (optional) and SQS on
moto in server mode (started here, TASKS_BACKEND=sqs), and asks each one /readyz once,
as soon as it listens: the probe a deploy tool sends to a new instance. Prints each
check's milliseconds (READINESS_TIMEOUT_MS is 1000), the status, the machine and its
load average before and after each run.

    DATABASE_URL=mysql://root@127.0.0.1:3306/cloudblog_bench \\
    REDIS_URL=redis://127.0.0.1:6379/1 .venv/bin/python bench/readyz_first_probe.py --runs 5
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import unquote, urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.aws import MotoServer  # noqa: E402
from tests.net import unused_port  # noqa: E402

GUNICORN = Path(sys.executable).parent / "gunicorn"


def _machine() -> str:
    cpu = "?"
    with open("/proc/cpuinfo") as info:
        for line in info:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return f"{os.cpu_count()} cores, {cpu}, {platform.python_version()}"


def _load() -> float:
    return os.getloadavg()[0]


def _migrate(env: dict[str, str]) -> None:
    print("migrating DATABASE_URL's database (nothing to do if it is current)...", flush=True)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True
    )


def _create_database(url: str) -> None:
    import MySQLdb

    parts = urlsplit(url)
    conn = MySQLdb.connect(
        host=parts.hostname or "127.0.0.1",
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
    )
    try:
        conn.cursor().execute(f"CREATE DATABASE IF NOT EXISTS `{parts.path.lstrip('/')}`")
    finally:
        conn.close()


def _first_probe(env: dict[str, str], log: Path) -> tuple[float, dict]:
    """Start gunicorn, ask /readyz once when it listens; wall seconds and the report."""
    port = unused_port()
    env = {**env, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"}
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.conf.py"],
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/readyz", headers={"Host": "127.0.0.1"}
        )
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn exited {proc.returncode}:\n{log.read_text()}")
            started = time.monotonic()
            try:
                # The master listens before the worker has loaded the app: the request
                # waits in the backlog for it, as a deploy tool's would.
                with urllib.request.urlopen(request, timeout=60) as answer:
                    return time.monotonic() - started, json.load(answer)
            except urllib.error.HTTPError as error:
                return time.monotonic() - started, json.load(error)
            except (ConnectionError, urllib.error.URLError):
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn never listened:\n{log.read_text()}") from None
                time.sleep(0.05)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="fresh instances to probe")
    args = parser.parse_args()
    database_url = os.environ.get("DATABASE_URL", "")
    if not database_url.startswith("mysql://"):
        parser.error("set DATABASE_URL=mysql://... (a MariaDB database this bench may migrate)")
    if not GUNICORN.exists():
        parser.error(f"{GUNICORN} is not installed")

    moto = MotoServer()
    moto.start()
    try:
        os.environ.update(moto.environment())
        import boto3

        queue = boto3.client("sqs").create_queue(QueueName="readyz-bench")["QueueUrl"]
        with tempfile.TemporaryDirectory(prefix="readyz-bench-") as tmp:
            var = Path(tmp)
            (var / "media").mkdir()
            env = {
                **{k: v for k, v in os.environ.items() if not k.startswith("GUNICORN_")},
                "CLOUDBLOG_VAR_DIR": str(var),
                "DJANGO_DEBUG": "true",
                "TASKS_BACKEND": "sqs",
                "WORKER_QUEUE_URL": queue,
            }
            _create_database(database_url)
            _migrate(env)
            print(f"machine: {_machine()}")
            rows = []
            for run in range(1, args.runs + 1):
                before = _load()
                wall, report = _first_probe(env, var / f"web{run}.log")
                after = _load()
                ms = {name: check["ms"] for name, check in report["checks"].items()}
                rows.append((report["status"], ms))
                print(
                    f"run {run}: {report['status']:8} answered in {wall:5.2f} s  "
                    f"checks ms {json.dumps(ms)}  load average {before:.2f} -> {after:.2f}",
                    flush=True,
                )
                failed = {n: c["detail"] for n, c in report["checks"].items() if not c["ok"]}
                if failed:
                    print(f"        failed: {failed}")
            queue_ms = [ms["queue"] for _, ms in rows]
            ok = sum(status == "ok" for status, _ in rows)
            print(
                f"first probes ok: {ok}/{len(rows)}; queue check ms median "
                f"{statistics.median(queue_ms):.1f}, max {max(queue_ms):.1f}"
            )
    finally:
        moto.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
