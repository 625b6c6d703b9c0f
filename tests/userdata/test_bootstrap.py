"""The boot script end to end, offline: a fake IMDSv2 on 127.0.0.1, moto for SSM and
Secrets Manager, real MariaDB for the migrations. Only systemd (a recording systemctl)
and the kernel's mount (a script that records the mount in a fake mountinfo) stand in.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import uuid
from pathlib import Path

import boto3
import MySQLdb
import pytest

from config.env import parse_database_url
from tests.fake_imds import FakeImds
from userdata import envfile

REPO = Path(__file__).resolve().parents[2]
RELEASE = "0.1.0+abc123def456"
EFS_ID = "fs-0123456789abcdef0"
SECRET_KEY = "k3y-" + uuid.uuid4().hex + '-$HOME-`x`-\\-"q"'
DB_PASSWORD = "pw-" + uuid.uuid4().hex
METADATA = {
    "placement/region": "us-east-1",
    "instance-id": "i-0abc1234def567890",
    "local-ipv4": "10.1.2.3",
}


@pytest.fixture(scope="module")
def server() -> dict:
    url = os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306/cloudblog")
    db = parse_database_url("DATABASE_URL", url, REPO)
    if db["ENGINE"] != "django.db.backends.mysql":
        pytest.fail("test_bootstrap.py needs DATABASE_URL on MariaDB (make test sets it)")
    return db


def _admin(server: dict):
    return MySQLdb.connect(
        host=server["HOST"],
        port=int(server["PORT"]),
        user=server["USER"],
        passwd=server["PASSWORD"],
    )


@pytest.fixture
def database(server):
    """A fresh, empty database and a user with a password (the app's own account)."""
    name = f"{server['NAME']}_boot_{uuid.uuid4().hex[:8]}"
    user = f"cb_{uuid.uuid4().hex[:8]}"
    conn = _admin(server)
    cursor = conn.cursor()
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    cursor.execute(f"CREATE USER '{user}'@'%' IDENTIFIED BY '{DB_PASSWORD}'")
    cursor.execute(f"GRANT ALL ON `{name}`.* TO '{user}'@'%'")
    url = f"mysql://{user}:{DB_PASSWORD}@{server['HOST']}:{server['PORT']}/{name}"
    yield {"url": url, "name": name}
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"DROP USER IF EXISTS '{user}'@'%'")
    conn.close()


def _tables(server: dict, name: str) -> set[str]:
    conn = _admin(server)
    cursor = conn.cursor()
    cursor.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [name]
    )
    tables = {row[0] for row in cursor.fetchall()}
    conn.close()
    return tables


@pytest.fixture
def imds():
    with FakeImds(METADATA) as fake:
        yield fake


def _seed_aws(database_url: str) -> None:
    ssm = boto3.client("ssm")
    for name, value in {
        "DJANGO_ALLOWED_HOSTS": "blog.example.com",
        "SITE_NAME": "cloudblog prod",
        "PAGE_CACHE_SECONDS": "120",
    }.items():
        ssm.put_parameter(Name=f"/cloudblog/prod/{name}", Value=value, Type="String")
    # Another environment's parameters must not leak in.
    ssm.put_parameter(Name="/cloudblog/staging/SITE_NAME", Value="staging", Type="String")
    boto3.client("secretsmanager").create_secret(
        Name="cloudblog/prod",
        SecretString=json.dumps({"DATABASE_URL": database_url, "DJANGO_SECRET_KEY": SECRET_KEY}),
    )


