"""/readyz checks the media store: write+read+delete a probe, or S3 head_bucket."""

from __future__ import annotations

import boto3
import pytest
from django.core.files.storage import default_storage

from media_store import mounts
from webtier import health

BUCKET = "cloudblog-media"


pytestmark = pytest.mark.usefixtures("fresh_readiness")


def _media(client) -> tuple[int, dict]:
    response = client.get("/readyz")
    return response.status_code, response.json()["checks"]["media"]


@pytest.mark.django_db
@pytest.mark.parametrize("backend", ["local", "ebs"])
def test_a_writable_posix_store_is_ready_and_the_probe_leaves_nothing(
    client, settings, media_root, backend
):
    settings.MEDIA_BACKEND = backend

    code, media = _media(client)

    assert code == 200
    assert media["ok"] is True
    assert "write+read+delete ok" in media["detail"]
    assert list(media_root.iterdir()) == []


@pytest.mark.django_db
def test_an_unmounted_store_is_not_ready_and_is_not_created(client, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "mnt" / "ebs"

    code, media = _media(client)

    assert code == 503
    assert "is the volume mounted?" in media["detail"]
    assert not settings.MEDIA_ROOT.exists()


@pytest.mark.django_db
def test_efs_that_is_not_a_network_mount_makes_the_instance_unready(
    client, settings, media_root, tmp_path, monkeypatch
):
    settings.MEDIA_BACKEND = "efs"
    fake = tmp_path / "mountinfo"
    fake.write_text("22 1 259:1 / / rw - ext4 /dev/root rw\n")
    monkeypatch.setattr(mounts, "MOUNTINFO", fake)

    code, media = _media(client)

    assert code == 503
    assert media["ok"] is False
    assert "not an NFS/EFS mount" in media["detail"]


@pytest.mark.django_db
def test_efs_on_a_network_mount_is_ready(client, settings, media_root, tmp_path, monkeypatch):
    settings.MEDIA_BACKEND = "efs"
    fake = tmp_path / "mountinfo"
    fake.write_text(f"40 1 0:45 / {media_root} rw - nfs4 fs-1.efs:/ rw\n")
    monkeypatch.setattr(mounts, "MOUNTINFO", fake)

    code, media = _media(client)

    assert code == 200, media
    assert media["detail"].startswith("efs: ")


def _use_s3(settings):
    """The S3 store, with the client a running process has made at its first probe or
    upload (building one takes about a second of CPU on a loaded machine: the readiness
    budget is for the bucket's answer, and the probe reuses that client)."""
    settings.MEDIA_BACKEND = "s3"
    settings.MEDIA_S3_BUCKET = BUCKET
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "media_store.stores.S3MediaStorage"},
    }
    return default_storage.shared_client


@pytest.mark.django_db
def test_s3_store_is_ready_when_the_bucket_answers(client, settings, aws):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    s3 = _use_s3(settings)

    code, media = _media(client)
    health.forget()  # a later round of checks, in threads of its own
    again, media_again = _media(client)

    assert (code, again) == (200, 200), (media, media_again)
    assert media["detail"] == media_again["detail"] == f"s3: bucket {BUCKET} reachable"
    # Every probe's thread used the storage's one client, not a new one of its own.
    assert default_storage.shared_client is s3


@pytest.mark.django_db
def test_s3_store_without_its_bucket_makes_the_instance_unready(client, settings, aws):
    _use_s3(settings)

    code, media = _media(client)

    assert code == 503
    assert media["ok"] is False
    assert "404" in media["detail"] or "Not Found" in media["detail"]
