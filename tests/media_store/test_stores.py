"""The four media stores: files appear whole, and a taken name is never overwritten."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
import time
from urllib.parse import parse_qs, urlsplit

import boto3
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile, File
from django.core.files.storage import FileSystemStorage, default_storage

from media_store.stores import AtomicFileSystemStorage, S3MediaStorage, storage_for

BUCKET = "cloudblog-media"


class SlowFile(File):
    """A large upload that arrives in chunks, slowly, like a real request body."""

    def __init__(self, chunks: int, chunk_size: int, pause: float) -> None:
        super().__init__(None, name="big.bin")
        self.chunk_count, self.chunk_size, self.pause = chunks, chunk_size, pause
        self.size = chunks * chunk_size

    def chunks(self, chunk_size=None):
        for index in range(self.chunk_count):
            time.sleep(self.pause)
            yield bytes([index % 256]) * self.chunk_size

    def expected_digest(self) -> str:
        digest = hashlib.sha256()
        for index in range(self.chunk_count):
            digest.update(bytes([index % 256]) * self.chunk_size)
        return digest.hexdigest()


def _watch(path: str, stop: threading.Event, seen: list) -> None:
    """Poll `path` until stopped; record the size of every non-empty state seen."""
    while not stop.is_set():
        with contextlib.suppress(FileNotFoundError):
            seen.append(os.path.getsize(path))
        time.sleep(0.0005)


def _write_while_watching(storage, settings) -> tuple[str, list[int], SlowFile]:
    content = SlowFile(chunks=24, chunk_size=1024 * 1024, pause=0.01)
    target = os.path.join(settings.MEDIA_ROOT, "2026", "11", "7-big.bin")
    os.makedirs(os.path.dirname(target), exist_ok=True)
    stop, seen = threading.Event(), []
    reader = threading.Thread(target=_watch, args=(target, stop, seen))
    reader.start()
    try:
        name = storage.save("2026/11/7-big.bin", content)
        time.sleep(0.05)  # let the reader look at the finished file too
    finally:
        stop.set()
        reader.join()
    return name, seen, content


@pytest.mark.parametrize("backend", ["local", "efs", "ebs"])
def test_posix_stores_save_read_and_delete_under_media_root(backend, settings):
    storage = storage_for(backend)

    name = storage.save("2026/11/42-sunset.jpg", ContentFile(b"jpeg bytes"))

    assert isinstance(storage, AtomicFileSystemStorage)
    assert name == "2026/11/42-sunset.jpg"
    assert (settings.MEDIA_ROOT / name).read_bytes() == b"jpeg bytes"
    assert storage.url(name) == "/media/2026/11/42-sunset.jpg"
    storage.delete(name)
    assert not storage.exists(name)


def test_the_default_storage_is_the_atomic_one(settings):
    assert isinstance(default_storage, AtomicFileSystemStorage)


def test_a_reader_never_sees_a_partial_file(settings):
    name, seen, content = _write_while_watching(storage_for("local"), settings)

    assert seen, "the reader saw the finished file at least once"
    assert set(seen) == {content.size}
    digest = hashlib.sha256((settings.MEDIA_ROOT / name).read_bytes()).hexdigest()
    assert digest == content.expected_digest()
    leftovers = [
        p for p in (settings.MEDIA_ROOT / "2026" / "11").iterdir() if p.name != "7-big.bin"
    ]
    assert leftovers == []


def test_the_watcher_does_catch_partial_files_from_the_stock_storage(settings):
    # Shows the reader above is able to see a partial file when there is one.
    _, seen, content = _write_while_watching(FileSystemStorage(), settings)

    assert any(size < content.size for size in seen)


def test_a_taken_name_is_never_overwritten(settings):
    storage = storage_for("efs")
    first = storage.save("2026/11/42-sunset.jpg", ContentFile(b"first"))

    second = storage.save("2026/11/42-sunset.jpg", ContentFile(b"second"))

    assert first != second
    assert second.startswith("2026/11/42-sunset_") and second.endswith(".jpg")
    assert storage.open(first).read() == b"first"
    assert storage.open(second).read() == b"second"


def test_writers_racing_for_one_name_all_keep_their_own_file(settings):
    storage = storage_for("efs")
    barrier = threading.Barrier(8)
    names: dict[int, str] = {}

    def write(index: int) -> None:
        barrier.wait()
        names[index] = storage.save("2026/11/1-race.txt", ContentFile(f"writer {index}".encode()))

    threads = [threading.Thread(target=write, args=(index,)) for index in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert len(set(names.values())) == 8
    for index, name in names.items():
        assert storage.open(name).read() == f"writer {index}".encode()


def test_overwriting_cannot_be_turned_on():
    with pytest.raises(ImproperlyConfigured, match="never overwrites"):
        AtomicFileSystemStorage(allow_overwrite=True)


def test_an_unknown_store_is_refused():
    with pytest.raises(ImproperlyConfigured, match="local, efs, ebs, s3"):
        storage_for("ftp")


# --- S3 (moto) --------------------------------------------------------------------------


@pytest.fixture
def bucket(aws, settings):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    settings.MEDIA_S3_BUCKET = BUCKET
    return BUCKET


def test_s3_store_saves_privately_and_serves_presigned_urls(bucket, aws):
    storage = storage_for("s3")

    name = storage.save("2026/11/42-sunset.jpg", ContentFile(b"jpeg bytes"))

    client = boto3.client("s3")
    assert client.get_object(Bucket=bucket, Key=name)["Body"].read() == b"jpeg bytes"
    assert client.head_object(Bucket=bucket, Key=name)["ContentType"] == "image/jpeg"
    grants = client.get_object_acl(Bucket=bucket, Key=name)["Grants"]
    assert [grant["Permission"] for grant in grants] == ["FULL_CONTROL"]
    assert all("URI" not in grant["Grantee"] for grant in grants)  # no AllUsers grant
    url = urlsplit(storage.url(name))
    assert f"{url.scheme}://{url.netloc}" == aws.endpoint
    assert "X-Amz-Signature" in parse_qs(url.query)
    assert storage.open(name).read() == b"jpeg bytes"


def test_s3_store_never_overwrites_an_object(bucket):
    storage = storage_for("s3")
    first = storage.save("2026/11/42-sunset.jpg", ContentFile(b"first"))

    second = storage.save("2026/11/42-sunset.jpg", ContentFile(b"second"))

    assert first != second
    assert storage.open(first).read() == b"first"
    assert storage.open(second).read() == b"second"


def test_s3_conditional_put_refuses_a_key_another_instance_just_wrote(bucket, monkeypatch):
    storage = storage_for("s3")
    boto3.client("s3").put_object(Bucket=bucket, Key="2026/11/9-race.jpg", Body=b"theirs")
    # Another instance wrote between our existence check and our write.
    monkeypatch.setattr(storage, "exists", lambda name: False)

    name = storage.save("2026/11/9-race.jpg", ContentFile(b"ours"))

    assert name.startswith("2026/11/9-race_") and name.endswith(".jpg")
    client = boto3.client("s3")
    assert client.get_object(Bucket=bucket, Key=name)["Body"].read() == b"ours"
    theirs = client.get_object(Bucket=bucket, Key="2026/11/9-race.jpg")["Body"].read()
    assert theirs == b"theirs"


def test_a_stale_existence_answer_cannot_make_a_posix_store_overwrite(settings, monkeypatch):
    storage = storage_for("efs")
    first = storage.save("2026/11/9-race.jpg", ContentFile(b"theirs"))
    # NFS attribute caching can answer "absent" for a file another instance just made.
    monkeypatch.setattr(storage, "exists", lambda name: False)

    second = storage.save("2026/11/9-race.jpg", ContentFile(b"ours"))

    assert first != second
    assert storage.open(first).read() == b"theirs"
    assert storage.open(second).read() == b"ours"


def test_s3_urls_use_the_cdn_when_media_url_is_absolute(bucket, settings):
    settings.MEDIA_URL = "https://cdn.example.com/media/"
    storage = storage_for("s3")

    name = storage.save("2026/11/42-sunset.jpg", ContentFile(b"jpeg bytes"))

    assert storage.url(name) == "https://cdn.example.com/media/2026/11/42-sunset.jpg"


def test_s3_is_the_default_storage_when_chosen(bucket, settings):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "media_store.stores.S3MediaStorage"},
    }
    from django.core.files.storage import default_storage as active

    name = active.save("2026/11/1-a.txt", ContentFile(b"a"))

    assert isinstance(active._wrapped, S3MediaStorage)
    assert boto3.client("s3").get_object(Bucket=bucket, Key=name)["Body"].read() == b"a"


def test_s3_without_a_bucket_is_refused(settings):
    settings.MEDIA_S3_BUCKET = None

    with pytest.raises(ImproperlyConfigured, match="MEDIA_S3_BUCKET"):
        storage_for("s3")
