"""`manage.py check` refuses efs without a network mount and ebs with several instances."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from media_store import mounts
from tests.config.test_settings import error_line, start


@pytest.fixture
def mountinfo(tmp_path, monkeypatch, settings):
    """A fake /proc/self/mountinfo; returns a function that mounts MEDIA_ROOT as a type."""
    path = tmp_path / "mountinfo"
    monkeypatch.setattr(mounts, "MOUNTINFO", path)

    def mount_media_root(fs_type: str) -> None:
        path.write_text(
            "22 1 259:1 / / rw - ext4 /dev/nvme0n1p1 rw\n"
            f"40 22 0:45 / {settings.MEDIA_ROOT} rw - {fs_type} fs-1.efs:/ rw\n"
        )

    return mount_media_root


def test_efs_on_a_local_disk_fails_the_check(settings, mountinfo):
    settings.MEDIA_BACKEND = "efs"
    mountinfo("ext4")

    with pytest.raises(SystemCheckError) as error:
        call_command("check")

    assert "media_store.E001" in str(error.value)
    assert "not an NFS/EFS mount" in str(error.value)
    assert "MEDIA_EFS_ALLOW_LOCAL" in str(error.value)


@pytest.mark.parametrize("fs_type", ["nfs4", "nfs", "efs"])
def test_efs_on_a_network_mount_passes(settings, mountinfo, fs_type, capsys):
    settings.MEDIA_BACKEND = "efs"
    mountinfo(fs_type)

    call_command("check")

    assert "no issues" in capsys.readouterr().out


def test_efs_on_a_local_disk_passes_when_explicitly_allowed(settings, mountinfo, capsys):
    settings.MEDIA_BACKEND = "efs"
    settings.MEDIA_EFS_ALLOW_LOCAL = True
    mountinfo("ext4")

    call_command("check")

    assert "no issues" in capsys.readouterr().out


def test_ebs_with_several_instances_fails_the_check_and_says_why(settings):
    settings.MEDIA_BACKEND = "ebs"
    settings.DEPLOYMENT_MODE = "ha"

    with pytest.raises(SystemCheckError) as error:
        call_command("check")

    assert "media_store.E002" in str(error.value)
    assert "attaches to one instance" in str(error.value)


def test_ebs_on_a_single_instance_passes(settings, capsys):
    settings.MEDIA_BACKEND = "ebs"
    settings.DEPLOYMENT_MODE = "single"

    call_command("check")

    assert "no issues" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("changes", "named"),
    [
        ({"MEDIA_BACKEND": "s3"}, "MEDIA_S3_BUCKET"),
        ({"DEPLOYMENT_MODE": "cluster"}, "DEPLOYMENT_MODE"),
        ({"MEDIA_MAX_BYTES": "20MB"}, "MEDIA_MAX_BYTES"),
        ({"MEDIA_MAX_PIXELS": "0"}, "MEDIA_MAX_PIXELS"),
        ({"MEDIA_EFS_ALLOW_LOCAL": "maybe"}, "MEDIA_EFS_ALLOW_LOCAL"),
    ],
    ids=lambda value: (
        "-".join(f"{k}={v}" for k, v in value.items()) if isinstance(value, dict) else value
    ),
)
def test_a_bad_media_setting_stops_the_start(tmp_path, changes, named):
    assert named in error_line(start(tmp_path, **changes))


@pytest.mark.parametrize("backend", ["efs", "ebs", "s3"])
def test_every_backend_starts(tmp_path, backend):
    result = start(tmp_path, show="STORAGES['default']['BACKEND']", MEDIA_BACKEND=backend,
                   MEDIA_S3_BUCKET="media")  # fmt: skip

    assert result.returncode == 0, result.stderr
    expected = "S3MediaStorage" if backend == "s3" else "AtomicFileSystemStorage"
    assert result.stdout.strip() == f"media_store.stores.{expected}"