class Instance:
    """One instance's directories and the bootstrap's environment, offline."""

    def __init__(self, root: Path, imds_url: str, *, efs: bool = True) -> None:
        self.root = root
        self.etc = root / "etc"
        self.home = root / "opt"
        self.mount = root / "media"
        self.mountinfo = root / "mountinfo"
        self.calls = root / "systemctl-calls"
        self.log = root / "bootstrap.log"
        for path in (self.etc, self.home, self.mount):
            path.mkdir(parents=True)
        (self.home / "RELEASE").write_text(RELEASE + "\n")
        self.mountinfo.write_text("22 1 8:1 / / rw,relatime - ext4 /dev/vda rw\n")
        lines = [
            "CLOUDBLOG_ENV=prod",
            "CLOUDBLOG_ROLE=web",
            "CLOUDBLOG_SSM_PATH=/cloudblog/prod/",
            "CLOUDBLOG_SECRET_ID=cloudblog/prod",
            f"CLOUDBLOG_EFS_ID={EFS_ID if efs else ''}",
        ]
        (self.etc / "instance.env").write_text("\n".join(lines) + "\n")
        self.systemctl = self._script("systemctl", f'#!/bin/sh\necho "$*" >> "{self.calls}"\n')
        # What a successful mount does: one more line in mountinfo for the mount point.
        self.mount_ok = self._script(
            "mount",
            "#!/bin/sh\n"
            f'for last; do :; done\necho "99 22 0:50 / $last rw - nfs4 {EFS_ID}:/ rw" '
            f'>> "{self.mountinfo}"\n',
        )
        self.env = {
            **os.environ,
            "PYTHONPATH": str(REPO),
            "CLOUDBLOG_IMDS_URL": imds_url,
            "CLOUDBLOG_ETC": str(self.etc),
            "CLOUDBLOG_HOME": str(self.home),
            "CLOUDBLOG_RUN_DIR": str(root / "run"),
            "CLOUDBLOG_LOG_FILE": str(self.log),
            "CLOUDBLOG_MEDIA_MOUNT": str(self.mount),
            "CLOUDBLOG_MOUNTINFO": str(self.mountinfo),
            "CLOUDBLOG_MOUNT_COMMAND": str(self.mount_ok),
            "CLOUDBLOG_SYSTEMCTL": str(self.systemctl),
            "CLOUDBLOG_RUN_AS": "",
            "CLOUDBLOG_RETRY_SECONDS": "0.1",
            "CLOUDBLOG_MOUNT_ATTEMPTS": "3",
            "CLOUDBLOG_DB_WAIT": "2",
        }
        for name in ("DATABASE_URL", "REDIS_URL", "DJANGO_SECRET_KEY"):
            self.env.pop(name, None)

    def _script(self, name: str, text: str) -> Path:
        path = self.root / f"fake-{name}"
        path.write_text(text)
        path.chmod(0o755)
        return path

    def start(self, command: str = "configure") -> subprocess.Popen:
        return subprocess.Popen(
            [sys.executable, "-m", "userdata.bootstrap", command],
            cwd=self.root,
            env=self.env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )

    def run(self, command: str = "configure") -> tuple[int, str]:
        process = self.start(command)
        output, _ = process.communicate(timeout=300)
        return process.returncode, output

    @property
    def systemctl_calls(self) -> list[str]:
        return self.calls.read_text().splitlines() if self.calls.exists() else []


def test_bootstrap_configures_the_instance_end_to_end(aws, imds, database, server, tmp_path):
    _seed_aws(database["url"])
    instance = Instance(tmp_path, imds.url)

    status, output = instance.run()

    assert status == 0, output
    env_file = instance.etc / "cloudblog.env"
    assert stat.S_IMODE(env_file.stat().st_mode) == 0o600
    values = envfile.read(env_file)
    assert values["DATABASE_URL"] == database["url"]
    assert values["DJANGO_SECRET_KEY"] == SECRET_KEY
    assert values["SITE_NAME"] == "cloudblog prod"
    assert values["PAGE_CACHE_SECONDS"] == "120"
    assert values["AWS_REGION"] == "us-east-1"
    assert values["CLOUDBLOG_INSTANCE_ID"] == "i-0abc1234def567890"
    assert values["DJANGO_ALLOWED_HOSTS"] == "blog.example.com,10.1.2.3"
    assert values["MEDIA_ROOT"] == str(instance.mount)
    assert values["CLOUDBLOG_RELEASE"] == RELEASE
    assert values["DJANGO_DEBUG"] == "false"
    # IMDSv2: a token first, and every read carried it.
    assert imds.requests[0][:2] == ("PUT", "/latest/api/token")
    assert all(valid for method, _, valid in imds.requests if method == "GET")
    # Mounted, migrated, then the web role's services started without blocking.
    assert "blog_post" in _tables(server, database["name"])
    assert instance.systemctl_calls == [
        "start --no-block cloudblog-web.service nginx.service cloudblog-ready.service"
    ]
    assert f"migrated release {RELEASE}" in output
    assert "step 8/8: start services: ok" in output


def test_secrets_appear_in_no_log_line(aws, imds, database, tmp_path):
    _seed_aws(database["url"])
    instance = Instance(tmp_path, imds.url)

    status, output = instance.run()

    assert status == 0, output
    logged = output + instance.log.read_text()
    assert "DJANGO_SECRET_KEY" in logged  # names are logged ...
    for secret in (SECRET_KEY, DB_PASSWORD, database["url"]):
        assert secret not in logged  # ... values never


def test_env_file_reads_the_same_in_a_shell_as_in_systemd(aws, imds, database, tmp_path):
    _seed_aws(database["url"])
    instance = Instance(tmp_path, imds.url)
    assert instance.run()[0] == 0

    env_file = instance.etc / "cloudblog.env"
    shell = subprocess.run(
        ["bash", "-c", f'set -a; . "{env_file}"; printf %s "$DJANGO_SECRET_KEY"'],
        capture_output=True,
        text=True,
        env={"PATH": os.environ["PATH"]},
    )
    assert shell.stdout == SECRET_KEY


