"""Backup and restore for single-machine sites: the database and MEDIA_ROOT in one archive.

The archive is a gzipped tar: `database.sqlite3` (SQLite's online backup) or `database.sql`
(`mariadb-dump --single-transaction`), every file under MEDIA_ROOT as `media/<path>`, and
`manifest.json` last, with the SHA-256 and size of every member and each table's row count.

Restore stages and verifies the whole archive before it touches anything, refuses a site
that has content unless forced, then loads the database, puts the media in place, and
checks hashes and row counts again where they landed.

Media files are backed up generically (whatever is under MEDIA_ROOT), never through a
model, so the archive does not depend on how media items are modelled.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connections
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

logger = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "manifest.json"
_CHUNK = 1024 * 1024
# Apps whose rows make a site "non-empty" (the web tier's cache epoch is bookkeeping).
_CONTENT_APPS = ("blog", "media_library", "worker")


class _Hashing(io.RawIOBase):
    """A file that hashes and counts what tarfile reads from it, so each file is read once."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw, self.digest, self.size = raw, hashlib.sha256(), 0

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.digest.update(data)
        self.size += len(data)
        return data


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _media_files(root: Path) -> Iterator[Path]:
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        # Symlinks could point outside the media folder; a restore must not create them.
        if path.is_file() and not path.is_symlink():
            yield path


def _engine(alias: str) -> str:
    vendor = connections[alias].vendor
    if vendor not in ("sqlite", "mysql"):
        raise ValidationError(f"backups support SQLite and MySQL/MariaDB, not {vendor}")
    return vendor


def _client_args(alias: str) -> tuple[list[str], dict[str, str]]:
    """Connection options for the mariadb/mysql client tools, the password in the environment."""
    conf = connections[alias].settings_dict
    args = [f"--host={conf['HOST'] or '127.0.0.1'}", f"--port={conf['PORT'] or 3306}"]
    if conf["USER"]:
        args.append(f"--user={conf['USER']}")
    ssl = conf.get("OPTIONS", {}).get("ssl", {})
    if ssl.get("ca"):
        args.append(f"--ssl-ca={ssl['ca']}")
    env = {**os.environ}
    if conf["PASSWORD"]:
        env["MYSQL_PWD"] = conf["PASSWORD"]
    return args, env


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise ValidationError(f"{' or '.join(names)} not found: install mariadb-client")


