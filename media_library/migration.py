"""Move media items between stores (local, efs, ebs, s3), one verified item at a time.

For each item not yet in the target store: every file (the private original and every
rendition) is copied, read back from the target and checked against the SHA-256
recorded in the row; only then is the item's `store` switched, under a row lock, so
its pages start using the new URLs. Stopped at any point, every item is either wholly
in its old store (and still served from there) or wholly verified in the new one: a
second run skips what is done and files already copied (same name, same hash). The
source files are left in place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from django.core.files.storage import Storage
from django.db import transaction

from media_library import files as media_files
from media_library.models import MediaItem
from media_store.stores import storage_for
from webtier.page_cache import pages_changed

logger = logging.getLogger(__name__)


class MigrationError(Exception):
    """A file could not be moved; the item it belongs to stays where it was."""


@dataclass
class Summary:
    items: int = 0
    moved: int = 0
    copied: int = 0
    present: int = 0
    bytes: int = 0
    planned: list[int] = field(default_factory=list)


def _files(item: MediaItem) -> list[tuple[str, str]]:
    files = [(item.original, item.sha256)] if item.original else []
    if not item.is_image:  # served as uploaded: the one file is the upload
        files.append((item.file.name, item.sha256))
    return files + [(r["file"], r["sha256"]) for r in item.renditions]


def _copy(source: Storage, target: Storage, name: str, digest: str, summary: Summary) -> None:
    if target.exists(name):
        if media_files.sha256(media_files.read(target, name)) != digest:
            raise MigrationError(
                f"{name} already exists in the target with different content; "
                "refusing to overwrite it"
            )
        summary.present += 1
        return
    try:
        data = media_files.read(source, name)
    except FileNotFoundError:
        raise MigrationError(f"{name} is missing from the source store") from None
    if media_files.sha256(data) != digest:
        raise MigrationError(f"{name} in the source store does not match its recorded SHA-256")
    media_files.put(target, name, data)
    if media_files.sha256(media_files.read(target, name)) != digest:
        raise MigrationError(f"{name} read back from the target does not match its SHA-256")
    summary.copied += 1
    summary.bytes += len(data)


def _switch(item: MediaItem, to: str) -> bool:
    """Point the row at the new store, unless it changed while we copied."""
    with transaction.atomic():
        locked = MediaItem.objects.select_for_update().get(pk=item.pk)
        if locked.store != item.store or _files(locked) != _files(item):
            return False
        locked.store = to
        locked.save(update_fields=["store"])
        transaction.on_commit(pages_changed)
    return True


def media_migrate(
    *,
    to: str,
    dry_run: bool = False,
    target: Storage | None = None,
    progress: Callable[[str], None] = lambda line: None,
) -> Summary:
    """Copy, verify and switch every item not in store `to`; raises MigrationError."""
    if to not in MediaItem.Store.values:
        raise MigrationError(f"unknown store {to!r}: use one of {', '.join(MediaItem.Store)}")
    target = target or media_files.storage(to)
    pending = list(MediaItem.objects.exclude(store=to).order_by("pk").values_list("pk", flat=True))
    summary = Summary(items=len(pending))
    for index, pk in enumerate(pending, 1):
        for _attempt in range(3):
            item = MediaItem.objects.filter(pk=pk).first()
            if item is None or item.store == to:
                break
            files = _files(item)
            if dry_run:
                summary.planned.append(pk)
                progress(f"[{index}/{len(pending)}] media {pk}: {len(files)} files to move")
                break
            source = media_files.storage(item.store)
            for name, digest in files:
                try:
                    _copy(source, target, name, digest, summary)
                except MigrationError as exc:
                    raise MigrationError(f"media {pk}: {exc}") from None
                except Exception as exc:
                    raise MigrationError(
                        f"media {pk}: copying {name} to {to} failed: {type(exc).__name__}: {exc}"
                    ) from exc
            if _switch(item, to):
                summary.moved += 1
                progress(
                    f"[{index}/{len(pending)}] media {pk}: {len(files)} files verified, now in {to}"
                )
                break
            # Renditions were added meanwhile: copy the new files too.
        else:
            raise MigrationError(f"media {pk} kept changing while it was copied; run again")
    return summary


def target_storage(to: str, location: str | None) -> Storage:
    """The target store; `location` points a POSIX store at another directory."""
    if location is None:
        return media_files.storage(to)
    if to == MediaItem.Store.S3:
        raise MigrationError("--location applies to local, efs and ebs, not s3")
    return storage_for(to, location=location)
