"""Where uploaded media lives: the four MEDIA_BACKEND stores as Django storages.

- `local` (var/media), `efs` (a shared NFS mount) and `ebs` (this instance's disk)
  are POSIX directories behind `AtomicFileSystemStorage`: a file appears complete
  or not at all, and an existing name is never overwritten, even by another
  instance writing to the same EFS directory at the same moment.
- `s3` is django-storages' S3 backend on a private bucket (no ACL, presigned
  URLs) or behind a CDN (MEDIA_URL's host becomes the custom domain), with
  conditional puts so that two instances can never overwrite each other's object.

Callers choose names (`2026/11/42-sunset.jpg`); a taken name gets a random suffix.
"""

from __future__ import annotations

import logging
import os
import tempfile
import threading
from contextlib import suppress
from urllib.parse import urlsplit

from botocore.exceptions import ClientError
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.storage import FileSystemStorage, Storage
from django.utils._os import safe_makedirs
from django.utils.deconstruct import deconstructible
from django.utils.http import content_disposition_header
from storages.backends.s3 import S3Storage
from storages.utils import clean_name

import awsenv
from media_store import documents

logger = logging.getLogger(__name__)
# Two first probes at once build one shared client, not two.
_CLIENT_LOCK = threading.Lock()

BACKENDS = ("local", "efs", "ebs", "s3")
# Objects up to this size go up in one conditional PutObject (S3 allows 5 GB);
# media uploads are capped far below it by MEDIA_MAX_BYTES.
_SINGLE_PUT_MAX = 512 * 1024 * 1024
# Random suffixes make a second collision near impossible; this only bounds a bug.
_ATTEMPTS = 20


def _another_name(storage: Storage, name: str) -> str:
    """`2026/11/a.jpg` -> `2026/11/a_x7Gk2Qp.jpg`, without asking whether it exists.

    The atomic create is the existence test; asking first (get_available_name) could
    loop for ever when a cached or lagging answer says "free" and the create says "taken".
    """
    directory, file_name = os.path.split(name)
    root, ext = os.path.splitext(file_name)
    return os.path.join(directory, storage.get_alternative_name(root, ext)).replace("\\", "/")


def _umask() -> int:
    # os.umask() can only be read by setting it, which races with other threads.
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _fsync_dir(directory: str) -> None:
    # The new directory entry must survive a crash too, not only the data.
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@deconstructible(path="media_store.stores.AtomicFileSystemStorage")
class AtomicFileSystemStorage(FileSystemStorage):
    """FileSystemStorage whose files appear whole, and never over an existing one.

    A save writes a temporary file in the target directory, fsyncs it, then hard-links
    it to the final name: link() is atomic and fails when the name exists, locally and
    on NFS (EFS), so a reader never sees a partial file and two writers (threads or
    instances) never overwrite each other; the loser takes another name.
    """

    def __init__(self, *args, allow_overwrite: bool = False, **kwargs) -> None:
        if allow_overwrite:
            raise ImproperlyConfigured("AtomicFileSystemStorage never overwrites files")
        super().__init__(*args, allow_overwrite=False, **kwargs)

    def _save(self, name: str, content) -> str:
        full_path = self.path(name)
        directory = os.path.dirname(full_path)
        try:
            if self.directory_permissions_mode is not None:
                safe_makedirs(directory, self.directory_permissions_mode, exist_ok=True)
            else:
                os.makedirs(directory, exist_ok=True)
        except FileExistsError:
            raise FileExistsError(f"{directory} exists and is not a directory.") from None

        fd, temp_path = tempfile.mkstemp(dir=directory, prefix=".upload-", suffix=".part")
        try:
            with os.fdopen(fd, "wb") as temp:
                for chunk in content.chunks():
                    temp.write(chunk if isinstance(chunk, bytes) else chunk.encode())
                temp.flush()
                os.fsync(temp.fileno())
            mode = self.file_permissions_mode
            os.chmod(temp_path, mode if mode is not None else 0o666 & ~_umask())
            for _attempt in range(_ATTEMPTS):
                try:
                    os.link(temp_path, full_path)
                except FileExistsError:
                    name = _another_name(self, name)
                    full_path = self.path(name)
                else:
                    break
            else:
                raise FileExistsError(f"no free name found near {name}")
            _fsync_dir(os.path.dirname(full_path))
        finally:
            with suppress(FileNotFoundError):
                os.unlink(temp_path)

        self._ensure_location_group_id(full_path)
        return os.path.relpath(full_path, self.location).replace("\\", "/")


class _NameTaken(Exception):
    pass


