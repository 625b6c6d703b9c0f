"""cloudblog-bootstrap: turn an instance booted from the golden AMI into a configured one.

    python -m userdata.bootstrap configure   # cloudblog-bootstrap.service, at every boot
    python -m userdata.bootstrap ready       # cloudblog-ready.service, once services started
    python -m userdata.bootstrap run         # both, for a machine without systemd ordering
    python -m userdata.bootstrap manage ARGS # manage.py with the instance's configuration

`configure` reads the user-data settings (/etc/cloudblog/instance.env, written by
cloud-init), asks IMDSv2 for region and instance id, fetches settings from SSM and
secrets from Secrets Manager into a root-only env file, mounts EFS and checks the mount,
runs migrations once per release (`manage.py migrate_once`), then starts the role's
services. A failed step stops the boot: nothing is started, and the console says which
step failed and why. Secret values never reach a log line.

Every path and endpoint has a production default and a CLOUDBLOG_* override (see
`Paths.from_environ`), so the whole thing runs offline against a fake IMDS and moto.
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from userdata import envfile, sources

logger = logging.getLogger("cloudblog-bootstrap")

ROLES = ("web", "worker")
ROLE_UNITS = {
    "web": ["cloudblog-web.service", "nginx.service", "cloudblog-ready.service"],
    "worker": ["cloudblog-worker.service", "cloudblog-ready.service"],
}
NFS_OPTIONS = "nfsvers=4.1,rsize=1048576,wsize=1048576,hard,timeo=600,retrans=2,noresvport,_netdev"
MOUNTED_TYPES = {"nfs4", "nfs", "efs"}


class BootstrapError(Exception):
    """A step cannot complete: the boot stops here."""


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


def _env_number(name: str, default: float) -> float:
    raw = _env(name, str(default))
    try:
        return float(raw)
    except ValueError:
        raise BootstrapError(f"{name} must be a number, got {raw!r}") from None


@dataclass
class Paths:
    imds_url: str
    etc: Path
    home: Path
    run_dir: Path
    log_file: str
    media_mount: Path
    mountinfo: Path
    mount_command: list[str]
    systemctl: list[str]
    run_as: str
    ready_url: str
    ready_timeout: float
    mount_attempts: int
    retry_seconds: float
    db_wait: float
    lock_timeout: float

    @classmethod
    def from_environ(cls) -> Paths:
        return cls(
            imds_url=_env("CLOUDBLOG_IMDS_URL", "http://169.254.169.254"),
            etc=Path(_env("CLOUDBLOG_ETC", "/etc/cloudblog")),
            home=Path(_env("CLOUDBLOG_HOME", "/opt/cloudblog")),
            run_dir=Path(_env("CLOUDBLOG_RUN_DIR", "/run/cloudblog")),
            log_file=os.environ.get("CLOUDBLOG_LOG_FILE", "/var/log/cloudblog/bootstrap.log"),
            media_mount=Path(_env("CLOUDBLOG_MEDIA_MOUNT", "/mnt/cloudblog-media")),
            mountinfo=Path(_env("CLOUDBLOG_MOUNTINFO", "/proc/self/mountinfo")),
            mount_command=shlex.split(_env("CLOUDBLOG_MOUNT_COMMAND", "mount")),
            systemctl=shlex.split(_env("CLOUDBLOG_SYSTEMCTL", "systemctl")),
            run_as=os.environ.get("CLOUDBLOG_RUN_AS", "cloudblog").strip(),
            ready_url=_env("CLOUDBLOG_READY_URL", "http://127.0.0.1/readyz"),
            ready_timeout=_env_number("CLOUDBLOG_READY_TIMEOUT", 180),
            mount_attempts=int(_env_number("CLOUDBLOG_MOUNT_ATTEMPTS", 5)),
            retry_seconds=_env_number("CLOUDBLOG_RETRY_SECONDS", 5),
            db_wait=_env_number("CLOUDBLOG_DB_WAIT", 60),
            lock_timeout=_env_number("CLOUDBLOG_MIGRATE_LOCK_TIMEOUT", 900),
        )

    @property
    def env_file(self) -> Path:
        return self.etc / "cloudblog.env"


@dataclass
class Boot:
    paths: Paths
    settings: dict[str, str] = field(default_factory=dict)  # from user-data
    values: dict[str, str] = field(default_factory=dict)  # what the env file gets
    secrets: set[str] = field(default_factory=set)  # values never to be logged

    def redact(self, text: str) -> str:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return text

    def remember_secret(self, value: str) -> None:
        # Short values would redact half the log and are not secrets worth the name.
        if len(value) >= 4:
            self.secrets.add(value)


# --- Steps -----------------------------------------------------------------------------


def read_user_data(boot: Boot) -> None:
    path = boot.paths.etc / "instance.env"
    if not path.exists():
        raise BootstrapError(
            f"{path} is missing: launch the instance with the user-data rendered by "
            "`python -m ops userdata render`"
        )
    settings = envfile.read(path)
    for name in ("CLOUDBLOG_ENV", "CLOUDBLOG_ROLE", "CLOUDBLOG_SSM_PATH"):
        if not settings.get(name):
            raise BootstrapError(f"{path} does not set {name}")
    if settings["CLOUDBLOG_ROLE"] not in ROLES:
        raise BootstrapError(
            f"CLOUDBLOG_ROLE must be web or worker, got {settings['CLOUDBLOG_ROLE']!r}"
        )
    boot.settings = settings
    logger.info(
        "environment %s, role %s, SSM path %s, secret %s, EFS %s",
        settings["CLOUDBLOG_ENV"],
        settings["CLOUDBLOG_ROLE"],
        settings["CLOUDBLOG_SSM_PATH"],
        settings.get("CLOUDBLOG_SECRET_ID") or "(none)",
        settings.get("CLOUDBLOG_EFS_ID") or "(none)",
    )


def read_instance(boot: Boot) -> None:
    try:
        instance = sources.instance_identity(boot.paths.imds_url, delay=boot.paths.retry_seconds)
    except sources.SourceError as exc:
        raise BootstrapError(str(exc)) from None
    boot.values.update(
        AWS_REGION=instance.region,
        AWS_DEFAULT_REGION=instance.region,
        CLOUDBLOG_INSTANCE_ID=instance.instance_id,
        CLOUDBLOG_PRIVATE_IP=instance.private_ip,
    )
    logger.info(
        "instance %s in %s (%s)", instance.instance_id, instance.region, instance.private_ip
    )


def fetch_parameters(boot: Boot) -> None:
    path = boot.settings["CLOUDBLOG_SSM_PATH"]
    try:
        values, secure = sources.ssm_parameters(boot.values["AWS_REGION"], path)
    except sources.SourceError as exc:
        raise BootstrapError(str(exc)) from None
    for name in secure:
        boot.remember_secret(values[name])
    boot.values.update(values)
    logger.info("%d parameters from %s: %s", len(values), path, ", ".join(sorted(values)))


def fetch_secrets(boot: Boot) -> None:
    secret_id = boot.settings.get("CLOUDBLOG_SECRET_ID")
    if not secret_id:
        logger.info("no CLOUDBLOG_SECRET_ID: skipping Secrets Manager")
        return
    try:
        values = sources.secret_values(boot.values["AWS_REGION"], secret_id)
    except sources.SourceError as exc:
        raise BootstrapError(str(exc)) from None
    clash = sorted(set(values) & set(boot.values))
    if clash:
        raise BootstrapError(
            f"{', '.join(clash)} set both in SSM and in secret {secret_id}: keep each in one place"
        )
    for value in values.values():
        boot.remember_secret(value)
    boot.values.update(values)
    logger.info(
        "%d secrets from %s: %s (values not shown)",
        len(values),
        secret_id,
        ", ".join(sorted(values)),
    )


def write_env_file(boot: Boot) -> None:
    values = boot.values
    release_file = boot.paths.home / "RELEASE"
    if not release_file.exists():
        raise BootstrapError(
            f"{release_file} is missing: was this instance booted from the golden AMI?"
        )
    values["CLOUDBLOG_RELEASE"] = release_file.read_text().strip()
    values["CLOUDBLOG_ENV"] = boot.settings["CLOUDBLOG_ENV"]
    values["CLOUDBLOG_ROLE"] = boot.settings["CLOUDBLOG_ROLE"]
    values.setdefault("DJANGO_DEBUG", "false")
    if boot.settings.get("CLOUDBLOG_EFS_ID"):
        values.setdefault("MEDIA_ROOT", str(boot.paths.media_mount))
    # The ALB's health checks send the instance's private IP as Host.
    hosts = [h for h in values.get("DJANGO_ALLOWED_HOSTS", "").split(",") if h.strip()]
    if values["CLOUDBLOG_PRIVATE_IP"] not in hosts:
        hosts.append(values["CLOUDBLOG_PRIVATE_IP"])
    values["DJANGO_ALLOWED_HOSTS"] = ",".join(hosts)
    boot.paths.etc.mkdir(parents=True, exist_ok=True)
    try:
        envfile.write_private(boot.paths.env_file, values)
    except envfile.EnvFileError as exc:
        raise BootstrapError(str(exc)) from None
    logger.info("wrote %s (mode 0600, %d variables)", boot.paths.env_file, len(values))


def _mounted(paths: Paths) -> str | None:
    """The file system type mounted at the media mount point, from mountinfo."""
    target = str(paths.media_mount.resolve())
    try:
        lines = paths.mountinfo.read_text().splitlines()
    except OSError as exc:
        raise BootstrapError(f"cannot read {paths.mountinfo}: {exc}") from None
    found = None
    for line in lines:
        before, sep, after = line.partition(" - ")
        fields = before.split()
        if not sep or len(fields) < 5:
            continue
        mount_point = fields[4].replace("\\040", " ")
        if mount_point == target:
            found = after.split()[0]  # the last mount on a point is the visible one
    return found


def mount_efs(boot: Boot) -> None:
    paths, fs_id = boot.paths, boot.settings.get("CLOUDBLOG_EFS_ID")
    if not fs_id:
        logger.info("no CLOUDBLOG_EFS_ID: media is not on EFS, nothing to mount")
        return
    kind = _mounted(paths)
    if kind in MOUNTED_TYPES:
        logger.info("%s already mounted at %s (%s)", fs_id, paths.media_mount, kind)
    else:
        paths.media_mount.mkdir(parents=True, exist_ok=True)
        if boot.settings.get("CLOUDBLOG_EFS_TLS", "true") == "true":
            # amazon-efs-utils: TLS in transit through its stunnel, IAM authorization.
            command = ["-t", "efs", "-o", "tls,iam,_netdev", f"{fs_id}:/", str(paths.media_mount)]
        else:
            host = f"{fs_id}.efs.{boot.values['AWS_REGION']}.amazonaws.com"
            command = ["-t", "nfs4", "-o", NFS_OPTIONS, f"{host}:/", str(paths.media_mount)]
        for attempt in range(1, paths.mount_attempts + 1):
            logger.info(
                "mount attempt %d/%d: %s", attempt, paths.mount_attempts, shlex.join(command)
            )
            result = subprocess.run(
                [*paths.mount_command, *command], capture_output=True, text=True, timeout=120
            )
            kind = _mounted(paths)
            if result.returncode == 0 and kind in MOUNTED_TYPES:
                break
            logger.info(
                "not mounted yet (exit %d%s)",
                result.returncode,
                f": {result.stderr.strip()}" if result.stderr.strip() else "",
            )
            if attempt < paths.mount_attempts:
                time.sleep(paths.retry_seconds * attempt)
        else:
            raise BootstrapError(
                f"EFS {fs_id} is not mounted at {paths.media_mount} after "
                f"{paths.mount_attempts} attempts (mount targets, security group port 2049?)"
            )
    probe = paths.media_mount / f".cloudblog-probe-{socket.gethostname()}-{os.getpid()}"
    try:
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise BootstrapError(f"{paths.media_mount} is mounted but not writable: {exc}") from None
    logger.info("%s mounted at %s (%s) and writable", fs_id, paths.media_mount, kind)


def manage_command(paths: Paths, args: list[str]) -> list[str]:
    command = [sys.executable, "-m", "django", *args]
    if paths.run_as and os.geteuid() == 0:
        # Django never runs as root; the env file stays root-only, passed in memory.
        command = ["runuser", "-u", paths.run_as, "--", *command]
    return command


def service_environment(values: dict[str, str]) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if k in ("PATH", "LANG", "LC_ALL", "TZ")}
    return {**base, **values, "DJANGO_SETTINGS_MODULE": "config.settings"}


def migrate(boot: Boot) -> None:
    release = boot.values["CLOUDBLOG_RELEASE"]
    args = [
        "migrate_once",
        f"--release={release}",
        f"--wait-db={boot.paths.db_wait:g}",
        f"--lock-timeout={boot.paths.lock_timeout:.0f}",
    ]
    logger.info("migrations for release %s (once across all instances)", release)
    result = subprocess.run(
        manage_command(boot.paths, args),
        env=service_environment(boot.values),
        capture_output=True,
        text=True,
        timeout=boot.paths.db_wait + boot.paths.lock_timeout + 600,
    )
    output = boot.redact((result.stdout + result.stderr).strip())
    if result.returncode != 0:
        last = output.splitlines()[-1] if output else f"exit {result.returncode}"
        last = last.removeprefix("CommandError: ")
        raise BootstrapError(f"migrations failed: {last}")
    for line in output.splitlines():
        logger.info("migrate_once: %s", line)


def start_services(boot: Boot) -> None:
    units = ROLE_UNITS[boot.values["CLOUDBLOG_ROLE"]]
    # --no-block: these units are ordered after this one, which must finish first.
    command = [*boot.paths.systemctl, "start", "--no-block", *units]
    logger.info("starting %s", " ".join(units))
    result = subprocess.run(command, capture_output=True, text=True, timeout=60)
    if result.returncode != 0:
        raise BootstrapError(f"systemctl start failed: {boot.redact(result.stderr.strip())}")


STEPS: list[tuple[str, Callable[[Boot], None]]] = [
    ("read user-data configuration", read_user_data),
    ("IMDSv2: region and instance id", read_instance),
    ("SSM parameters", fetch_parameters),
    ("Secrets Manager", fetch_secrets),
    ("write the env file", write_env_file),
    ("mount EFS", mount_efs),
    ("migrations", migrate),
    ("start services", start_services),
]


def configure(paths: Paths) -> int:
    boot = Boot(paths=paths)
    started = time.monotonic()
    for number, (name, step) in enumerate(STEPS, 1):
        logger.info("step %d/%d: %s", number, len(STEPS), name)
        step_started = time.monotonic()
        try:
            step(boot)
        except BootstrapError as exc:
            return _stopped(boot, number, name, str(exc))
        except Exception as exc:
            return _stopped(boot, number, name, f"{type(exc).__name__}: {exc}")
        logger.info(
            "step %d/%d: %s: ok (%.2f s)", number, len(STEPS), name, time.monotonic() - step_started
        )
    logger.info("configured in %.2f s", time.monotonic() - started)
    return 0


def _stopped(boot: Boot, number: int, name: str, message: str) -> int:
    logger.error(
        "BOOT STOPPED at step %d/%d (%s): %s. No cloudblog service was started; fix the "
        "cause, then `systemctl restart cloudblog-bootstrap`.",
        number,
        len(STEPS),
        name,
        boot.redact(message),
    )
    return 1


def _web_ready(paths: Paths) -> str | None:
    try:
        # The URL is the configured local readiness endpoint.
        with urllib.request.urlopen(paths.ready_url, timeout=5) as response:  # noqa: S310
            body = response.read(2000).decode(errors="replace")
            return body if response.status == 200 else None
    except (urllib.error.URLError, OSError):
        return None


def _worker_ready(paths: Paths) -> str | None:
    command = [*paths.systemctl, "is-active", "--quiet", "cloudblog-worker.service"]
    result = subprocess.run(command, capture_output=True, timeout=30)
    return "cloudblog-worker.service active" if result.returncode == 0 else None


def ready(paths: Paths) -> int:
    """Poll until the role's services answer, then report READY (or why not)."""
    env = envfile.read(paths.env_file) if paths.env_file.exists() else {}
    role = env.get("CLOUDBLOG_ROLE", "web")
    check = _web_ready if role == "web" else _worker_ready
    started = time.monotonic()
    logger.info(
        "waiting for %s to be ready (%s)", role, paths.ready_url if role == "web" else "unit"
    )
    while time.monotonic() - started < paths.ready_timeout:
        detail = check(paths)
        if detail is not None:
            elapsed = time.monotonic() - started
            logger.info(
                "READY: %s %s in %.2f s: %s",
                role,
                env.get("CLOUDBLOG_RELEASE", "?"),
                elapsed,
                detail[:200],
            )
            paths.run_dir.mkdir(parents=True, exist_ok=True)
            (paths.run_dir / "ready").write_text(f"{time.time():.3f}\n")
            return 0
        time.sleep(0.1)
    logger.error("NOT READY: %s did not become ready within %.0f s", role, paths.ready_timeout)
    return 1