def _dump_database(alias: str, target: Path) -> None:
    connection = connections[alias]
    if _engine(alias) == "sqlite":
        # The online backup API copies a consistent image while the site keeps writing.
        source = sqlite3.connect(connection.settings_dict["NAME"])
        copy = sqlite3.connect(target)
        try:
            source.backup(copy)
        finally:
            copy.close()
            source.close()
        return
    args, env = _client_args(alias)
    dump = _tool("mariadb-dump", "mysqldump")
    command = [
        dump,
        *args,
        # One consistent InnoDB snapshot without locking the site.
        "--single-transaction",
        "--quick",
        "--routines",
        "--triggers",
        "--hex-blob",
        "--no-tablespaces",
        "--default-character-set=utf8mb4",
        f"--result-file={target}",
        connection.settings_dict["NAME"],
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if done.returncode != 0:
        raise ValidationError(f"{Path(dump).name} failed: {done.stderr.strip()}")


def _row_counts(alias: str) -> dict[str, int]:
    connection = connections[alias]
    counts = {}
    with connection.cursor() as cursor:
        for table in sorted(connection.introspection.table_names(cursor)):
            cursor.execute(f"SELECT COUNT(*) FROM {connection.ops.quote_name(table)}")  # noqa: S608
            counts[table] = cursor.fetchone()[0]
    return counts


def _sqlite_row_counts(path: Path) -> dict[str, int]:
    database = sqlite3.connect(path)
    try:
        tables = [
            row[0]
            for row in database.execute(
                "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%'"
            )
        ]
        return {
            table: database.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()[0]  # noqa: S608
            for table in sorted(tables)
        }
    finally:
        database.close()


def _add(archive: tarfile.TarFile, path: Path, name: str) -> dict[str, Any]:
    info = archive.gettarinfo(str(path), arcname=name)
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as handle:
        hashing = _Hashing(handle)
        archive.addfile(info, hashing)
    return {"path": name, "sha256": hashing.digest.hexdigest(), "bytes": hashing.size}


def backup_create(*, output: Path, alias: str = "default") -> dict[str, Any]:
    """Write the archive to `output` (refusing to replace a file) and return its manifest."""
    engine = _engine(alias)
    if output.exists():
        raise ValidationError(f"{output} already exists: backups never overwrite")
    output.parent.mkdir(parents=True, exist_ok=True)
    media_root = Path(settings.MEDIA_ROOT)
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created": timezone.now().isoformat(),
        "engine": engine,
    }
    partial = output.with_name(output.name + ".partial")
    with tempfile.TemporaryDirectory(dir=output.parent) as scratch:
        dump = Path(scratch) / ("database.sqlite3" if engine == "sqlite" else "database.sql")
        _dump_database(alias, dump)
        # SQLite: the copy itself is counted. MySQL: counted just after the dump, in another
        # transaction, so a site written to during the backup may differ slightly.
        manifest["tables"] = _sqlite_row_counts(dump) if engine == "sqlite" else _row_counts(alias)
        with tarfile.open(partial, "w:gz") as archive:
            manifest["database"] = _add(archive, dump, dump.name)
            manifest["media"] = [
                _add(archive, path, f"media/{path.relative_to(media_root).as_posix()}")
                for path in _media_files(media_root)
            ]
            body = json.dumps(manifest, indent=2, sort_keys=True).encode()
            info = tarfile.TarInfo(MANIFEST)
            info.size, info.mtime, info.mode = len(body), int(timezone.now().timestamp()), 0o644
            archive.addfile(info, io.BytesIO(body))
    partial.rename(output)
    manifest["archive"] = {"path": str(output), "sha256": _sha256(output)}
    logger.info("backup written to %s: %d media files", output, len(manifest["media"]))
    return manifest


