"""System checks (`manage.py check`, and before runserver/migrate) for the media store.

They catch the two set-ups that work on the first instance and lose uploads on the
others: `efs` whose MEDIA_ROOT is not actually a network mount, and `ebs` (a disk
that attaches to one instance) in a multi-instance deployment.
"""

from __future__ import annotations

from django.conf import settings
from django.core.checks import CheckMessage, Error, register

from media_store.mounts import mount_for

TAG = "media_store"


def efs_mount_problem() -> str | None:
    """Why MEDIA_ROOT is not a usable EFS mount, or None (also used by /readyz)."""
    if getattr(settings, "MEDIA_EFS_ALLOW_LOCAL", False):
        return None
    root = settings.MEDIA_ROOT
    mount = mount_for(root)
    if mount is None:
        return f"MEDIA_BACKEND=efs but the mount holding MEDIA_ROOT {root} cannot be read"
    if mount.fs_type not in ("nfs", "nfs4", "efs"):
        return (
            f"MEDIA_BACKEND=efs but MEDIA_ROOT {root} is on {mount.fs_type} "
            f"({mount.mount_point}), not an NFS/EFS mount: uploads would stay on this "
            f"instance and be missing on the others"
        )
    return None


@register(TAG)
def check_media_store(app_configs=None, **kwargs) -> list[CheckMessage]:
    backend = settings.MEDIA_BACKEND
    errors: list[CheckMessage] = []
    if backend == "efs":
        problem = efs_mount_problem()
        if problem:
            errors.append(
                Error(
                    problem,
                    hint="Mount EFS at MEDIA_ROOT (amazon-efs-utils or nfs4) before starting, "
                    "or set MEDIA_EFS_ALLOW_LOCAL=true where one machine stands in for EFS "
                    "(the local cluster).",
                    id="media_store.E001",
                )
            )
    if backend == "ebs" and getattr(settings, "DEPLOYMENT_MODE", "single") == "ha":
        errors.append(
            Error(
                "MEDIA_BACKEND=ebs cannot be used with DEPLOYMENT_MODE=ha: an EBS volume "
                "attaches to one instance in one availability zone, so an upload made "
                "through one web instance would be missing on every other one",
                hint="Use MEDIA_BACKEND=efs or s3 for several instances, or "
                "DEPLOYMENT_MODE=single for one instance.",
                id="media_store.E002",
            )
        )
    if backend == "s3" and not getattr(settings, "MEDIA_S3_BUCKET", None):
        errors.append(
            Error(
                "MEDIA_BACKEND=s3 needs MEDIA_S3_BUCKET",
                hint="Set MEDIA_S3_BUCKET to the private bucket that holds media.",
                id="media_store.E003",
            )
        )
    return errors