def manage(paths: Paths, args: list[str]) -> int:
    try:
        values = envfile.read(paths.env_file)
    except OSError as exc:
        print(f"cannot read {paths.env_file}: {exc} (run as root)", file=sys.stderr)
        return 1
    os.environ.clear()
    os.environ.update(service_environment(values))
    command = manage_command(paths, args)
    os.execvp(command[0], command)  # noqa: S606
    return 1  # not reached


def _logging(paths: Paths) -> None:
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if paths.log_file:
        try:
            Path(paths.log_file).parent.mkdir(parents=True, exist_ok=True)
            handlers.append(logging.FileHandler(paths.log_file))
        except OSError as exc:
            print(f"cloudblog-bootstrap: not logging to {paths.log_file}: {exc}", file=sys.stderr)
    for handler in handlers:
        handler.setFormatter(logging.Formatter("cloudblog-bootstrap: %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m userdata.bootstrap", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("configure", help="configuration, EFS, migrations, start services")
    commands.add_parser("ready", help="wait for the role's services and report readiness")
    commands.add_parser("run", help="configure, then ready")
    manage_parser = commands.add_parser("manage", help="manage.py with the instance's env file")
    manage_parser.add_argument("args", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    try:
        paths = Paths.from_environ()
    except BootstrapError as exc:
        print(f"cloudblog-bootstrap: {exc}", file=sys.stderr)
        return 2
    if args.command == "manage":
        return manage(paths, args.args)
    _logging(paths)
    if args.command == "ready":
        return ready(paths)
    status = configure(paths)
    if status == 0 and args.command == "run":
        status = ready(paths)
    return status


if __name__ == "__main__":
    sys.exit(main())
