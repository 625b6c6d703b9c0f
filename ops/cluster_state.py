"""Where the local cluster keeps its state: settings, secrets, pids, paths.

Everything lives under one directory (default `var/cluster/`): `state.json` (settings,
which server is the writer, each component's pid, process group and start time),
`secrets.json` and `secret-key` (mode 0600), the servers' data, sockets and logs.
"""

from __future__ import annotations

import json
import os
import secrets
from dataclasses import asdict, dataclass, field
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
STATE_FILE = "state.json"
SECRETS_FILE = "secrets.json"
HOST = "127.0.0.1"
DATABASE = "cloudblog"
APP_USER = "cloudblog"
REPL_USER = "repl"
# sockaddr_un holds 108 bytes: a deep --dir would make the sockets unusable.
MAX_SOCKET_PATH = 100


def default_dir() -> Path:
    var = os.environ.get("CLOUDBLOG_VAR_DIR", "").strip()
    return (Path(var) if var else PROJECT_ROOT / "var") / "cluster"


@dataclass
class Settings:
    lb_port: int = 8080
    web_port: int = 8101
    instances: int = 3
    workers: int = 2
    primary_port: int = 3307
    replica_port: int = 3308
    redis_port: int = 6380
    # moto standing in for SQS, and the run_worker processes that consume its queue.
    sqs_port: int = 9324
    worker_instances: int = 1
    # The work queue's visibility timeout: how long a killed worker's job stays hidden.
    queue_visibility: int = 30
    seed_posts: int = 100
    redis_persist: bool = False
    # Where sessions live (SESSION_STORE): "" is the app's default with Redis (cached_db);
    # "dynamodb" keeps them in a table on the moto server, as an AWS stack without
    # ElastiCache sessions would.
    session_store: str = ""
    # haproxy's cache of anonymous pages (EDGE_CACHE_SECONDS): off, so that the failure
    # tests see every instance answer; the bench turns it on.
    edge_cache: int = 0
    # Extra environment for every web instance and manage.py run (--env KEY=VALUE).
    extra_env: dict[str, str] = field(default_factory=dict)


@dataclass
class Cluster:
    dir: Path
    settings: Settings
    # "primary" until `promote` makes the replica the writer.
    writer: str = "primary"
    processes: dict[str, dict] = field(default_factory=dict)

    # --- names -----------------------------------------------------------------
    @property
    def webs(self) -> list[str]:
        return [f"web{k}" for k in range(1, self.settings.instances + 1)]

    @property
    def workers(self) -> list[str]:
        return [f"worker{k}" for k in range(1, self.settings.worker_instances + 1)]

    @property
    def components(self) -> list[str]:
        """In start order; `down` goes the other way."""
        return ["primary", "replica", "redis", "sqs", *self.webs, *self.workers, "haproxy"]

    def port(self, name: str) -> int:
        """The port a component listens on; 0 for a worker, which listens on none."""
        s = self.settings
        if name.startswith("worker"):
            return 0
        if name.startswith("web"):
            return s.web_port + int(name[3:]) - 1
        ports = {
            "haproxy": s.lb_port,
            "primary": s.primary_port,
            "replica": s.replica_port,
            "redis": s.redis_port,
            "sqs": s.sqs_port,
        }
        return ports[name]

    def listening(self, names: list[str]) -> list[str]:
        return [name for name in names if self.port(name)]

    # --- paths -------------------------------------------------------------------
    @property
    def logs(self) -> Path:
        return self.dir / "logs"

    def log(self, name: str) -> Path:
        return self.logs / f"{name}.log"

    @property
    def media(self) -> Path:
        return self.dir / "media"

    @property
    def mail(self) -> Path:
        """Where the app's mail lands, one file per message (the file mail backend)."""
        return self.dir / "mail"

    @property
    def static(self) -> Path:
        return self.dir / "static"

    @property
    def admin_password_file(self) -> Path:
        return self.dir / "admin-password"

    @property
    def secret_key_file(self) -> Path:
        return self.dir / "secret-key"

    @property
    def haproxy_cfg(self) -> Path:
        return self.dir / "haproxy.cfg"

    @property
    def haproxy_socket(self) -> Path:
        return self.dir / "haproxy.sock"

    def db_dir(self, name: str) -> Path:
        return self.dir / name

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.settings.lb_port}/"

    # --- persistence -----------------------------------------------------------------
    def save(self) -> None:
        data = {
            "settings": asdict(self.settings),
            "writer": self.writer,
            "processes": self.processes,
        }
        tmp = self.dir / f".{STATE_FILE}.tmp"
        tmp.write_text(json.dumps(data, indent=2) + "\n")
        tmp.replace(self.dir / STATE_FILE)

    def record(self, name: str, pid: int, start_time: int) -> None:
        # Each server leads its own process group (setsid), so pgid == pid.
        self.processes[name] = {"pid": pid, "pgid": pid, "start_time": start_time}
        self.save()


def load(directory: Path) -> Cluster | None:
    path = directory / STATE_FILE
    if not path.exists():
        return None
    data = json.loads(path.read_text())
    return Cluster(
        dir=directory,
        settings=Settings(**data["settings"]),
        writer=data.get("writer", "primary"),
        processes=data.get("processes", {}),
    )


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


def ensure_secrets(cluster: Cluster) -> dict[str, str]:
    """The cluster's passwords and Django secret key, made once and kept."""
    path = cluster.dir / SECRETS_FILE
    values = json.loads(path.read_text()) if path.exists() else {}
    # Hex: safe inside SQL literals, URLs and headers without quoting. The worker secret
    # came later: a cluster made before gets one on its next `up`.
    made = {
        name: secrets.token_hex(16)
        for name in ("app_password", "repl_password", "worker_secret")
        if name not in values
    }
    if made:
        values.update(made)
        _write_private(path, json.dumps(values, indent=2) + "\n")
    if not cluster.secret_key_file.exists():
        # Shared by every instance, as DJANGO_SECRET_KEY must be (sessions, signed cookies).
        _write_private(cluster.secret_key_file, secrets.token_urlsafe(50) + "\n")
    return values


def database_url(cluster: Cluster, server: str, password: str) -> str:
    return f"mysql://{APP_USER}:{password}@{HOST}:{cluster.port(server)}/{DATABASE}"
