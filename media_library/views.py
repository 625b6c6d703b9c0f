"""Serving public media files from a POSIX store when nothing in front of Django does.

Production puts nginx (EFS/EBS, ami/files/nginx/cloudblog.conf) or S3/CloudFront in front
of `/media/`; the embedded site (`make run`) and a bare gunicorn have only Django, so
this view serves the public files of the `local`, `efs` and `ebs` stores itself, with
the same rules as nginx: never anything under `private/` (the untouched originals),
never a hidden file (a store's `.upload-*.part`), only the image types the pipeline
writes and the file types media_store/documents.py accepts, each with its own
Content-Type and `nosniff` (files a browser does not show itself as downloads), and
never a path outside MEDIA_ROOT.

Every public name is written once and never overwritten (media_store/stores.py), so a
URL always means the same bytes: browsers may keep a file for a year without asking
again (`immutable`). ETag and Last-Modified come from the file's size and mtime, so
conditional GETs get a 304 from any instance sharing the store.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.http import FileResponse, Http404
from django.utils._os import safe_join
from django.views.decorators.http import condition, require_safe

from media_library.files import PRIVATE_PREFIX
from media_store import documents

# What the pipeline writes (media_store.decode.FORMATS); anything else is not ours.
CONTENT_TYPES = {
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".gif": "image/gif",
    ".webp": "image/webp",
    ".avif": "image/avif",
}
POSIX_STORES = ("local", "efs", "ebs")
# As nginx's /media/ location: an image opened directly can run nothing.
MEDIA_CSP = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"
CACHE_CONTROL = "public, max-age=31536000, immutable"


def _public_path(name: str) -> str:
    """The file behind a public media name, or Http404."""
    if settings.MEDIA_BACKEND not in POSIX_STORES:
        raise Http404("media is not served from this store")
    parts = PurePosixPath(name).parts
    if (
        not parts
        or parts[0] == "/"
        or any(part in ("", ".", "..") or part.startswith(".") for part in parts)
        # Any case: a laptop's disk may be case-insensitive (macOS), and Private/ is private/.
        or parts[0].lower() == PRIVATE_PREFIX.rstrip("/")
        or (
            PurePosixPath(name).suffix.lower() not in CONTENT_TYPES
            and documents.content_type(name) is None
        )
    ):
        raise Http404("no such media file")
    root = os.path.realpath(settings.MEDIA_ROOT)
    try:
        path = safe_join(root, name)
    except SuspiciousFileOperation:
        raise Http404("no such media file") from None
    # A symlink inside the store must not lead out of it, or into private/.
    real = os.path.realpath(path)
    relative = os.path.relpath(real, root)
    if relative.lower().startswith(("..", PRIVATE_PREFIX)) or not os.path.isfile(real):
        raise Http404("no such media file")
    return real


def _etag(request, name: str) -> str:
    stat = os.stat(_public_path(name))
    return f'"{stat.st_size:x}-{stat.st_mtime_ns:x}"'


def _last_modified(request, name: str) -> datetime:
    return datetime.fromtimestamp(int(os.stat(_public_path(name)).st_mtime), tz=UTC)


def _media_headers(view):
    """The same headers on a 200 and a 304, as a cache expects."""

    def wrapped(request, name: str):
        response = view(request, name)
        response["Cache-Control"] = CACHE_CONTROL
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = MEDIA_CSP
        return response

    return wrapped


@require_safe
@_media_headers
@condition(etag_func=_etag, last_modified_func=_last_modified)
def media_file(request, name: str):
    path = _public_path(name)
    content_type = CONTENT_TYPES.get(PurePosixPath(path).suffix.lower())
    if content_type is not None:
        return FileResponse(open(path, "rb"), content_type=content_type)
    # A file that is not an image: its exact type; shown by the browser (PDF, audio,
    # video) or offered as a download, never opened as a page of the site.
    file_type = documents.content_type(path)
    response = FileResponse(
        open(path, "rb"),  # noqa: SIM115  FileResponse closes it
        content_type=file_type.mime_type,
        as_attachment=not file_type.inline,
        filename=PurePosixPath(path).name,
    )
    return response
