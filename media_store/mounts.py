"""Which file system holds a path, read from /proc/self/mountinfo (Linux).

The `efs` media store must be a network mount that every web instance shares: a
MEDIA_ROOT that silently sits on the instance's own disk (EFS not mounted yet, a
typo in fstab) would scatter uploads across instances.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

MOUNTINFO = Path("/proc/self/mountinfo")
NETWORK_FS_TYPES = frozenset({"nfs", "nfs4", "efs"})


@dataclass(frozen=True)
class Mount:
    mount_point: str
    fs_type: str
    source: str


def _unescape(field: str) -> str:
    # mountinfo writes space, tab, newline and backslash as octal escapes (\040...).
    out, index = [], 0
    while index < len(field):
        if field[index] == "\\" and field[index + 1 : index + 4].isdigit():
            out.append(chr(int(field[index + 1 : index + 4], 8)))
            index += 4
        else:
            out.append(field[index])
            index += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    """Mounts in file order; a line that does not parse is skipped."""
    mounts = []
    for line in text.splitlines():
        fields = line.split()
        # 36 35 98:0 /mnt1 /mnt2 rw,noatime master:1 - ext3 /dev/root rw,errors=continue
        if "-" not in fields[6:]:
            continue
        dash = fields.index("-", 6)
        if len(fields) < dash + 3:
            continue
        mounts.append(Mount(_unescape(fields[4]), fields[dash + 1], _unescape(fields[dash + 2])))
    return mounts


def mount_for(path: str | os.PathLike, mountinfo: str | None = None) -> Mount | None:
    """The mount that holds `path` (symlinks resolved): the longest matching mount point.

    When the same point is mounted twice the later line wins, as the kernel stacks it.
    """
    if mountinfo is None:
        try:
            mountinfo = MOUNTINFO.read_text()
        except OSError:
            return None
    target = os.path.realpath(path)
    best: Mount | None = None
    for mount in parse_mountinfo(mountinfo):
        point = mount.mount_point.rstrip("/") or "/"
        inside = target == point or target.startswith(point + "/") or point == "/"
        if inside and (best is None or len(point) >= len(best.mount_point.rstrip("/") or "/")):
            best = mount
    return best


def is_network_mount(path: str | os.PathLike, mountinfo: str | None = None) -> bool:
    """True when `path` lives on NFS (nfs, nfs4) or the EFS mount helper's `efs` type."""
    mount = mount_for(path, mountinfo)
    return mount is not None and mount.fs_type in NETWORK_FS_TYPES
