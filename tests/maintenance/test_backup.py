"""manage.py backup / restore: the restore drill on real MariaDB, and the refusals around it.

Transactional tests: the dump is read and loaded by the mariadb client tools over their
own connections, so the data must be committed, and the load replaces whole tables.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tarfile
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from blog import roles
from blog.models import Comment, Post
from tests.conftest import corpus
from tests.factories import make_category, make_comment, make_post, make_tag, make_user

pytestmark = pytest.mark.django_db(transaction=True)


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def _tables() -> list[str]:
    with connection.cursor() as cursor:
        return sorted(connection.introspection.table_names(cursor))


def _state() -> dict[str, tuple[int, int]]:
    """Row count and MariaDB's content checksum of every table."""
    found = {}
    with connection.cursor() as cursor:
        for table in _tables():
            # Names come from the database's own catalogue.
            cursor.execute(f"SELECT COUNT(*) FROM `{table}`")  # noqa: S608
            rows = cursor.fetchone()[0]
            cursor.execute(f"CHECKSUM TABLE `{table}`")
            found[table] = (rows, cursor.fetchone()[1])
    return found


def _media_hashes(root: Path) -> dict[str, str]:
    return {
        p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


@pytest.fixture
def site(settings):
    """A site worth losing: users, posts in categories and tags, threaded comments, media."""
    author = make_user(roles.AUTHOR, username="arthur")
    categories = [make_category("Travel"), make_category("Café ☕ notes")]
    tags = [make_tag("émoji 🚀"), make_tag("plain")]
    payloads = corpus("xss", "XSS_Polyglots.txt").read_text(errors="replace").splitlines()[:20]
    for n in range(12):
        post = make_post(
            author,
            title=f"Post {n}: 日本語 and 🚀",
            categories=categories[: n % 3],
            tags=tags[: n % 2 + 1],
        )
        parent = None
        for m, payload in enumerate(payloads[n : n + 3]):
            parent = make_comment(post, body=payload or f"comment {m}", parent=parent)
    make_comment(Post.objects.first(), status=Comment.Status.PENDING, body="held")
    media = Path(settings.MEDIA_ROOT)
    (media / "2026" / "11").mkdir(parents=True)
    for photo in corpus("images", "photos").glob("*.jpg"):
        shutil.copy(photo, media / "2026" / "11" / photo.name)
    for image in sorted(corpus("images", "pillow").iterdir())[:30]:
        shutil.copy(image, media / "2026" / "11" / image.name)
    (media / "2026" / "11" / "naïve résumé.txt").write_text("unicode name")
    (media / "empty.bin").write_bytes(b"")
    return media


def _wipe(media: Path) -> None:
    call_command("flush", interactive=False, verbosity=0)
    shutil.rmtree(media)
    media.mkdir()


def test_restore_drill_loses_nothing(site, tmp_path):
    before, media_before = _state(), _media_hashes(site)
    archive = tmp_path / "drill.tar.gz"

    out = run("backup", output=archive)
    _wipe(site)
    assert Post.objects.count() == 0 and _media_hashes(site) == {}
    restored = run("restore", str(archive))

    assert _state() == before
    assert _media_hashes(site) == media_before
    assert before["blog_post"][0] == 12 and before["blog_comment"][0] == 37
    assert len(media_before) == 34
    assert "34 media files" in out and "every hash and row count matches" in restored
    # The site works on the restored database.
    assert Post.objects.published().filter(title__contains="🚀").count() == 12


def test_backup_manifest_lists_a_hash_for_every_file(site, tmp_path):
    archive = tmp_path / "b.tar.gz"
    run("backup", output=archive)

    with tarfile.open(archive) as opened:
        names = opened.getnames()
        manifest = json.load(opened.extractfile("manifest.json"))
    assert names[0] == "database.sql" and names[-1] == "manifest.json"
    assert manifest["engine"] == "mysql"
    assert manifest["tables"]["blog_post"] == 12
    by_path = {m["path"]: m for m in manifest["media"]}
    photo = next(corpus("images", "photos").glob("*.jpg"))
    entry = by_path[f"media/2026/11/{photo.name}"]
    assert entry["sha256"] == hashlib.sha256(photo.read_bytes()).hexdigest()
    assert entry["bytes"] == photo.stat().st_size


def test_restore_refuses_a_site_with_content(site, tmp_path):
    archive = tmp_path / "b.tar.gz"
    run("backup", output=archive)
    Post.objects.filter(pk=Post.objects.first().pk).update(title="changed after the backup")
    before = _state()

    with pytest.raises(
        CommandError, match=r"this site is not empty .*12 rows in blog_post.*--force"
    ):
        run("restore", str(archive))

    assert _state() == before


def test_restore_with_force_replaces_the_site(site, tmp_path):
    archive = tmp_path / "b.tar.gz"
    run("backup", output=archive)
    expected, media_expected = _state(), _media_hashes(site)
    make_post(make_user(roles.AUTHOR, username="late"), title="written after the backup")
    (site / "late.txt").write_text("uploaded after the backup")

    run("restore", str(archive), force=True)

    assert _state() == expected
    assert _media_hashes(site) == media_expected


def test_a_damaged_archive_is_refused_before_anything_changes(site, tmp_path):
    archive = tmp_path / "b.tar.gz"
    run("backup", output=archive)
    damaged = tmp_path / "damaged.tar.gz"
    with tarfile.open(archive) as source, tarfile.open(damaged, "w:gz") as target:
        for member in source.getmembers():
            data = source.extractfile(member).read()
            if member.name.endswith("empty.bin"):
                data = b"not empty any more"
                member.size = len(data)
            target.addfile(member, io.BytesIO(data))
    _wipe(site)
    before = _state()

    with pytest.raises(CommandError, match=r"damaged: media/empty\.bin does not match its hash"):
        run("restore", str(damaged))
    with pytest.raises(CommandError, match="damaged"):
        run("restore", str(damaged), verify_only=True)

    assert _state() == before
    assert _media_hashes(site) == {}
    assert "is intact" in run("restore", str(archive), verify_only=True)


def test_backup_never_overwrites_an_archive(site, tmp_path):
    archive = tmp_path / "b.tar.gz"
    archive.write_bytes(b"yesterday's backup")

    with pytest.raises(CommandError, match="already exists"):
        run("backup", output=archive)

    assert archive.read_bytes() == b"yesterday's backup"


@pytest.mark.django_db(transaction=False)
def test_the_embedded_sqlite_site_round_trips_through_the_cli(tmp_path):
    """`make run`'s site: SQLite online backup, restored into a fresh folder by manage.py."""
    root = Path(__file__).resolve().parents[2]

    def manage(place: Path, *args: str) -> str:
        env = {
            **os.environ,
            "DATABASE_URL": f"sqlite:///{place}/db.sqlite3",
            "MEDIA_ROOT": str(place / "media"),
            "REDIS_URL": "",
        }
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    manage(first, "migrate", "-v0")
    manage(first, "seed_demo")
    (first / "media" / "2026").mkdir(parents=True)
    photo = next(corpus("images", "photos").glob("*.jpg"))
    shutil.copy(photo, first / "media" / "2026" / photo.name)
    archive = tmp_path / "site.tar.gz"

    manage(first, "backup", "--output", str(archive))
    second.mkdir()
    out = manage(second, "restore", str(archive))

    def dump(place: Path) -> list[str]:
        database = sqlite3.connect(place / "db.sqlite3")
        try:
            return list(database.iterdump())
        finally:
            database.close()

    assert dump(second) == dump(first)
    assert _media_hashes(second / "media") == _media_hashes(first / "media")
    assert "every hash and row count matches" in out
    refused = subprocess.run(
        [sys.executable, "manage.py", "restore", str(archive)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env={
            **os.environ,
            "DATABASE_URL": f"sqlite:///{second}/db.sqlite3",
            "MEDIA_ROOT": str(second / "media"),
            "REDIS_URL": "",
        },
    )
    assert refused.returncode == 1
    assert "this site is not empty (9 rows in blog_category, 11 rows in blog_tag, 38 rows in" in (
        refused.stderr
    )
    assert refused.stderr.count("blog_post,") == 1
