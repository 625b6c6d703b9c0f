"""Boot time: golden image vs installing everything at boot (the user-data-only approach).

    sudo .venv/bin/python bench/boot_time.py        # about 6 minutes; needs debootstrap

Both instances start from the same debootstrapped Debian bookworm root (the base AMI)
and are booted in a chroot against the local services: MariaDB (DATABASE_URL's server),
Redis, moto (SSM, Secrets Manager) and a fake IMDSv2 on 127.0.0.1. A boot is timed from
the start of the bootstrap (or, without a golden image, of the installation) to a 200
from /readyz, which `python -m userdata.bootstrap run` polls. systemd is not running in a
chroot: a stand-in systemctl starts gunicorn as cloudblog-web.service would.

Three boots: the golden image as the first instance of a release (it runs the
migrations), the golden image joining a release already migrated (scale-out), and the
user-data-only instance joining the same release (its installation is what differs).
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import boto3
import MySQLdb

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from config.env import parse_database_url  # noqa: E402
from tests.aws import MotoServer  # noqa: E402
from tests.chroot import PROVISION, Chroot, build_env, debootstrap  # noqa: E402
from tests.fake_imds import FakeImds  # noqa: E402

PORT = 8191
FAKE_SYSTEMCTL = """#!/opt/cloudblog/venv/bin/python
# Stands in for systemctl in the boot benchmark (no systemd in a chroot).
import subprocess, sys
from pathlib import Path
from userdata import envfile
args = sys.argv[1:]
if args[:1] == ["start"] and "cloudblog-web.service" in args:
    env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
           **envfile.read(Path("/etc/cloudblog/cloudblog.env")),
           "DJANGO_SETTINGS_MODULE": "config.settings", "STATIC_ROOT": "/opt/cloudblog/static"}
    log = open("/var/log/cloudblog/web.log", "ab")
    proc = subprocess.Popen(
        ["runuser", "-u", "cloudblog", "--", "/opt/cloudblog/venv/bin/gunicorn",
         "-c", "/opt/cloudblog/gunicorn.conf.py", "config.wsgi"],
        env=env, cwd="/opt/cloudblog", stdout=log, stderr=log, start_new_session=True)
    Path("/run/cloudblog-web.pid").write_text(str(proc.pid))
