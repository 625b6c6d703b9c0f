"""The media store's readiness probe (webtier/health.py runs it with a timeout)."""

from __future__ import annotations

import socket
import uuid
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage

from media_store.checks import efs_mount_problem


class StoreNotReady(Exception):
    """The store answered, but not as a ready instance needs."""


def prepare() -> None:
    """Build the S3 client the probe uses (a boto3 session and S3's service model: up to
    a second of CPU on a loaded machine), so that a first probe times S3, not that."""
    if settings.MEDIA_BACKEND == "s3":
        default_storage.shared_client  # noqa: B018 (built and kept by the property)


def probe(storage: Storage | None = None, backend: str | None = None) -> str:
    """Write, read back and delete a small file (S3: head_bucket); a detail string or raise."""
    backend = backend or settings.MEDIA_BACKEND
    storage = storage or default_storage
    if backend == "s3":
        bucket = storage.bucket_name
        # Raises ClientError (403/404) or a connection error: reported as the failure.
        # The storage's shared client: the probe runs in a new thread every time.
        storage.shared_client.head_bucket(Bucket=bucket)
        return f"s3: bucket {bucket} reachable"
    if backend == "efs":
        problem = efs_mount_problem()
        if problem:
            raise StoreNotReady(problem)
    root = Path(storage.location)
    # The storage would create a missing root: an unmounted volume must fail instead.
    if not root.exists():
        raise StoreNotReady(f"MEDIA_ROOT {root} does not exist (is the volume mounted?)")
    if not root.is_dir():
        raise StoreNotReady(f"MEDIA_ROOT {root} is not a directory")
    token = uuid.uuid4().hex
    payload = token.encode()
    # At the top level, so that the probe leaves no directory behind.
    name = storage.save(f".readyz-{socket.gethostname()}-{token}", ContentFile(payload))
    try:
        with storage.open(name, "rb") as probe_file:
            if probe_file.read() != payload:
                raise StoreNotReady("the probe file read back different bytes")
    finally:
        storage.delete(name)
    return f"{backend}: {storage.location} write+read+delete ok"
