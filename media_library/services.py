"""Media library actions with rules: upload, edit, delete, and which posts may show what.

As in blog's services: keyword-only functions named noun_verb, PermissionDenied for
"not allowed", ValidationError (with the pipeline's own message) for "not valid", and
nothing half-written when they raise: no row without its files, no files without a row.
Authors see, use and edit their own uploads; editors (edit_others_posts) all of them.
"""

from __future__ import annotations

import logging
import re
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from media_library import files as media_files
from media_library.models import MediaItem
from media_library.tasks import make_media_renditions
from media_store import images
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


def media_upload(
    *, file, by, title: str = "", alt_text: str = "", caption: str = ""
) -> tuple[MediaItem, bool]:
    """Store an uploaded image; returns (item, created).

    The same bytes uploaded again by the same person return the existing item
    (created=False). The upload is validated by content, its original stored privately,
    the cleaned "full" image stored publicly, and the other sizes made by a task after
    commit (media_library/tasks.py); until then pages show the "full" image.
    """
    if not media_can_add(user=by):
        raise PermissionDenied("You may not upload media.")
    limits = media_files.limits()
    data = _read_upload(file, limits)
    try:
        inspected = images.inspect(data, limits)
    except images.ImageRejected as exc:
        raise ValidationError(str(exc)) from None
    existing = MediaItem.objects.filter(uploaded_by=by, sha256=inspected.sha256).first()
    if existing is not None:
        return existing, False
    try:
        # Only "full" (and its WebP twin) now, so that a page can show the image at once;
        # the task makes the other sizes.
        full = images.make_full(data, limits)
    except images.ImageRejected as exc:
        raise ValidationError(str(exc)) from None

    title = (title or _default_title(file)).strip()[:200]
    backend = settings.MEDIA_BACKEND
    store = media_files.storage(backend)
    written: list[str] = []
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
            media_files.put(store, item.original, data)
            written.append(item.original)
            entries = []
            for rendition in full:
                name = media_files.rendition_name(base, rendition)
                media_files.put(store, name, rendition.data)
                written.append(name)
                entries.append(media_files.rendition_entry(name, rendition))
            item.file.name = entries[0]["file"]
            item.renditions = entries
            item.save(update_fields=["original", "file", "renditions"])
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
    logger.info("media %s uploaded by %s (%s bytes)", item.pk, by.pk, len(data))
    return item, True


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
