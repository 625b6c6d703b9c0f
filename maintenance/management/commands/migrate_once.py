"""`manage.py migrate_once --release R`: migrate once per release, however many instances boot.

Every instance booted from a new golden image runs this (userdata/bootstrap.py). On
MySQL/MariaDB the first takes an advisory lock (GET_LOCK) and migrates; the others wait
on the lock, then find the release's marker row and skip. The marker lives in its own
small table created with plain SQL, because it must exist before any migration has run.
On SQLite (one process on a laptop) it simply migrates.
"""

from __future__ import annotations

import socket
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import OperationalError, connections

LOCK_NAME = "cloudblog:migrate"
MARKER_TABLE = "cloudblog_release_migration"


def _connect(alias: str, wait: float) -> None:
    """Wait for the database to answer, or fail with its error after `wait` seconds."""
    deadline = time.monotonic() + wait
    while True:
        try:
            connections[alias].ensure_connection()
            return
        except OperationalError as exc:
            if time.monotonic() >= deadline:
                settings = connections[alias].settings_dict
                raise CommandError(
                    f"database {settings['HOST']}:{settings['PORT']} unreachable after "
                    f"{wait:g} s: {exc}"
                ) from None
            connections[alias].close()
            time.sleep(1)


def _marker(cursor, release: str) -> tuple | None:
    cursor.execute(
        f"SELECT host, migrated_at FROM {MARKER_TABLE} WHERE release_id = %s",  # noqa: S608
        [release],
    )
    return cursor.fetchone()


class Command(BaseCommand):
    help = "Apply migrations once per release across all booting instances (advisory lock)."

    def add_arguments(self, parser):
        parser.add_argument("--release", required=True, help="e.g. 0.1.0+1a2b3c4d5e6f")
        parser.add_argument("--database", default="default")
        parser.add_argument(
            "--lock-timeout",
            type=int,
            default=900,
            help="seconds to wait for another instance's migrations (default 900)",
        )
        parser.add_argument(
            "--wait-db",
            type=float,
            default=60,
            help="seconds to wait for the database to answer (default 60)",
        )

    def handle(self, *args, release, database, lock_timeout, wait_db, **options):
        _connect(database, wait_db)
        connection = connections[database]
        if connection.vendor != "mysql":
            call_command("migrate", database=database, interactive=False, verbosity=0)
            self.stdout.write(f"migrated release {release} ({connection.vendor}, no lock)")
            return
        with connection.cursor() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {MARKER_TABLE} ("
                "release_id VARCHAR(100) PRIMARY KEY, host VARCHAR(255) NOT NULL, "
                "migrated_at DATETIME(6) NOT NULL)"
            )
            done = _marker(cursor, release)
        if done:
            self.stdout.write(f"release {release} already migrated by {done[0]}: skipping")
            return
        # The lock is held on its own connection, so nothing migrate does to the default
        # connection (closing it, reconnecting) can release it early.
        locker = connection.copy()
        try:
            started = time.monotonic()
            with locker.cursor() as cursor:
                cursor.execute("SELECT GET_LOCK(%s, %s)", [LOCK_NAME, lock_timeout])
                (got,) = cursor.fetchone()
            if got != 1:
                raise CommandError(
                    f"another instance held the migration lock for over {lock_timeout} s"
                )
            waited = time.monotonic() - started
            with connection.cursor() as cursor:
                done = _marker(cursor, release)
            if done:
                self.stdout.write(
                    f"waited {waited:.1f} s for the migration lock; release {release} "
                    f"already migrated by {done[0]}: skipping"
                )
                return
            call_command("migrate", database=database, interactive=False, verbosity=0)
            with connection.cursor() as cursor:
                cursor.execute(
                    f"INSERT INTO {MARKER_TABLE} (release_id, host, migrated_at) "  # noqa: S608
                    "VALUES (%s, %s, UTC_TIMESTAMP(6))",
                    [release, socket.gethostname()],
                )
            self.stdout.write(f"migrated release {release} (lock waited {waited:.1f} s)")
        finally:
            with locker.cursor() as cursor:
                cursor.execute("SELECT RELEASE_LOCK(%s)", [LOCK_NAME])
            locker.close()
