"""Media library actions with rules: upload, edit, delete, and which posts may show what.

As in blog's services: keyword-only functions named noun_verb, PermissionDenied for
"not allowed", ValidationError (with the pipeline's own message) for "not valid", and
nothing half-written when they raise: no row without its files, no files without a row.
Authors see, use and edit their own uploads; editors (edit_others_posts) all of them.
"""

from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import time
from collections.abc import Callable
from pathlib import Path, PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django_tasks.backends.immediate import ImmediateBackend

from media_library import files as media_files
from media_library.models import MediaItem
from media_library.tasks import make_media_renditions
from media_store import bounded, documents, images
from webtier.page_cache import pages_changed
from worker.enqueue import enqueue_on_commit

logger = logging.getLogger(__name__)


# --- Permissions ------------------------------------------------------------


def media_can_add(*, user) -> bool:
    return user.is_authenticated and user.has_perm("media_library.add_mediaitem")


def media_can_use(*, user, item: MediaItem) -> bool:
    """May `user` see this item in the library and put it in a post?"""
    if not user.is_authenticated or not user.has_perm("media_library.view_mediaitem"):
        return False
    return item.uploaded_by_id == user.pk or user.has_perm("blog.edit_others_posts")


def media_can_edit(*, user, item: MediaItem) -> bool:
    return user.has_perm("media_library.change_mediaitem") and media_can_use(user=user, item=item)


def media_can_delete(*, user, item: MediaItem) -> bool:
    return user.has_perm("media_library.delete_mediaitem") and media_can_use(user=user, item=item)


# --- Upload, edit, delete ---------------------------------------------------


def _read_upload(file, limits: images.Limits) -> bytes:
    size = getattr(file, "size", None)
    # Refuse before reading a huge body into memory; the pipeline checks again.
    if size is not None and size > limits.max_bytes:
        raise ValidationError(
            f"The file is {size / 1e6:.1f} MB; the limit is {limits.max_bytes / 1e6:g} MB."
        )
    data = file.read(limits.max_bytes + 1)
    if len(data) > limits.max_bytes:
        raise ValidationError(f"The file is larger than {limits.max_bytes / 1e6:g} MB.")
    return data


def _default_title(file) -> str:
    name = PurePath(getattr(file, "name", "") or "").stem
    return re.sub(r"[-_]+", " ", name).strip()[:200]


class UploadsBusy(Exception):
    """This instance is processing as many images as it may (MEDIA_UPLOAD_SLOTS)."""

    retry_after = 2  # seconds: about what one upload holds a slot


def _renditions_inline() -> bool:
    """Would the renditions task run inside this request anyway (the immediate backend)?"""
    return isinstance(make_media_renditions.get_backend(), ImmediateBackend)


