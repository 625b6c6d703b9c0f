"""Uploading to the media library through the doors an author uses: the JSON endpoint and
the admin. Every corpus image goes through the real path (pipeline, stores, task)."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from media_library.models import MediaItem
from tests.conftest import corpus
from tests.factories import PASSWORD

UPLOAD_URL = "admin:media_library_mediaitem_upload"
# Strings from the payload corpus that must never reach a served byte.
PAYLOAD_MARKERS = [b"<?php", b"<script", b"<svg", b"system(", b"phpinfo", b"onerror", b"alert("]
SECONDS_PER_FILE = 20


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def upload(client, data: bytes, name: str = "photo.jpg", **fields):
    file = SimpleUploadedFile(name, data, content_type="application/octet-stream")
    return client.post(reverse(UPLOAD_URL), {"file": file, **fields})


def image_bytes(size=(1200, 800), fmt="JPEG", color=(200, 80, 40)) -> bytes:
    import io

    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, format=fmt)
    return buffer.getvalue()


def stored_files(media_root: Path) -> list[Path]:
    if not media_root.exists():
        return []
    return sorted(p for p in media_root.rglob("*") if p.is_file())


def test_author_uploads_and_gets_id_markdown_and_renditions(
    client, author, settings, django_capture_on_commit_callbacks
):
    login(client, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, image_bytes(), "Sunset over the bay.jpg", alt_text="A red sky")
    assert response.status_code == 201, response.content
    body = response.json()
    item = MediaItem.objects.get(pk=body["id"])
    assert body["markdown"] == f"![A red sky](media:{item.pk})"
    assert body["created"] is True
    assert item.uploaded_by == author
    assert (item.mime_type, item.width, item.height) == ("image/jpeg", 1200, 800)
    assert item.title == "Sunset over the bay"
    assert item.status == MediaItem.Status.READY
    names = {r["name"] for r in item.renditions}
    assert {"full", "full-webp", "thumbnail", "medium", "medium_large", "large"} <= names
    month = f"{item.created_at:%Y/%m}"
    assert item.file.name == f"{month}/{item.pk}-sunset-over-the-bay.jpg"
    assert item.original == f"private/{month}/{item.pk}-sunset-over-the-bay.jpg"
    root = Path(settings.MEDIA_ROOT)
    for entry in item.renditions:
        data = (root / entry["file"]).read_bytes()
        assert len(data) == entry["bytes"]
    # The original is kept untouched, privately, and given no URL anywhere.
    assert (root / item.original).read_bytes() == image_bytes()
    assert "private/" not in response.content.decode()


def test_same_image_twice_is_stored_once(client, author, settings):
    login(client, author)
    first = upload(client, image_bytes(), "a.jpg")
    files = stored_files(Path(settings.MEDIA_ROOT))
    second = upload(client, image_bytes(), "b.jpg")
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["created"] is False
    assert MediaItem.objects.count() == 1
    assert stored_files(Path(settings.MEDIA_ROOT)) == files


def test_other_author_uploading_the_same_image_gets_their_own_item(client, author, other_author):
    login(client, author)
    mine = upload(client, image_bytes()).json()["id"]
    client.logout()
    login(client, other_author)
    theirs = upload(client, image_bytes())
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine
    assert MediaItem.objects.get(pk=theirs.json()["id"]).uploaded_by == other_author


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"<?php system($_GET['c']); ?>", "not an image"),
        (b"GIF89a<script>alert(1)</script>", "not an image"),
    ],
)
def test_bad_upload_gets_a_clear_400_and_stores_nothing(client, author, settings, data, message):
    login(client, author)
    response = upload(client, data, "evil.jpg")
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert not MediaItem.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


def test_too_large_upload_is_refused_before_processing(client, author, settings):
    settings.MEDIA_MAX_BYTES = 1000
    login(client, author)
    response = upload(client, image_bytes())
    assert response.status_code == 400
    assert "limit is 0.001 MB" in response.json()["error"]


def test_upload_without_a_file_is_a_400(client, author):
    login(client, author)
    response = client.post(reverse(UPLOAD_URL), {"title": "nothing"})
    assert response.status_code == 400
    assert "file" in response.json()["error"]


def test_contributor_may_not_upload(client, contributor):
    login(client, contributor)
    response = upload(client, image_bytes())
    assert response.status_code == 403
    assert not MediaItem.objects.exists()


def test_anonymous_upload_goes_to_login(client, db):
    response = upload(client, image_bytes())
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    assert not MediaItem.objects.exists()


def test_a_failing_store_leaves_no_row_and_no_files(client, author, settings, monkeypatch):
    from media_store.stores import AtomicFileSystemStorage

    real_save = AtomicFileSystemStorage._save
    calls = []

    def failing_save(self, name, content):
        calls.append(name)
        if len(calls) == 2:  # the original is written, the full image fails
            raise OSError("disk full")
        return real_save(self, name, content)

    monkeypatch.setattr(AtomicFileSystemStorage, "_save", failing_save)
    login(client, author)
    client.raise_request_exception = True
    with pytest.raises(OSError, match="disk full"):
        upload(client, image_bytes())
    assert not MediaItem.objects.exists()
    assert stored_files(Path(settings.MEDIA_ROOT)) == []


@pytest.mark.django_db(transaction=True)
def test_a_queue_down_after_the_commit_keeps_the_item_and_its_files(
    client, author, aws, settings, caplog
):
    # The JSON upload has no outer transaction: the item really commits, and only then is
    # the renditions job sent, inline (no outbox), to a queue that does not exist.
    settings.TASKS = {
        "default": {
            "BACKEND": "worker.backends.SQSBackend",
            "OPTIONS": {"queue_url": f"{aws.endpoint}/123456789012/no-such-queue"},
        }
    }
    login(client, author)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR):
        response = upload(client, image_bytes())

    assert response.status_code == 201, response.content
    item = MediaItem.objects.get(pk=response.json()["id"])
    assert item.status == MediaItem.Status.PENDING  # retry-renditions sends it again
    names = [item.original, *(entry["file"] for entry in item.renditions)]
    assert sorted(
        str(p.relative_to(settings.MEDIA_ROOT)) for p in stored_files(Path(settings.MEDIA_ROOT))
    ) == sorted(names)
    assert any("no-such-queue" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)


def test_with_a_queue_an_upload_makes_the_full_image_and_queues_the_rest(
    client, author, settings, django_capture_on_commit_callbacks
):
    login(client, author)
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}  # queued
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, image_bytes((1600, 1200)))

    assert response.status_code == 201
    item = MediaItem.objects.get(pk=response.json()["id"])
    assert [r["name"] for r in item.renditions] == ["full", "full-webp"]
    assert item.status == MediaItem.Status.PENDING
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.filter(task_path__endswith="make_media_renditions").count() == 1


def test_inline_an_upload_is_ready_with_every_size_and_runs_no_task(
    client, author, django_capture_on_commit_callbacks
):
    from django_tasks.signals import task_enqueued

    enqueued = []

    def on_enqueued(sender, task_result, **kwargs):
        enqueued.append(task_result.task.name)

    task_enqueued.connect(on_enqueued)
    try:
        login(client, author)
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, image_bytes((1600, 1200)))
    finally:
        task_enqueued.disconnect(on_enqueued)

    assert response.status_code == 201
    assert response.json()["status"] == "ready"
    item = MediaItem.objects.get(pk=response.json()["id"])
    assert {"thumbnail", "medium", "large", "1536x1536", "large-webp"} <= {
        r["name"] for r in item.renditions
    }
    assert enqueued == []  # one decode made everything: no second pipeline after commit


# --- Every corpus image through the real upload path --------------------------------


def _corpus_files() -> list[Path]:
    root = Path(__file__).resolve().parents[3] / "shared" / "corpora" / "images"
    files = [p for sub in ("pillow", "payloads") for p in sorted((root / sub).glob("*"))]
    return [p for p in files if p.is_file()]


def _assert_clean(path: Path, data: bytes) -> None:
    for marker in PAYLOAD_MARKERS:
        assert marker not in data.lower(), f"{path.name} carries {marker!r}"
    with Image.open(path) as im:
        assert not im.getexif(), f"{path.name} keeps EXIF"
        for key in ("icc_profile", "exif", "xmp", "XML:com.adobe.xmp", "comment"):
            assert key not in im.info, f"{path.name} keeps {key}"
        assert not getattr(im, "text", {}), f"{path.name} keeps text chunks"


@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_corpus_image_is_rejected_clearly_or_stored_clean(
    client, author, settings, path, django_capture_on_commit_callbacks
):
    corpus("images")
    login(client, author)
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, path.read_bytes(), path.name)
    elapsed = time.monotonic() - started
    assert elapsed < SECONDS_PER_FILE, f"{path.name} took {elapsed:.1f} s"
    root = Path(settings.MEDIA_ROOT)
    if response.status_code == 400:
        message = response.json()["error"]
        assert len(message) > 15 and "Traceback" not in message
        assert not MediaItem.objects.exists()
        assert stored_files(root) == []
        return
    assert response.status_code == 201, response.content
    item = MediaItem.objects.get()
    assert item.status == MediaItem.Status.READY, item.status_detail
    public = {root / r["file"] for r in item.renditions}
    # Everything in the store is the private original or a listed public file.
    assert set(stored_files(root)) == public | {root / item.original}
    for file in public:
        _assert_clean(file, file.read_bytes())
    page = client.get(reverse("admin:media_library_mediaitem_change", args=[item.pk]))
    assert page.status_code == 200