def _custom_domain(media_url: str | None) -> tuple[str | None, str]:
    """`https://cdn.example.com/media/` -> ("cdn.example.com/media", "https:")."""
    if not media_url:
        return None, "https:"
    parts = urlsplit(media_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None, "https:"
    return f"{parts.netloc}{parts.path.rstrip('/')}", f"{parts.scheme}:"


@deconstructible(path="media_store.stores.S3MediaStorage")
class S3MediaStorage(S3Storage):
    """A private bucket (MEDIA_S3_BUCKET): no ACL, presigned URLs, no overwrite.

    With an absolute MEDIA_URL (a CDN such as CloudFront with origin access control)
    URLs point at it and are not signed; the bucket itself stays private.
    """

    def get_default_settings(self) -> dict:
        defaults = super().get_default_settings()
        domain, protocol = _custom_domain(getattr(settings, "MEDIA_URL", None))
        defaults.update(
            bucket_name=getattr(settings, "MEDIA_S3_BUCKET", None),
            default_acl=None,
            querystring_auth=True,
            file_overwrite=False,
            # boto3 would presign with SigV2 at some endpoints; regions since 2014 need v4.
            signature_version="s3v4",
            custom_domain=domain,
            url_protocol=protocol,
            # Read when the storage is built, so tests (moto) and user-data agree.
            **awsenv.client_options(),
        )
        return defaults

    @property
    def shared_client(self):
        """An S3 client for any thread, made once per storage (boto3's clients are
        thread-safe). `connection` is django-storages' per-thread resource: code that runs
        in a fresh thread each time (the readiness probe) would build a session and load
        S3's service model on every call, about a second of CPU on a loaded machine."""
        with _CLIENT_LOCK:
            if "_shared_client" not in self.__dict__:
                self.__dict__["_shared_client"] = self.connection.meta.client
            return self.__dict__["_shared_client"]

    def __getstate__(self):
        state = super().__getstate__()
        state.pop("_shared_client", None)  # rebuilt where it is unpickled
        return state

    def get_object_parameters(self, name: str) -> dict:
        """A file that is not an image gets its exact type, and is a download unless a
        browser shows it itself (media_store/documents.py), as the other stores serve it:
        S3 answers GETs with what the object was put with, so the headers are set here,
        once, for the bucket's direct URLs and a CDN in front alike."""
        params = super().get_object_parameters(name)
        file_type = documents.content_type(name)
        if file_type is not None:
            params["ContentType"] = file_type.mime_type
            if not file_type.inline:
                params["ContentDisposition"] = content_disposition_header(
                    True, os.path.basename(name)
                )
        return params

    def _save(self, name: str, content) -> str:
        size = getattr(content, "size", None)
        if size is not None and size > _SINGLE_PUT_MAX:
            # Multipart uploads cannot be conditional; fall back to check-then-write.
            return super()._save(self.get_available_name(name), content)
        for _attempt in range(_ATTEMPTS):
            try:
                return self._put_if_absent(name, content)
            except _NameTaken:
                name = _another_name(self, name)
        raise FileExistsError(f"no free name found near {name}")

    def _put_if_absent(self, name: str, content) -> str:
        cleaned = clean_name(name)
        key = self._normalize_name(cleaned)
        params = self._get_write_parameters(key, content)
        if hasattr(content, "seek"):
            with suppress(OSError, ValueError):
                content.seek(0)
        body = content.read()
        if isinstance(body, str):
            body = body.encode()
        try:
            # If-None-Match: * makes S3 refuse (412) when the key exists: no other
            # instance's object is ever replaced, with no race between check and write.
            self.connection.meta.client.put_object(
                Bucket=self.bucket_name, Key=key, Body=body, IfNoneMatch="*", **params
            )
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code")
            status = err.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("PreconditionFailed", "ConditionalRequestConflict") or status == 412:
                raise _NameTaken(key) from None
            raise
        return cleaned


def storage_for(backend: str, **options) -> Storage:
    """A new storage for `backend`, configured from Django settings (options override).

    `default_storage` is the one for settings.MEDIA_BACKEND; this builds any of them,
    for a migration between stores or a readiness probe.
    """
    if backend in ("local", "efs", "ebs"):
        return AtomicFileSystemStorage(**options)
    if backend == "s3":
        if not options.get("bucket_name") and not getattr(settings, "MEDIA_S3_BUCKET", None):
            raise ImproperlyConfigured("the s3 media store needs MEDIA_S3_BUCKET")
        return S3MediaStorage(**options)
    raise ImproperlyConfigured(f"unknown media store {backend!r}: use one of {', '.join(BACKENDS)}")