def _slot_directory() -> Path:
    # One set of slots per installation on this machine, shared by all its processes.
    key = hashlib.sha256(str(settings.BASE_DIR).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"cloudblog-{os.getuid()}-upload-slots-{key}"


def _process(data: bytes, limits: images.Limits, *, full_only: bool) -> bounded.Processed:
    started = time.monotonic()
    try:
        with bounded.slot(settings.MEDIA_UPLOAD_SLOTS, _slot_directory()):
            processed = bounded.run(
                data, limits, full_only=full_only, workers=settings.MEDIA_UPLOAD_SLOTS
            )
    except bounded.Busy:
        logger.warning("upload refused: every processing slot is busy")
        raise UploadsBusy(
            "Too many images are being processed right now; try again in a few seconds."
        ) from None
    except images.ImageRejected as exc:
        logger.info("upload refused after %.2f s: %s", time.monotonic() - started, exc)
        raise ValidationError(str(exc)) from None
    logger.info(
        "image processed in %.2f s, peak %.0f MB, CPU %.2f s, %d files",
        time.monotonic() - started,
        processed.peak_mb,
        processed.cpu_seconds,
        len(processed.renditions),
    )
    return processed


def media_image_process(data: bytes) -> bounded.Processed:
    """The upload pipeline on an image's bytes, as media_upload would run it, for a caller
    that uploads many (an import) and runs the next ones while it stores this one: no
    database here, so it may run in another thread. Raises ValidationError (refused) or
    UploadsBusy; media_upload(process=...) takes its result."""
    return _process(data, media_files.limits(), full_only=not _renditions_inline())


def media_upload(
    *,
    file,
    by,
    title: str = "",
    alt_text: str = "",
    caption: str = "",
    process: Callable[[bytes], bounded.Processed] | None = None,
) -> tuple[MediaItem, bool]:
    """Store an uploaded image (or a file of another kind: _store_file); returns (item,
    created).

    The same bytes uploaded again by the same person return the existing item
    (created=False) without being processed again. The upload is validated by content
    and processed once, in a child process under hard limits (media_store/bounded.py),
    at most MEDIA_UPLOAD_SLOTS at a time per instance (else UploadsBusy). Its original is
    stored privately, the cleaned versions publicly. Where the renditions task would run
    in this request anyway (the immediate backend), the request makes every size from
    that one decode and the item is ready at once; with a queue it makes "full" alone,
    which pages show until the task has made the rest. `process`: how to get
    media_image_process's result for these bytes (an import runs it ahead, in another
    thread), asked only where the pipeline would run; a result for other bytes is not
    used.
    """
    if not media_can_add(user=by):
        raise PermissionDenied("You may not upload media.")
    limits = media_files.limits()
    data = _read_upload(file, limits)
    digest = media_files.sha256(data)
    existing = MediaItem.objects.filter(uploaded_by=by, sha256=digest).first()
    if existing is not None:
        return existing, False
    if documents.is_document_name(getattr(file, "name", "") or ""):
        return _store_file(file, data, by=by, title=title, caption=caption), True
    inline = _renditions_inline()
    processed = process(data) if process is not None else None
    if processed is None or processed.inspected.sha256 != digest:
        processed = _process(data, limits, full_only=not inline)
    inspected, renditions = processed.inspected, processed.renditions

    title = (title or _default_title(file)).strip()[:200]
    backend = settings.MEDIA_BACKEND
    store = media_files.storage(backend)
    written: list[str] = []
    storing = time.monotonic()
    try:
        with transaction.atomic():
            item = MediaItem.objects.create(
                store=backend,
                title=title,
                alt_text=alt_text.strip()[:300],
                caption=caption.strip(),
                mime_type=inspected.mime_type,
                width=inspected.width,
                height=inspected.height,
                byte_size=len(data),
                sha256=inspected.sha256,
                uploaded_by=by,
            )
            base = media_files.stem(pk=item.pk, created_at=item.created_at, label=title)
            item.original = media_files.original_name(base, inspected.extension)
            names = [media_files.rendition_name(base, r) for r in renditions]
            media_files.put_all(
                store,
                [(item.original, data), *zip(names, (r.data for r in renditions), strict=True)],
                written,
            )
            entries = [
                media_files.rendition_entry(name, r)
                for name, r in zip(names, renditions, strict=True)
            ]
            item.file.name = entries[0]["file"]
            item.renditions = entries
            fields = ["original", "file", "renditions"]
            if inline:
                item.status, item.attempts = MediaItem.Status.READY, 1
                fields += ["status", "attempts"]
            item.save(update_fields=fields)
            if not inline:
                # Outbox-aware and robust: a queue that is down after the commit must not
                # reach the `except` below, which would delete the files of a saved item.
                # The item stays pending; retry-renditions enqueues it again.
                enqueue_on_commit(make_media_renditions, item.pk)
    except IntegrityError:
        # The same person uploaded the same bytes at the same moment: theirs won.
        media_files.delete_quietly(store, written)
        existing = MediaItem.objects.filter(uploaded_by=by, sha256=inspected.sha256).first()
        if existing is None:
            raise
        return existing, False
    except BaseException:
        media_files.delete_quietly(store, written)
        raise
    logger.info(
        "media %s uploaded by %s (%s bytes; row and %d files stored in %.2f s)",
        item.pk,
        by.pk,
        len(data),
        len(written),
        time.monotonic() - storing,
    )
    return item, True


def _store_file(file, data: bytes, *, by, title: str, caption: str) -> MediaItem:
    """A file that is not an image (PDF, audio, video, a document): checked by name and
    content (media_store/documents.py) within the same size limit, stored publicly as it
    came, with no renditions. Same bytes from the same person: media_upload answered."""
    try:
        file_type, extension = documents.inspect_document(file.name, data)
    except documents.DocumentRejected as exc:
        raise ValidationError(str(exc)) from None
    title = (title or _default_title(file)).strip()[:200]
    backend = settings.MEDIA_BACKEND
    store = media_files.storage(backend)
    written: list[str] = []
    try:
        with transaction.atomic():
            item = MediaItem.objects.create(
                kind=file_type.kind,
                store=backend,
                title=title,
                caption=caption.strip(),
                mime_type=file_type.mime_type.split(";")[0],
                byte_size=len(data),
                sha256=media_files.sha256(data),
                uploaded_by=by,
                status=MediaItem.Status.READY,
            )
            base = media_files.stem(pk=item.pk, created_at=item.created_at, label=title)
            item.file.name = f"{base}.{extension}"
            media_files.put_all(store, [(item.file.name, data)], written)
            item.save(update_fields=["file"])
    except BaseException:
        media_files.delete_quietly(store, written)
        raise
    logger.info("media %s (%s, %s bytes) uploaded by %s", item.pk, item.kind, len(data), by.pk)
    return item


@transaction.atomic
def media_update(*, item: MediaItem, by, title: str, alt_text: str, caption: str) -> MediaItem:
    if not media_can_edit(user=by, item=item):
        raise PermissionDenied("You may not edit this media item.")
    item.title = title.strip()[:200]
    item.alt_text = alt_text.strip()[:300]
    item.caption = caption.strip()
    item.save(update_fields=["title", "alt_text", "caption"])
    pages_changed()  # alt text and captions show on pages
    return item


def media_delete(*, item: MediaItem, by) -> None:
    """Delete the row now and its files once that has committed."""
    if not media_can_delete(user=by, item=item):
        raise PermissionDenied("You may not delete this media item.")
    names = [item.original, *(r["file"] for r in item.renditions)]
    if not item.is_image:
        names.append(item.file.name)
    store = media_files.storage(item.store)
    with transaction.atomic():
        item.delete()
        transaction.on_commit(lambda: media_files.delete_quietly(store, [n for n in names if n]))
        transaction.on_commit(pages_changed)


# --- Which items a user may show --------------------------------------------


def media_unusable(*, ids: set[int], by) -> tuple[list[int], list[int]]:
    """Of `ids`, those that do not exist and those `by` may not show, each sorted."""
    items = MediaItem.objects.in_bulk(ids)
    missing = sorted(ids - items.keys())
    refused = sorted(pk for pk, item in items.items() if not media_can_use(user=by, item=item))
    return missing, refused
