"""The MariaDB primary and replica of the local cluster.

Each server has its own datadir, socket, pid file, port and tmpdir: two
`mariadb-install-db` runs sharing /tmp fail now and then. SQL goes through the
`mariadb` client as root over the server's socket; root's TCP accounts are dropped,
and the application connects over TCP as a user with grants on its database only,
because root ignores `read_only` and would write to the replica without a sound.
"""

from __future__ import annotations

import re
import socket
import subprocess
from pathlib import Path

from ops.cluster_state import APP_USER, DATABASE, HOST, REPL_USER

SERVER_IDS = {"primary": 1, "replica": 2}


class DatabaseError(Exception):
    pass


def socket_path(base: Path) -> Path:
    return base / "mariadb.sock"


def data_dir(base: Path) -> Path:
    return base / "data"


def cnf_path(base: Path) -> Path:
    return base / "my.cnf"


def is_installed(base: Path) -> bool:
    return (data_dir(base) / "mysql").is_dir()


def render_cnf(
    *, name: str, base: Path, port: int, log: Path, read_only: bool, as_root: bool
) -> str:
    lines = [
        "# Written by `python -m ops cluster` on every start; edits are lost.",
        "[mysqld]",
        # mariadbd refuses to run as root unless told to; as anyone else it runs as them.
        *(["user = root"] if as_root else []),
        f"datadir = {data_dir(base)}",
        f"socket = {socket_path(base)}",
        f"pid-file = {base / 'mariadbd.pid'}",
        f"tmpdir = {base / 'tmp'}",
        f"log-error = {log}",
        f"port = {port}",
        f"bind-address = {HOST}",
        # Accounts are '...'@'127.0.0.1'; no DNS lookups on connect.
        "skip-name-resolve",
        "character-set-server = utf8mb4",
        "collation-server = utf8mb4_unicode_ci",
        "innodb_buffer_pool_size = 32M",
        # The default 96M redo log per server is most of a fresh datadir's size.
        "innodb_log_file_size = 32M",
        f"server-id = {SERVER_IDS[name]}",
        "log-bin = mysql-bin",
        "relay-log = relay-bin",
        "binlog_format = ROW",
        "log-slave-updates",
        "gtid_strict_mode = 1",
        # The serial applier fell 2.7 s behind a 4,000-insert burst; this caught up in 50 ms.
        "slave_parallel_threads = 4",
        "slave_parallel_mode = optimistic",
        # Lossless semi-sync: a commit is acknowledged only once the replica has the
        # event, so killing the primary loses no acknowledged write (Aurora's shared
        # storage gives the same). A replica that does not answer within a second
        # turns it back into asynchronous replication rather than stalling writes.
        # Both roles are enabled on both servers so that a promotion keeps it.
        "rpl_semi_sync_master_enabled = ON",
        "rpl_semi_sync_slave_enabled = ON",
        "rpl_semi_sync_master_wait_point = AFTER_SYNC",
        "rpl_semi_sync_master_timeout = 1000",
        f"read_only = {1 if read_only else 0}",
    ]
    return "\n".join(lines) + "\n"


def write_cnf(
    *, name: str, base: Path, port: int, log: Path, read_only: bool, as_root: bool
) -> None:
    (base / "tmp").mkdir(parents=True, exist_ok=True)
    data_dir(base).mkdir(parents=True, exist_ok=True)
    log.parent.mkdir(parents=True, exist_ok=True)
    cnf_path(base).write_text(
        render_cnf(name=name, base=base, port=port, log=log, read_only=read_only, as_root=as_root)
    )


