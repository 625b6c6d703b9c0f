"""The admin's imports, on the worker tier.

The uploaded export (and the optional zip of uploads/) waits in the private part of the
media store, which every instance and worker shares; the task copies it to a temporary
folder, imports it and records progress and the report on the ImportRun, where the admin
page reads them (after a refresh, or on another web instance). The task may run twice,
or be taken over after the worker's time limit: the import is idempotent and continues
where it stopped.
"""

from __future__ import annotations

import datetime as dt
import logging
import shutil
import tempfile
import time
import zipfile
from pathlib import Path, PurePosixPath

from django.core.cache import cache
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone
from django_tasks import task

from wordpress.importer import Options, Report
from wordpress.models import ImportRun
from wordpress.services import run_finish, wxr_import

logger = logging.getLogger(__name__)

MAX_ZIP_BYTES = 4_000_000_000
MAX_ZIP_FILES = 200_000
PROGRESS_SECONDS = 2.0
# A running import writes its heartbeat at least every PROGRESS_SECONDS while records go
# through (the row's with each batch's commit, the cache's at once); one record may take
# a while (an image fetched with a 10 s timeout, then processed within 10 s), so silence
# for 30 intervals means the worker is gone (kill -9, a lost instance): the admin page
# offers to resume.
STALE_SECONDS = 60.0
_FINISHED = (ImportRun.Status.DONE, ImportRun.Status.FAILED, ImportRun.Status.REFUSED)


def progress_key(run_id: int) -> str:
    return f"wordpress-import-progress:{run_id}"


def extract_uploads(archive: Path, into: Path) -> Path:
    """A zip of wp-content/uploads, unpacked safely; returns the folder that holds the years."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = [m for m in zf.infolist() if not m.is_dir()]
            if len(members) > MAX_ZIP_FILES:
                raise ValidationError(f"The zip holds more than {MAX_ZIP_FILES} files.")
            if sum(m.file_size for m in members) > MAX_ZIP_BYTES:
                raise ValidationError("The zip unpacks to more than 4 GB.")
            root = into.resolve()
            for member in members:
                name = PurePosixPath(member.filename)
                target = (root / name).resolve()
                if name.is_absolute() or ".." in name.parts or not target.is_relative_to(root):
                    raise ValidationError(f"The zip names a path outside itself: {member.filename}")
                target.parent.mkdir(parents=True, exist_ok=True)
                with zf.open(member) as src, target.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
    except zipfile.BadZipFile:
        raise ValidationError("The uploads file is not a zip archive.") from None
    for prefix in ("wp-content/uploads", "uploads"):
        if (into / prefix).is_dir():
            return into / prefix
    return into


def _options(run: ImportRun, media_dir: Path | None) -> Options:
    given = run.options
    return Options(
        dry_run=run.dry_run,
        role=given.get("role") or Options.role,
        media_dir=media_dir,
        fetch_media=bool(given.get("fetch_media")),
        permalink_structure=given.get("permalink_structure", ""),
    )


def cached_beat(run: ImportRun):
    """The latest heartbeat the cache has for `run` (None: none, or no cache)."""
    stamp = (cache.get(progress_key(run.pk)) or {}).get("beat")
    return dt.datetime.fromtimestamp(stamp, tz=dt.UTC) if stamp else None


def run_is_stalled(run: ImportRun) -> bool:
    return run.is_stalled(stale_after=STALE_SECONDS, beat=cached_beat(run))


def _reporter(run: ImportRun):
    last = [0.0]

    def progress(report: Report, phase: str) -> None:
        now = time.monotonic()
        if now - last[0] < PROGRESS_SECONDS:
            return
        last[0] = now
        beat = timezone.now()
        state = {
            "done": report.done,
            "total": report.total,
            "rate": round(report.done / report.seconds, 1) if report.seconds else 0,
            "phase": phase,
            "beat": beat.timestamp(),
        }
        # The cache is shared by every instance and written at once; the row keeps the
        # state (committed with the batch) when the cache is gone.
        cache.set(progress_key(run.pk), state, timeout=3600)
        if not run.dry_run:  # a dry run's writes are rolled back, this one with them
            ImportRun.objects.filter(pk=run.pk).update(progress=state, heartbeat_at=beat)

    return progress


@task
def run_wordpress_import(run_id: int) -> str:
    run = ImportRun.objects.filter(pk=run_id).select_related("created_by").first()
    if run is None or run.status in _FINISHED or run.created_by is None:
        return "nothing to do"
    if run.status == ImportRun.Status.RUNNING and not run.is_stalled(stale_after=STALE_SECONDS):
        # Delivered twice while the first delivery still runs: leave it to that one.
        return "already running"
    run.status, run.started_at = ImportRun.Status.RUNNING, run.started_at or timezone.now()
    run.heartbeat_at = timezone.now()
    run.save(update_fields=["status", "started_at", "heartbeat_at"])
    with tempfile.TemporaryDirectory(prefix="wxr-import-") as tmp:
        tmp_path = Path(tmp)
        source = tmp_path / "export.xml"
        with default_storage.open(run.stored_file, "rb") as src, source.open("wb") as dst:
            shutil.copyfileobj(src, dst)
        media_dir = None
        try:
            if run.stored_media:
                archive = tmp_path / "uploads.zip"
                with default_storage.open(run.stored_media, "rb") as src, archive.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                media_dir = extract_uploads(archive, tmp_path / "uploads")
                archive.unlink()
            report = wxr_import(
                source=str(source),
                by=run.created_by,
                options=_options(run, media_dir),
                progress=_reporter(run),
                run=run,
            )
        except ValidationError as exc:
            report = Report(refused=" ".join(exc.messages))
        except PermissionDenied as exc:
            report = Report(refused=str(exc))
    run_finish(run, report)
    cache.delete(progress_key(run.pk))
    if not report.interrupted:
        for name in (run.stored_file, run.stored_media):
            if name:
                default_storage.delete(name)
    logger.info("wordpress import %s: %s", run.pk, run.status)
    return run.status
