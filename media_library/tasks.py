"""Tasks for the media library: make an item's renditions, and retry those that failed.

Idempotent, as every task here (DESIGN.md rule 4): the pipeline is deterministic and
files are written under names fixed by the item (media_library/files.py), so a second run,
or two workers on the same item at once, write the same bytes to the same names; the
row is updated under a row lock by whichever finishes first, and the other sees
"ready" and stops. Enqueued after commit by media_library/services.py.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tasks import task

from media_library import files as media_files
from media_library.models import MediaItem
from media_store import bounded, images
from webtier.page_cache import pages_changed
from worker.enqueue import enqueue_on_commit

logger = logging.getLogger(__name__)

# A pending item older than this lost its task (a worker died): retry it.
PENDING_GRACE = timedelta(minutes=10)


def _max_attempts() -> int:
    return getattr(settings, "MEDIA_RENDITION_ATTEMPTS", 3)


def _base_name(item: MediaItem) -> str:
    # From the stored original, not the title: a renamed item keeps its file names.
    return item.original.removeprefix(media_files.PRIVATE_PREFIX).rsplit(".", 1)[0]


def _record_failure(item_id: int, message: str, *, permanent: bool) -> None:
    with transaction.atomic():
        item = MediaItem.objects.select_for_update().filter(pk=item_id).first()
        if item is None or item.status == MediaItem.Status.READY:
            return
        item.status = MediaItem.Status.FAILED
        item.status_detail = message[:2000]
        item.attempts = _max_attempts() if permanent else item.attempts + 1
        item.save(update_fields=["status", "status_detail", "attempts"])


def renditions_make(*, item_id: int) -> str:
    """Make and record every rendition of one item; returns what happened."""
    item = MediaItem.objects.filter(pk=item_id).first()
    if item is None:
        return "gone"
    if item.status == MediaItem.Status.READY:
        return "ready"
    store = media_files.storage(item.store)
    try:
        data = media_files.read(store, item.original)
        # Under the same hard time and memory bounds as an upload (media_store/bounded.py).
        renditions = bounded.run(
            data, media_files.limits(), workers=settings.MEDIA_UPLOAD_SLOTS
        ).renditions
    except images.ImageRejected as exc:
        # Limits may have been lowered since the upload: retrying will not help.
        _record_failure(item_id, str(exc), permanent=True)
        return "failed"
    except Exception as exc:
        logger.exception("renditions of media %s failed", item_id)
        _record_failure(item_id, f"{type(exc).__name__}: {exc}", permanent=False)
        raise
    base = _base_name(item)
    try:
        with transaction.atomic():
            locked = MediaItem.objects.select_for_update().filter(pk=item_id).first()
            if locked is None:
                return "gone"
            if locked.status == MediaItem.Status.READY:
                return "ready"
            if locked.store != item.store:
                # media_migrate switched stores meanwhile: write where the row now points.
                enqueue_on_commit(make_media_renditions, item_id)
                return "moved"
            entries = []
            for rendition in renditions:
                name = media_files.rendition_name(base, rendition)
                media_files.put(store, name, rendition.data)
                entries.append(media_files.rendition_entry(name, rendition))
            locked.renditions = entries
            locked.file.name = entries[0]["file"]
            locked.status = MediaItem.Status.READY
            locked.status_detail = ""
            locked.attempts += 1
            locked.save(update_fields=["renditions", "file", "status", "status_detail", "attempts"])
            transaction.on_commit(pages_changed)
    except Exception as exc:
        logger.exception("storing renditions of media %s failed", item_id)
        _record_failure(item_id, f"{type(exc).__name__}: {exc}", permanent=False)
        raise
    logger.info("media %s: %d renditions", item_id, len(entries))
    return "ready"


def renditions_retry(*, now=None) -> int:
    """Enqueue failed items with attempts left, and pending ones whose task was lost."""
    now = now or timezone.now()
    failed = MediaItem.objects.filter(
        status=MediaItem.Status.FAILED, attempts__lt=_max_attempts()
    ).values_list("pk", flat=True)
    lost = MediaItem.objects.filter(
        status=MediaItem.Status.PENDING, created_at__lt=now - PENDING_GRACE
    ).values_list("pk", flat=True)
    ids = sorted({*failed, *lost})
    for item_id in ids:
        make_media_renditions.enqueue(item_id)
    return len(ids)


@task()
def make_media_renditions(item_id: int) -> str:
    return renditions_make(item_id=item_id)


@task()
def retry_failed_renditions() -> int:
    """Run periodically by the worker tier."""
    return renditions_retry()
