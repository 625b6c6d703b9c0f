"""Attachments into the media library, through the same service as an upload (so the same
checks and renditions; files that are not images, such as PDFs or audio, the same checks
of name and content and no renditions), from a copy of wp-content/uploads or, when asked,
over HTTP."""

from __future__ import annotations

import io
import re
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.core.exceptions import ValidationError

from media_library.models import MediaItem
from media_library.services import (
    UploadsBusy,
    media_can_add,
    media_image_process,
    media_upload,
)
from media_store.documents import is_document_name
from wordpress.importer import Kind, State, author_for, step
from wordpress.models import ImportedItem
from wordpress.wxr import IMAGE_SUFFIXES, Item, upload_path

# An import waits for a processing slot (about 2 s each try) rather than fail the image.
_BUSY_ATTEMPTS = 30
_SIZE_SUFFIX = re.compile(r"-\d+x\d+(?=\.\w+$)")


def old_url_key(url: str) -> str:
    """An attachment URL without scheme or size suffix, as content may name it."""
    parts = urlsplit(url)
    return f"//{parts.netloc.lower()}{_SIZE_SUFFIX.sub('', unquote(parts.path))}"


def _local_file(state: State, rel: str) -> bytes:
    root = state.options.media_dir.resolve()
    path = (root / rel).resolve()
    if not path.is_relative_to(root):
        raise ValidationError(f"{rel!r} points outside --media-dir")
    if not path.is_file():
        raise ValidationError(f"{rel} is not in --media-dir")
    limit = state.options.fetch_max_bytes
    if path.stat().st_size > limit:
        raise ValidationError(f"{rel} is larger than {limit / 1e6:g} MB")
    return path.read_bytes()


def _fetch(state: State, item: Item) -> bytes:
    from wordpress.fetch import fetch

    return fetch(
        item.attachment_url or item.guid,
        max_bytes=state.options.fetch_max_bytes,
        timeout=state.options.fetch_timeout,
        site_url=state.info.base_site_url or state.info.link,
    )


def _source(state: State, item: Item) -> tuple[str, str]:
    """(the upload path, where its bytes come from): "known" (imported before), "type"
    (not a kind the library takes), "local" (--media-dir), "fetch" or "none"."""
    options = state.options
    rel = upload_path(item)
    if item.wp_id in state.media:
        return rel, "known"
    if PurePosixPath(rel).suffix.lower() not in IMAGE_SUFFIXES and not is_document_name(rel):
        return rel, "type"
    if options.media_dir is not None and (options.media_dir / rel).is_file():
        return rel, "local"
    if options.fetch_media:
        return rel, "fetch"
    # Not there: _local_file says so, for this record alone.
    return rel, "local" if options.media_dir is not None else "none"


def _read(state: State, item: Item, rel: str, source: str) -> bytes:
    return _local_file(state, rel) if source == "local" else _fetch(state, item)


def _processed(data: bytes):
    """media_image_process, waiting for a slot the web tier's uploads hold a moment."""
    for _attempt in range(_BUSY_ATTEMPTS):
        try:
            return media_image_process(data)
        except UploadsBusy:
            time.sleep(UploadsBusy.retry_after)
    return media_image_process(data)


def _read_and_process(state: State, item: Item, rel: str, source: str):
    """(bytes, the pipeline's result or the error it raised; None for a document)."""
    data = _read(state, item, rel, source)
    if is_document_name(rel):
        return data, None
    try:
        return data, _processed(data)
    except (ValidationError, UploadsBusy) as exc:
        return data, exc