def install(base: Path, installer: str) -> subprocess.Popen:
    """Start `mariadb-install-db` for `base` (the caller waits: two may run at once)."""
    return subprocess.Popen(
        [
            installer,
            f"--defaults-file={cnf_path(base)}",
            "--auth-root-authentication-method=normal",
            "--skip-test-db",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def server_argv(base: Path, mariadbd: str) -> list[str]:
    return [mariadbd, f"--defaults-file={cnf_path(base)}"]


def sql(base: Path, statements: str, *, timeout: float = 10, columns: bool = False) -> list:
    """Run statements as root over the socket; rows as lists (dicts with `columns`)."""
    argv = ["mariadb", f"--socket={socket_path(base)}", "-uroot", "--batch", "--connect-timeout=2"]
    if not columns:
        argv.append("--skip-column-names")
    try:
        result = subprocess.run(
            [*argv, "-e", statements],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise DatabaseError(f"no answer from {socket_path(base)} within {timeout:g}s") from None
    if result.returncode != 0:
        raise DatabaseError(result.stderr.strip() or f"mariadb exited {result.returncode}")
    rows = [line.split("\t") for line in result.stdout.splitlines()]
    if columns:
        header, *body = rows or [[]]
        return [dict(zip(header, row, strict=False)) for row in body]
    return rows


def ping(base: Path) -> bool:
    try:
        sql(base, "SELECT 1", timeout=3)
    except DatabaseError:
        return False
    return True


def bootstrap_primary(base: Path, *, app_password: str, repl_password: str) -> None:
    """Database, application user and replication user; replicated to the replica."""
    hostname = socket.gethostname()
    root_accounts = ["'root'@'127.0.0.1'", "'root'@'::1'"]
    if re.fullmatch(r"[A-Za-z0-9.-]+", hostname):
        root_accounts.append(f"'root'@'{hostname}'")
    sql(
        base,
        f"""
        DROP USER IF EXISTS {", ".join(root_accounts)};
        CREATE DATABASE IF NOT EXISTS {DATABASE}
            CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
        CREATE USER IF NOT EXISTS '{APP_USER}'@'{HOST}' IDENTIFIED BY '{app_password}';
        GRANT ALL PRIVILEGES ON {DATABASE}.* TO '{APP_USER}'@'{HOST}';
        CREATE USER IF NOT EXISTS '{REPL_USER}'@'{HOST}' IDENTIFIED BY '{repl_password}';
        GRANT REPLICATION SLAVE ON *.* TO '{REPL_USER}'@'{HOST}';
        """,
    )


def start_replication(base: Path, *, primary_port: int, repl_password: str) -> None:
    """Make a fresh server replicate the primary from its first transaction."""
    sql(
        base,
        f"""
        SET GLOBAL read_only = 1;
        RESET MASTER;
        SET GLOBAL gtid_slave_pos = '';
        CHANGE MASTER TO MASTER_HOST = '{HOST}', MASTER_PORT = {primary_port},
            MASTER_USER = '{REPL_USER}', MASTER_PASSWORD = '{repl_password}',
            MASTER_USE_GTID = slave_pos, MASTER_CONNECT_RETRY = 1;
        START SLAVE;
        """,
    )


def binlog_pos(base: Path) -> str:
    return sql(base, "SELECT @@global.gtid_binlog_pos")[0][0]


def wait_for_gtid(base: Path, position: str, timeout: float) -> bool:
    """Has `base` applied everything up to `position` within `timeout` seconds?"""
    if not position:
        return True
    row = sql(base, f"SELECT MASTER_GTID_WAIT('{position}', {timeout})", timeout=timeout + 5)
    return row[0][0] == "0"


def _int_or_none(value: str | None) -> int | None:
    return int(value) if value and value.isdigit() else None


def server_status(base: Path) -> dict:
    """read_only, GTID positions and, on a replica, the fields of SHOW SLAVE STATUS."""
    row = sql(
        base,
        "SELECT @@global.read_only, @@global.gtid_binlog_pos, @@global.gtid_slave_pos",
        timeout=3,
    )[0]
    status: dict = {"read_only": row[0] == "1", "gtid_binlog_pos": row[1], "gtid_slave_pos": row[2]}
    slave = sql(base, "SHOW SLAVE STATUS", columns=True, timeout=3)
    if slave:
        fields = slave[0]
        status["replication"] = {
            "io_running": fields.get("Slave_IO_Running"),
            "sql_running": fields.get("Slave_SQL_Running"),
            "seconds_behind_master": _int_or_none(fields.get("Seconds_Behind_Master")),
            "sql_delay": int(fields.get("SQL_Delay") or 0),
            "gtid_io_pos": fields.get("Gtid_IO_Pos"),
            "last_io_error": fields.get("Last_IO_Error") or None,
            "last_sql_error": fields.get("Last_SQL_Error") or None,
        }
    return status


def promote(base: Path, *, drain_timeout: float = 5) -> bool:
    """Make a replica the writer; False when part of its relay log was left unapplied.

    The primary may be gone, but what sits in the relay log was committed there: it is
    applied first (up to `drain_timeout`), or those transactions would be lost.
    """
    applied = True
    if sql(base, "SHOW SLAVE STATUS", columns=True):
        sql(base, "STOP SLAVE IO_THREAD")
        received = sql(base, "SHOW SLAVE STATUS", columns=True)[0].get("Gtid_IO_Pos", "")
        applied = wait_for_gtid(base, received, drain_timeout)
    sql(base, "STOP SLAVE; RESET SLAVE ALL; SET GLOBAL read_only = 0;")
    return applied


def fence(base: Path) -> None:
    """Stop the application writing here (its user has no privilege to bypass read_only)."""
    sql(base, "SET GLOBAL read_only = 1", timeout=3)


def set_delay(base: Path, seconds: int) -> None:
    sql(base, f"STOP SLAVE; CHANGE MASTER TO MASTER_DELAY = {int(seconds)}; START SLAVE;")


def set_applier(base: Path, *, running: bool) -> None:
    sql(base, "START SLAVE SQL_THREAD" if running else "STOP SLAVE SQL_THREAD")
