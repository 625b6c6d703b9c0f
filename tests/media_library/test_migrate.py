"""`manage.py media_migrate`: local -> s3 (moto) interrupted half way and resumed, then back."""

from __future__ import annotations

import hashlib
from pathlib import Path

import boto3
import pytest
from django.core.management import CommandError, call_command

from media_library.models import MediaItem
from media_store.stores import S3MediaStorage
from tests.factories import PASSWORD
from tests.media_library.test_upload import image_bytes, upload

BUCKET = "cloudblog-media-test"


@pytest.fixture
def bucket(aws, settings):
    settings.MEDIA_S3_BUCKET = BUCKET
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket=BUCKET)
    return s3


@pytest.fixture
def items(client, author, django_capture_on_commit_callbacks):
    client.login(username=author.username, password=PASSWORD)
    ids = []
    for n, color in enumerate([(250, 0, 0), (0, 250, 0), (0, 0, 250)]):
        with django_capture_on_commit_callbacks(execute=True):
            response = upload(client, image_bytes((900, 600), color=color), f"pic-{n}.png")
        ids.append(response.json()["id"])
    return list(MediaItem.objects.filter(pk__in=ids).order_by("pk"))


def _all_files(item: MediaItem) -> list[tuple[str, str]]:
    return [(item.original, item.sha256)] + [(r["file"], r["sha256"]) for r in item.renditions]


def _s3_hash(s3, name: str) -> str:
    return hashlib.sha256(s3.get_object(Bucket=BUCKET, Key=name)["Body"].read()).hexdigest()


def test_migrate_to_s3_survives_an_interruption_and_resumes_then_goes_back(
    bucket, items, settings, monkeypatch, capsys
):
    files_per_item = len(_all_files(items[0]))
    real_save = S3MediaStorage._save
    saved = []

    def flaky_save(self, name, content):
        saved.append(name)
        # Fail in the middle of the second item.
        if len(saved) == files_per_item + 3:
            raise ConnectionError("network down")
        return real_save(self, name, content)

    monkeypatch.setattr(S3MediaStorage, "_save", flaky_save)
    with pytest.raises(CommandError, match=r"network down.*Run the command again to resume"):
        call_command("media_migrate", "--to", "s3")
    stores = dict(MediaItem.objects.values_list("pk", "store"))
    assert [stores[i.pk] for i in items] == ["s3", "local", "local"]
    # The switched item is served from S3, the others still from local disk.
    first, second = (MediaItem.objects.get(pk=i.pk) for i in items[:2])
    assert BUCKET in first.get_absolute_url() and "Signature=" in first.get_absolute_url()
    assert second.get_absolute_url().startswith("/media/")

    monkeypatch.setattr(S3MediaStorage, "_save", real_save)
    call_command("media_migrate", "--to", "s3")
    out = capsys.readouterr().out
    assert "[2/2]" in out and "already there" in out
    for item in MediaItem.objects.all():
        assert item.store == "s3"
        for name, digest in _all_files(item):
            assert _s3_hash(bucket, name) == digest

    # Back to local after the local copies are gone: every file comes back from S3.
    root = Path(settings.MEDIA_ROOT)
    for item in items:
        for name, _digest in _all_files(item):
            (root / name).unlink()
    call_command("media_migrate", "--to", "local")
    for item in MediaItem.objects.all():
        assert item.store == "local"
        assert item.get_absolute_url().startswith("/media/")
        for name, digest in _all_files(item):
            assert hashlib.sha256((root / name).read_bytes()).hexdigest() == digest


def test_dry_run_moves_nothing(bucket, items, capsys):
    call_command("media_migrate", "--to", "s3", "--dry-run")
    assert "Would move 3 of 3 items to s3." in capsys.readouterr().out
    assert set(MediaItem.objects.values_list("store", flat=True)) == {"local"}
    assert bucket.list_objects_v2(Bucket=BUCKET).get("KeyCount", 0) == 0


def test_a_corrupted_source_file_stops_the_move_of_its_item(bucket, items, settings):
    (Path(settings.MEDIA_ROOT) / items[0].original).write_bytes(b"bit rot")
    with pytest.raises(CommandError, match=f"media {items[0].pk}: .*does not match its recorded"):
        call_command("media_migrate", "--to", "s3")
    assert set(MediaItem.objects.values_list("store", flat=True)) == {"local"}


def test_s3_without_a_bucket_is_a_clear_error(items, settings):
    settings.MEDIA_S3_BUCKET = None
    with pytest.raises(CommandError, match="MEDIA_S3_BUCKET"):
        call_command("media_migrate", "--to", "s3")
