"""Which file system holds MEDIA_ROOT, from /proc/self/mountinfo."""

from __future__ import annotations

from media_store.mounts import is_network_mount, mount_for, parse_mountinfo

MOUNTINFO = """\
22 1 259:1 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p1 rw
25 22 0:23 / /proc rw,nosuid,nodev,noexec,relatime shared:5 - proc proc rw
40 22 0:45 / /mnt/efs rw,relatime shared:20 - nfs4 fs-0123.efs.eu-west-1.amazonaws.com:/ rw,vers=4.1
41 22 259:2 / /mnt/efs-backup rw,relatime shared:21 - ext4 /dev/nvme1n1 rw
42 22 0:46 / /srv/shared\\040media rw,relatime - nfs 10.0.0.5:/export rw,vers=3
43 22 0:47 / /mnt/helper rw,relatime - efs 127.0.0.1:/ rw
44 22 259:3 / /mnt/efs/cache rw,relatime - ext4 /dev/nvme2n1 rw
this line is not mountinfo
"""


def test_nfs4_efs_mount_is_a_network_mount():
    assert is_network_mount("/mnt/efs/media", MOUNTINFO)
    assert is_network_mount("/mnt/efs", MOUNTINFO)


def test_a_sibling_with_a_common_prefix_is_not_inside_the_mount():
    assert not is_network_mount("/mnt/efs-backup/media", MOUNTINFO)


def test_the_root_disk_is_not_a_network_mount():
    assert not is_network_mount("/var/lib/cloudblog/media", MOUNTINFO)


def test_the_deepest_mount_wins():
    assert mount_for("/mnt/efs/cache/x", MOUNTINFO).fs_type == "ext4"
    assert not is_network_mount("/mnt/efs/cache/x", MOUNTINFO)


def test_escaped_spaces_and_nfs3_and_the_efs_helper_type_are_understood():
    assert mount_for("/srv/shared media/2026", MOUNTINFO).source == "10.0.0.5:/export"
    assert is_network_mount("/srv/shared media/2026", MOUNTINFO)
    assert is_network_mount("/mnt/helper/media", MOUNTINFO)


def test_a_later_mount_on_the_same_point_hides_the_earlier_one():
    stacked = MOUNTINFO + "50 40 259:9 / /mnt/efs rw - tmpfs tmpfs rw\n"

    assert not is_network_mount("/mnt/efs/media", stacked)


def test_garbage_lines_are_skipped():
    assert len(parse_mountinfo(MOUNTINFO)) == 7


def test_this_machine_mountinfo_is_readable(tmp_path):
    # The real file: a temp directory is on some local file system, not NFS here.
    mount = mount_for(tmp_path)

    assert mount is not None and mount.fs_type