def test_migrations_run_once_when_three_instances_boot_at_once(
    aws, imds, database, server, tmp_path
):
    _seed_aws(database["url"])
    instances = [Instance(tmp_path / f"i{n}", imds.url) for n in range(3)]

    processes = [instance.start() for instance in instances]
    outputs = [process.communicate(timeout=300)[0] for process in processes]

    assert [p.returncode for p in processes] == [0, 0, 0], outputs
    migrated = [out for out in outputs if f"migrated release {RELEASE} (" in out]
    skipped = [out for out in outputs if "already migrated" in out]
    assert len(migrated) == 1, outputs
    assert len(skipped) == 2, outputs
    # The two others really waited on the lock while the first migrated.
    assert sum("waited" in out and "for the migration lock" in out for out in skipped) >= 1
    assert "blog_post" in _tables(server, database["name"])
    for instance in instances:
        assert instance.systemctl_calls, "every instance starts its services"


def test_a_missing_efs_mount_stops_the_boot(aws, imds, database, server, tmp_path):
    _seed_aws(database["url"])
    instance = Instance(tmp_path, imds.url)
    # mount "succeeds" but nothing appears in mountinfo: a silent failure.
    instance.env["CLOUDBLOG_MOUNT_COMMAND"] = "true"

    status, output = instance.run()

    assert status == 1
    assert (
        f"BOOT STOPPED at step 6/8 (mount EFS): EFS {EFS_ID} is not mounted at {instance.mount} "
        "after 3 attempts"
    ) in output
    assert "No cloudblog service was started" in output
    assert instance.systemctl_calls == []
    assert _tables(server, database["name"]) == set()


def test_a_failing_mount_command_is_retried_then_stops_the_boot(aws, imds, database, tmp_path):
    _seed_aws(database["url"])
    instance = Instance(tmp_path, imds.url)
    instance.env["CLOUDBLOG_MOUNT_COMMAND"] = str(
        instance._script(
            "mount-fail", "#!/bin/sh\necho 'mount.nfs4: Connection timed out' >&2\nexit 32\n"
        )
    )

    status, output = instance.run()

    assert status == 1
    assert output.count("mount attempt") == 3
    assert "Connection timed out" in output
    assert instance.systemctl_calls == []


def test_an_unreachable_database_stops_the_boot(aws, imds, tmp_path):
    _seed_aws(f"mysql://app:{DB_PASSWORD}@127.0.0.1:1/cloudblog")
    instance = Instance(tmp_path, imds.url)

    status, output = instance.run()

    assert status == 1
    assert (
        "BOOT STOPPED at step 7/8 (migrations): migrations failed: "
        "database 127.0.0.1:1 unreachable after 2 s"
    ) in output
    assert DB_PASSWORD not in output + instance.log.read_text()
    assert instance.systemctl_calls == []


def test_an_instance_without_user_data_stops_with_a_clear_message(imds, tmp_path):
    instance = Instance(tmp_path, imds.url)
    (instance.etc / "instance.env").unlink()

    status, output = instance.run()

    assert status == 1
    assert "BOOT STOPPED at step 1/8 (read user-data configuration)" in output
    assert "launch the instance with the user-data rendered by" in output


def test_imds_without_a_token_is_refused_by_the_fake(imds):
    # The fake must behave like IMDSv2-required, or the test above proves nothing.
    import urllib.error
    import urllib.request

    with pytest.raises(urllib.error.HTTPError, match="401"):
        urllib.request.urlopen(f"{imds.url}/latest/meta-data/instance-id", timeout=5)


def test_missing_ssm_parameters_stop_the_boot(aws, imds, tmp_path):
    instance = Instance(tmp_path, imds.url)

    status, output = instance.run()

    assert status == 1
    assert (
        "BOOT STOPPED at step 3/8 (SSM parameters): no SSM parameters under /cloudblog/prod/"
        in output
    )


def test_worker_role_starts_the_worker_and_no_nginx(aws, imds, database, tmp_path):
    _seed_aws(database["url"])
    instance = Instance(tmp_path, imds.url, efs=False)
    text = (instance.etc / "instance.env").read_text().replace("ROLE=web", "ROLE=worker")
    (instance.etc / "instance.env").write_text(text)

    status, output = instance.run()

    assert status == 0, output
    assert "no CLOUDBLOG_EFS_ID" in output
    assert instance.systemctl_calls == [
        "start --no-block cloudblog-worker.service cloudblog-ready.service"
    ]