def _stage(archive_path: Path, staging: Path) -> dict[str, Any]:
    """Unpack into `staging` and check every member against the manifest."""
    try:
        with tarfile.open(archive_path, "r:gz") as archive:
            # The data filter refuses absolute paths, `..`, links out and device files.
            archive.extractall(staging, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise ValidationError(f"{archive_path} is not a readable backup: {exc}") from None
    try:
        manifest = json.loads((staging / MANIFEST).read_text())
    except (OSError, ValueError) as exc:
        raise ValidationError(f"{archive_path} has no valid {MANIFEST}: {exc}") from None
    if manifest.get("format") != FORMAT:
        raise ValidationError(f"backup format {manifest.get('format')} is not {FORMAT}")
    expected = [manifest["database"], *manifest["media"]]
    problems = []
    for entry in expected:
        path = staging / entry["path"]
        if not path.is_file():
            problems.append(f"{entry['path']} is missing")
        elif _sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']} does not match its hash")
    listed = {entry["path"] for entry in expected} | {MANIFEST}
    extra = [
        p.relative_to(staging).as_posix()
        for p in staging.rglob("*")
        if p.is_file() and p.relative_to(staging).as_posix() not in listed
    ]
    problems += [f"{name} is not in the manifest" for name in extra]
    if problems:
        raise ValidationError("the backup is damaged: " + "; ".join(problems[:10]))
    return manifest


def site_content(alias: str = "default") -> list[str]:
    """What makes this site non-empty: tables with content rows, and media files."""
    found = []
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
    models = [m for label in _CONTENT_APPS for m in apps.get_app_config(label).get_models()]
    for model in models:
        table = model._meta.db_table
        # Proxies (Page) share their concrete model's table: count each table once.
        if model._meta.proxy:
            continue
        if table in tables:
            count = model._base_manager.using(alias).count()
            if count:
                found.append(f"{count} rows in {table}")
    media = sum(1 for _ in _media_files(Path(settings.MEDIA_ROOT)))
    if media:
        found.append(f"{media} files in MEDIA_ROOT")
    return found


def _drop_all_tables(alias: str) -> None:
    connection = connections[alias]
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
        if connection.vendor == "mysql" and tables:
            cursor.execute("SET FOREIGN_KEY_CHECKS = 0")
            names = ", ".join(connection.ops.quote_name(t) for t in tables)
            cursor.execute(f"DROP TABLE IF EXISTS {names}")
            cursor.execute("SET FOREIGN_KEY_CHECKS = 1")


def _load_database(alias: str, dump: Path, engine: str) -> None:
    connection = connections[alias]
    if engine != _engine(alias):
        raise ValidationError(f"the backup is from {engine}, this site runs {_engine(alias)}")
    if engine == "sqlite":
        connection.close()
        # The backup API replaces the whole target database, schema included.
        source = sqlite3.connect(dump)
        target = sqlite3.connect(connection.settings_dict["NAME"])
        try:
            source.backup(target)
        finally:
            target.close()
            source.close()
        return
    # Tables the backup does not have (a newer release's) would linger: start from none.
    _drop_all_tables(alias)
    connection.close()
    args, env = _client_args(alias)
    client = _tool("mariadb", "mysql")
    with dump.open("rb") as handle:
        done = subprocess.run(  # noqa: S603
            [client, *args, "--default-character-set=utf8mb4", connection.settings_dict["NAME"]],
            stdin=handle,
            env=env,
            capture_output=True,
            check=False,
        )
    if done.returncode != 0:
        raise ValidationError(f"loading the dump failed: {done.stderr.decode().strip()}")


def _replace_media(staging: Path, media_root: Path) -> None:
    media_root.mkdir(parents=True, exist_ok=True)
    # MEDIA_ROOT may be a mount point (EBS, EFS): replace what is in it, never the folder.
    for child in media_root.iterdir():
        if child.is_dir() and not child.is_symlink():
            shutil.rmtree(child)
        else:
            child.unlink()
    source = staging / "media"
    if source.is_dir():
        for child in source.iterdir():
            shutil.move(str(child), media_root / child.name)


def backup_verify(*, archive: Path) -> dict[str, Any]:
    """Check an archive's every hash without restoring it."""
    with tempfile.TemporaryDirectory() as scratch:
        return _stage(archive, Path(scratch))


def backup_restore(*, archive: Path, force: bool = False, alias: str = "default") -> dict:
    """Restore an archive into this site; refuse a site with content unless `force`."""
    media_root = Path(settings.MEDIA_ROOT)
    content = site_content(alias)
    if content and not force:
        raise ValidationError(
            "this site is not empty (" + ", ".join(content) + "): restore over it only with --force"
        )
    staging_parent = media_root.parent
    staging_parent.mkdir(parents=True, exist_ok=True)
    # Staged beside MEDIA_ROOT so the final moves stay on one file system.
    with tempfile.TemporaryDirectory(dir=staging_parent, prefix=".restore-") as scratch:
        staging = Path(scratch)
        manifest = _stage(archive, staging)
        _load_database(alias, staging / manifest["database"]["path"], manifest["engine"])
        _replace_media(staging, media_root)
    problems = []
    for entry in manifest["media"]:
        path = media_root / entry["path"].removeprefix("media/")
        if not path.is_file() or _sha256(path) != entry["sha256"]:
            problems.append(f"{entry['path']} differs after the restore")
    counts = _row_counts(alias)
    for table, rows in manifest["tables"].items():
        if counts.get(table) != rows:
            problems.append(f"{table} has {counts.get(table)} rows, the backup {rows}")
    if problems:
        raise ValidationError("restored, but verification failed: " + "; ".join(problems[:10]))
    executor = MigrationExecutor(connections[alias])
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    return {
        "manifest": manifest,
        "rows": sum(counts.values()),
        "media_files": len(manifest["media"]),
        "pending_migrations": len(pending),
    }
