"""Files of media items in the stores: names, idempotent writes, hash-verified copies.

The pipeline and the storage backends live in `media_store`; this module decides where
each file of an item goes and writes it so that running the same step twice, or two
workers running it at once, ends with the same files under the same names.

Names: `YYYY/MM/<id>-<slug>.<ext>` for the cleaned "full" image,
`YYYY/MM/<id>-<slug>-<size>.<ext>` for the other sizes (the WebP twin of a size has
the same name with `.webp`), and `private/YYYY/MM/<id>-<slug>.<ext>` for the original
upload, which is never given a URL. The id makes names unique across instances
without asking the store; the storage refuses to overwrite in any case.
"""

from __future__ import annotations

import hashlib
import logging
from concurrent.futures import ThreadPoolExecutor, wait
from functools import cache

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import FileSystemStorage, Storage, default_storage
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.utils.text import slugify

from media_store import images
from media_store.limits import configured_limits
from media_store.stores import storage_for

logger = logging.getLogger(__name__)

PRIVATE_PREFIX = "private/"
_PARALLEL_WRITES = 8
WEBP_SUFFIX = images.WEBP_SUFFIX


class StoreConflict(Exception):
    """A different file already holds the name we must write: refuse, never overwrite."""


def limits() -> images.Limits:
    """The pipeline's limits from the MEDIA_MAX_* settings."""
    return configured_limits()


@cache
def _other_storage(store: str) -> Storage:
    return storage_for(store)


@receiver(setting_changed)
def _forget_storages(*, setting, **kwargs) -> None:
    if setting.startswith(("MEDIA_", "STORAGES", "AWS_")):
        _other_storage.cache_clear()


def storage(store: str) -> Storage:
    """The storage for `store`: the site's default storage when it is the active backend."""
    if store == settings.MEDIA_BACKEND:
        return default_storage
    return _other_storage(store)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def stem(*, pk: int, created_at, label: str) -> str:
    slug = slugify(label)[:60].strip("-") or "image"
    return f"{created_at:%Y/%m}/{pk}-{slug}"


def rendition_name(base: str, rendition: images.Rendition) -> str:
    size = rendition.name.removesuffix(WEBP_SUFFIX)
    if size == "full":
        return f"{base}.{rendition.extension}"
    return f"{base}-{size}.{rendition.extension}"


def original_name(base: str, extension: str) -> str:
    return f"{PRIVATE_PREFIX}{base}.{extension}"


def read(store: Storage, name: str) -> bytes:
    with store.open(name, "rb") as handle:
        return handle.read()


def put(store: Storage, name: str, data: bytes) -> None:
    """Write `data` at exactly `name`, or find it already there; never overwrite.

    Idempotent: when the name holds the same bytes (an earlier run, or another worker
    that got there first) nothing is written. Different bytes raise StoreConflict.
    """
    digest = sha256(data)
    if store.exists(name):
        if sha256(read(store, name)) != digest:
            raise StoreConflict(f"{name} already exists with different content")
        return
    saved = store.save(name, ContentFile(data))
    if saved != name:
        # Someone wrote the name between our check and our save, and the storage kept
        # both: drop our copy if theirs is the same, otherwise refuse.
        store.delete(saved)
        if sha256(read(store, name)) != digest:
            raise StoreConflict(f"{name} was written concurrently with different content")


def put_all(store: Storage, files: list[tuple[str, bytes]], written: list[str]) -> None:
    """`put` each (name, data), several at once; `written` gets every name that was written.

    A POSIX store's latency is per file (an fsync and a directory fsync), so an upload's
    15 files go side by side. S3 stays one at a time: django-storages keeps a boto3
    connection per thread, and a fresh thread's costs more than the round trips saved.
    Every write is finished before the first error is raised, so that `written` lists
    all there is to undo.
    """

    def one(name: str, data: bytes) -> None:
        put(store, name, data)
        written.append(name)  # list.append is atomic

    workers = _PARALLEL_WRITES if isinstance(store, FileSystemStorage) else 1
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(one, name, data) for name, data in files]
        wait(futures)
    for future in futures:
        future.result()


def delete_quietly(store: Storage, names) -> None:
    """Best-effort removal (undoing a failed upload, deleting an item)."""
    for name in names:
        try:
            store.delete(name)
        except Exception:
            logger.exception("could not delete %s", name)


def rendition_entry(name: str, rendition: images.Rendition) -> dict:
    return {
        "name": rendition.name,
        "file": name,
        "width": rendition.width,
        "height": rendition.height,
        "mime_type": rendition.mime_type,
        "bytes": len(rendition.data),
        "sha256": sha256(rendition.data),
    }