"""
# An EFS access point presents the file system's root as the service user's.
FAKE_MOUNT = """#!/bin/sh
for last; do :; done
echo "99 22 0:50 / $last rw - nfs4 fs-0123456789abcdef0:/ rw" >> /run/fake-mountinfo
chown cloudblog:cloudblog "$last"
"""


def _log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _database(server: dict, name: str) -> str:
    conn = MySQLdb.connect(
        host=server["HOST"],
        port=int(server["PORT"]),
        user=server["USER"],
        passwd=server["PASSWORD"],
    )
    cursor = conn.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    conn.close()
    password = f":{server['PASSWORD']}" if server["PASSWORD"] else ""
    return f"mysql://{server['USER']}{password}@{server['HOST']}:{server['PORT']}/{name}"


def _prepare_instance(chroot: Chroot) -> None:
    root = chroot.root
    (root / "etc/cloudblog").mkdir(parents=True, exist_ok=True)
    (root / "etc/cloudblog/instance.env").write_text(
        "CLOUDBLOG_ENV=bench\nCLOUDBLOG_ROLE=web\nCLOUDBLOG_SSM_PATH=/cloudblog/bench/\n"
        "CLOUDBLOG_SECRET_ID=cloudblog/bench\nCLOUDBLOG_EFS_ID=fs-0123456789abcdef0\n"
    )
    (root / "run/fake-mountinfo").write_text("22 1 8:1 / / rw - ext4 /dev/vda rw\n")
    for name, text in (("fake-systemctl", FAKE_SYSTEMCTL), ("fake-mount", FAKE_MOUNT)):
        path = root / "usr/local/sbin" / name
        path.write_text(text)
        path.chmod(0o755)


def _boot(chroot: Chroot, aws_env: dict[str, str], imds_url: str) -> float:
    """Run the bootstrap to readiness; returns seconds. Leaves gunicorn running."""
    env = {
        **aws_env,
        "CLOUDBLOG_IMDS_URL": imds_url,
        "CLOUDBLOG_MOUNTINFO": "/run/fake-mountinfo",
        "CLOUDBLOG_MOUNT_COMMAND": "/usr/local/sbin/fake-mount",
        "CLOUDBLOG_SYSTEMCTL": "/usr/local/sbin/fake-systemctl",
        "CLOUDBLOG_READY_URL": f"http://127.0.0.1:{PORT}/readyz",
        "CLOUDBLOG_READY_TIMEOUT": "120",
    }
    started = time.monotonic()
    result = chroot.run(
        "/opt/cloudblog/venv/bin/python", "-m", "userdata.bootstrap", "run", env=env
    )
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        raise SystemExit(f"boot failed:\n{result.stdout}\n{result.stderr}")
    ready = [line for line in result.stderr.splitlines() if "READY" in line]
    _log(f"  {ready[-1] if ready else 'ready'}")
    return elapsed


def _stop_web(chroot: Chroot) -> None:
    pid_file = chroot.root / "run/cloudblog-web.pid"
    if pid_file.exists():
        pid = int(pid_file.read_text())
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        for _ in range(100):
            try:
                os.killpg(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        pid_file.unlink()


def main() -> int:
    if os.geteuid() != 0:
        raise SystemExit("run as root: debootstrap and chroot need it")
    server = parse_database_url(
        "DATABASE_URL", os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306/cb_a"), REPO
    )
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/4")
    # Outside the checkout: building the wheel walks the source tree, and a root file
    # system with /proc mounted inside it would be walked too.
    work = Path(tempfile.mkdtemp(prefix="cloudblog-boot-", dir="/var/tmp"))
    try:
        base = work / "base"
        _log("debootstrap: the base image both approaches start from")
        debootstrap(base)

        moto = MotoServer()
        moto.start()
        aws_env = moto.environment()
        os.environ.update(aws_env)
        ssm = boto3.client("ssm")
        for name, value in {
            "DJANGO_ALLOWED_HOSTS": "blog.example.com",
            "GUNICORN_BIND": f"127.0.0.1:{PORT}",
            "GUNICORN_WORKERS": "2",
            "REDIS_URL": redis_url,
        }.items():
            ssm.put_parameter(Name=f"/cloudblog/bench/{name}", Value=value, Type="String")
        database_url = _database(server, f"{server['NAME']}_bootbench")
        boto3.client("secretsmanager").create_secret(
            Name="cloudblog/bench",
            SecretString=json.dumps(
                {"DATABASE_URL": database_url, "DJANGO_SECRET_KEY": secrets.token_urlsafe(50)}
            ),
        )
        results: dict[str, float] = {}
        with FakeImds(
            {"placement/region": "us-east-1", "instance-id": "i-0bench", "local-ipv4": "127.0.0.1"}
        ) as imds:
            golden = work / "golden"
            subprocess.run(["cp", "-a", str(base), str(golden)], check=True)
            with Chroot(golden) as chroot:
                _log("baking the golden image (not part of any boot)")
                chroot.stage_build()
                started = time.monotonic()
                chroot.provision(PROVISION, build_env())
                results["bake_seconds"] = time.monotonic() - started
                _prepare_instance(chroot)
                _log("boot 1: golden image, first instance of the release (migrates)")
                results["golden_first_boot_seconds"] = _boot(chroot, aws_env, imds.url)
                _stop_web(chroot)
                _log("boot 2: golden image, release already migrated (scale-out)")
                results["golden_scaleout_boot_seconds"] = _boot(chroot, aws_env, imds.url)
                _stop_web(chroot)

            plain = work / "user-data-only"
            subprocess.run(["cp", "-a", str(base), str(plain)], check=True)
            with Chroot(plain) as chroot:
                chroot.stage_build()  # what user-data would download: the same wheel and files
                _log("boot 3: user-data only, installing everything at boot, then the bootstrap")
                started = time.monotonic()
                timings = chroot.provision(
                    [s for s in PROVISION if s.name != "99-cleanup.sh"], build_env()
                )
                install = time.monotonic() - started
                _prepare_instance(chroot)
                bootstrap = _boot(chroot, aws_env, imds.url)
                results["install_at_boot_install_seconds"] = install
                results["install_at_boot_seconds"] = install + bootstrap
                results["install_steps"] = {name: round(t, 1) for name, t in timings}
                _stop_web(chroot)
        moto.stop()

        results["speedup_scaleout"] = (
            results["install_at_boot_seconds"] / results["golden_scaleout_boot_seconds"]
        )
        report = {
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
            "machine": f"{platform.node()} {platform.machine()} {os.cpu_count()} CPUs",
            "commit": subprocess.run(
                ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
            ).stdout.strip(),
            **{k: round(v, 2) if isinstance(v, float) else v for k, v in results.items()},
        }
        out = REPO / "bench" / "results" / f"{report['date'][:10]}-boot-time.json"
        out.write_text(json.dumps(report, indent=2) + "\n")
        print(json.dumps(report, indent=2))
    finally:
        subprocess.run(["rm", "-rf", "--one-file-system", str(work)], check=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
