"""Attachments into the media library, through the same service as an upload (so the same
checks and renditions; files that are not images, such as PDFs or audio, the same checks
of name and content and no renditions), from a copy of wp-content/uploads or, when asked,
over HTTP."""

from __future__ import annotations

import io
import re
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from django.core.exceptions import ValidationError

from media_library.models import MediaItem
from media_library.services import media_can_add, media_upload
from media_store.documents import is_document_name
from wordpress.importer import Kind, State, author_for, step
from wordpress.models import ImportedItem
from wordpress.wxr import IMAGE_SUFFIXES, Item, upload_path

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


def _import_attachment(state: State, item: Item) -> None:
    report, options = state.report, state.options
    rel = upload_path(item)
    if item.wp_id in state.media:
        report.add("attachment", "skipped")
        return
    if PurePosixPath(rel).suffix.lower() not in IMAGE_SUFFIXES and not is_document_name(rel):
        report.add("attachment", "skipped")
        report.note("attachments of a type the library does not accept skipped")
        return
    if options.media_dir is not None and (options.media_dir / rel).is_file():
        data = _local_file(state, rel)
    elif options.fetch_media:
        data = _fetch(state, item)
    elif options.media_dir is not None:
        data = _local_file(state, rel)  # raises: not there
    else:
        report.add("attachment", "skipped")
        report.note("attachments skipped: give --media-dir (or --fetch-media) to import them")
        return
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


def import_attachment(state: State, item: Item) -> None:
    step(state, "attachment", item.wp_id, item.title, lambda: _import_attachment(state, item))


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