class Ahead:
    """The next attachments read (or fetched) and their images put through the upload
    pipeline a few at a time, in threads, while the import stores the ones before them.

    An image costs the import a fork and a wait on the pipeline's child process for a
    tenth of a second of work; with MEDIA_UPLOAD_SLOTS of them in flight those waits
    overlap and both cores work. Nothing here touches the database, and the import
    stores each file in file order as before, through media_upload(process=...), which
    checks that the result is of the same bytes. Nothing is reported from here: a
    refusal ahead is raised when media_upload asks for the result (after its check for
    the same file uploaded before, as one by one), a failed read is read again.
    """

    def __init__(self, state: State) -> None:
        self.state = state
        self.window = 2 * settings.MEDIA_UPLOAD_SLOTS
        self.pool = ThreadPoolExecutor(settings.MEDIA_UPLOAD_SLOTS, "wxr-media")
        self.waiting: deque[tuple[Item, str, str]] = deque()
        self.started: dict[int, Future] = {}
        self.seen: set[int] = set()

    def add(self, batch: list) -> None:
        for record in batch:
            if isinstance(record, Item) and record.type == "attachment":
                rel, source = _source(self.state, record)
                if source in ("local", "fetch") and record.wp_id not in self.seen:
                    self.seen.add(record.wp_id)  # twice in the file: imported once
                    self.waiting.append((record, rel, source))
        self._fill()

    def _fill(self) -> None:
        while self.waiting and len(self.started) < self.window:
            item, rel, source = self.waiting.popleft()
            future = self.pool.submit(_read_and_process, self.state, item, rel, source)
            self.started[id(item)] = future

    def take(self, item: Item):
        """(bytes, the pipeline's result or error, or None) for `item`; None: read it here
        (a read that failed ahead fails again, for this record alone)."""
        future = self.started.pop(id(item), None)
        self._fill()
        if future is None:
            return None
        try:
            return future.result()
        except ValidationError:
            return None

    def forget(self, item: Item) -> None:
        future = self.started.pop(id(item), None)
        if future is not None:
            future.cancel()
            self._fill()

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


def _import_attachment(state: State, item: Item, ahead: Ahead | None) -> None:
    report, options = state.report, state.options
    rel, source = _source(state, item)
    if ahead is not None and source not in ("local", "fetch"):
        ahead.forget(item)  # the same attachment twice in the file: the first one is in
    if source == "known":
        report.add("attachment", "skipped")
        return
    if source == "type":
        report.add("attachment", "skipped")
        report.note("attachments of a type the library does not accept skipped")
        return
    if source == "none":
        report.add("attachment", "skipped")
        report.note("attachments skipped: give --media-dir (or --fetch-media) to import them")
        return
    read = ahead.take(item) if ahead is not None else None
    data, processed = read if read is not None else (_read(state, item, rel, source), None)

    def process(_data: bytes):
        # Asked by media_upload only where it would run the pipeline itself: a refusal
        # ahead is reported here, in file order, as if it had run now.
        if isinstance(processed, Exception):
            raise processed
        return processed

    if options.dry_run:
        report.add("attachment", "created")
        return
    owner = author_for(state, item.creator)
    if not media_can_add(user=owner):
        owner = state.by
    upload = io.BytesIO(data)
    upload.name, upload.size = PurePosixPath(rel).name, len(data)
    media, created = media_upload(
        file=upload,
        by=owner,
        title=item.title.strip()[:200],
        alt_text=item.meta.get("_wp_attachment_image_alt", "")[:300],
        caption=item.excerpt.strip(),
        process=process,
    )
    meta = {"parent": item.parent} if item.parent else {}
    if item.attachment_url:
        meta["url"] = old_url_key(item.attachment_url)
    ImportedItem.objects.create(
        site=state.site,
        kind=Kind.ATTACHMENT,
        wp_id=item.wp_id,
        guid=item.guid[:500],
        old_slug=unquote(item.slug)[:200],
        old_path=rel[:500],
        media=media,
        meta=meta,
    )
    state.media[item.wp_id] = media.pk
    state.media_paths[rel] = media.pk
    report.add("attachment", "created" if created else "skipped")


def import_attachment(state: State, item: Item, ahead: Ahead | None = None) -> None:
    step(
        state,
        "attachment",
        item.wp_id,
        item.title,
        lambda: _import_attachment(state, item, ahead),
    )


def load_media_maps(state: State) -> None:
    """After the attachments: each post's attachments (for [gallery]) and the new URLs."""
    rows = list(
        ImportedItem.objects.filter(
            site=state.site, kind=Kind.ATTACHMENT, media__isnull=False
        ).values_list("wp_id", "media_id", "old_path", "meta")
    )
    for wp_id, media_pk, path, meta in rows:
        state.media[wp_id] = media_pk
        if path:
            state.media_paths[path] = media_pk
        if meta.get("url"):
            state.media_by_url[meta["url"]] = media_pk
    items = MediaItem.objects.in_bulk(set(state.media.values()))
    for pk, media in items.items():
        state.media_urls[pk] = media.get_absolute_url()
        if not media.is_image:
            state.media_files.add(pk)  # linked to, never shown as an image
    for _wp_id, media_pk, _path, meta in rows:
        if meta.get("parent") and media_pk not in state.media_files:
            state.media_children[meta["parent"]].append(media_pk)


def media_root_given(path: str | None) -> Path | None:
    if not path:
        return None
    root = Path(path)
    if not root.is_dir():
        raise ValidationError(f"--media-dir {path} is not a directory")
    return root
