"""A site built by the release before the apps were split upgrades with nothing lost.

The previous release's own code (from git: the parent of the commit that split blog/)
builds a database and a media folder, on SQLite as `make run` does and on MariaDB as
production does: the demo site, an uploaded image shown in a post, a task run, an outbox
row, the cache epoch, a permission granted to one user. Then this release's `migrate`
runs over it, and every row, file, link and permission must still be there.
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from django.db import connections

REPO = Path(__file__).resolve().parents[1]

# Run in the previous release's tree: its models, its services, its import paths.
OLD_SITE = r"""
import io, json
from PIL import Image
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.uploadedfile import SimpleUploadedFile
from blog import services
from blog.media_services import media_upload
from blog.models import CacheEpoch, Comment, MediaItem, OutboxMessage, Post, TaskRun

User = get_user_model()
author = User.objects.get(username="sam")
buffer = io.BytesIO()
Image.new("RGB", (900, 600), (40, 120, 200)).save(buffer, format="JPEG")
item, _ = media_upload(
    file=SimpleUploadedFile("lake.jpg", buffer.getvalue()), by=author, alt_text="A lake"
)
post = Post.objects.filter(author=author, status="publish").first()
post.body += f"\n\n![A lake](media:{item.pk})"
post.featured_image = item
services.post_save(post=post, by=author)
TaskRun.objects.create(message_id="m-old", task_id="t-old", task_path="blog.tasks.empty_trash",
                       source="endpoint", state="succeeded")
OutboxMessage.objects.create(task_id="t-unsent", task_path="blog.media_tasks.make_media_renditions",
                             queue_url="https://sqs.example/1/q", body="{}")
CacheEpoch.objects.create(name="redis", value=7)
reader = User.objects.create_user("reader", "reader@example.com", "x")
reader.user_permissions.add(Permission.objects.get(codename="add_mediaitem"))
item.refresh_from_db()
files = [item.original] + [r["file"] for r in item.renditions]
print(json.dumps({"post": post.pk, "item": item.pk, "files": files}))
"""

# Run in this release's tree after `migrate`: what the site holds now.
NEW_SITE = r"""
import json
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from blog.models import Category, Comment, Post, Revision, Tag
from blog.roles import ROLE_PERMISSIONS
from media_library.models import MediaItem
from webtier.models import CacheEpoch
from worker.models import OutboxMessage, TaskRun

def perms(group):
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())

reader = get_user_model().objects.get(username="reader")
item = MediaItem.objects.get()
print(json.dumps({
    "counts": {m.__name__: m.objects.count() for m in
               (Post, Comment, Category, Tag, Revision, MediaItem, TaskRun, OutboxMessage)},
    "epoch": CacheEpoch.objects.get(name="redis").value,
    "item": item.pk, "files": [item.original] + [r["file"] for r in item.renditions],
    "shown_in": sorted(item.posts.values_list("pk", flat=True)),
    "featured_in": sorted(item.featured_in.values_list("pk", flat=True)),
    "roles": {g.name: perms(g) for g in Group.objects.all()},
    "wanted": {role: sorted(names) for role, names in ROLE_PERMISSIONS.items() if names},
    "reader_may_upload": reader.has_perm("media_library.add_mediaitem"),
    "content_types": sorted(f"{c.app_label}.{c.model}" for c in ContentType.objects.filter(
        model__in=["mediaitem", "taskrun", "outboxmessage", "cacheepoch"])),
}))
"""

# Counted by the previous release, before the upgrade (its own model paths).
OLD_COUNTS = r"""
import json
from django.contrib.auth.models import Group
from blog.models import Category, Comment, MediaItem, OutboxMessage, Post, Revision, Tag, TaskRun

def perms(group):
    return sorted(f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all())

print(json.dumps({
    "counts": {m.__name__: m.objects.count() for m in
               (Post, Comment, Category, Tag, Revision, MediaItem, TaskRun, OutboxMessage)},
    "roles": {g.name: perms(g) for g in Group.objects.all()},
}))
"""


MOVED = {"mediaitem": "media_library", "taskrun": "worker", "outboxmessage": "worker",
         "cacheepoch": "webtier"}  # fmt: skip


def _after_move(permission: str) -> str:
    """`blog.add_mediaitem` is `media_library.add_mediaitem` after the split."""
    app, codename = permission.split(".")
    model = codename.split("_", 1)[-1]
    return f"{MOVED[model]}.{codename}" if app == "blog" and model in MOVED else permission


def _previous_release(destination: Path) -> Path:
    """The tree of the last commit before blog/ was split, unpacked from git."""
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout: the previous release's code comes from its history")
    split = subprocess.run(
        ["git", "log", "--format=%H", "-1", "--diff-filter=D", "--", "config/cache.py"],
        cwd=REPO, capture_output=True, text=True, check=True,
    ).stdout.strip()  # fmt: skip
    archive = subprocess.run(
        ["git", "archive", "--format=tar", f"{split}^"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout  # fmt: skip
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(destination, filter="data")
    return destination


def _manage(tree: Path, env: dict, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=tree, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, f"manage.py {args[0]} in {tree}:\n{result.stderr[-3000:]}"
    return result.stdout


def _shell(tree: Path, env: dict, code: str) -> dict:
    return json.loads(_manage(tree, env, "shell", "--no-imports", "-c", code).splitlines()[-1])


@pytest.fixture(params=["sqlite", "mariadb"])
def site_env(request, tmp_path):
    """The environment of a site in tmp_path, on a database of its own."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("DATABASE_", "REDIS_", "DJANGO_", "TASKS_", "MEDIA_"))
    }
    env.update(CLOUDBLOG_VAR_DIR=str(tmp_path / "var"), MEDIA_ROOT=str(tmp_path / "media"))
    if request.param == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
        yield env
        return
    ours = connections["default"].settings_dict
    if connections["default"].vendor != "mysql":
        pytest.skip("the suite's database is not MariaDB (TEST_DATABASE_URL)")
    import MySQLdb

    name = f"cloudblog_upgrade_{os.getpid()}"
    server = MySQLdb.connect(
        host=ours["HOST"], port=int(ours["PORT"]), user=ours["USER"], password=ours["PASSWORD"]
    )
    cursor = server.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
    cursor.execute(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4")
    env["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/{name}"
    try:
        yield env
    finally:
        cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        server.close()


def test_a_site_made_before_the_split_keeps_every_row_file_and_permission(site_env, tmp_path):
    old = _previous_release(tmp_path / "previous")
    _manage(old, site_env, "migrate", "--noinput")
    _manage(old, site_env, "seed_demo")
    made = _shell(old, site_env, OLD_SITE)
    before = _shell(old, site_env, OLD_COUNTS)

    _manage(REPO, site_env, "migrate", "--noinput")
    after = _shell(REPO, site_env, NEW_SITE)

    assert after["counts"] == before["counts"]
    assert after["counts"]["MediaItem"] == 1 and after["counts"]["OutboxMessage"] == 1
    assert after["epoch"] == 7
    assert (after["item"], after["files"]) == (made["item"], made["files"])
    media = Path(site_env["MEDIA_ROOT"])
    assert all((media / name).is_file() for name in made["files"])
    assert after["shown_in"] == after["featured_in"] == [made["post"]]
    # Every role keeps every permission it had, under the new app's name, and has
    # exactly what blog/roles.py asks for; a grant to one user moved with its type.
    for role, had in before["roles"].items():
        assert {_after_move(p) for p in had} <= set(after["roles"][role]), role
    for role, wanted in after["wanted"].items():
        assert after["roles"][role] == wanted, role
    assert after["reader_may_upload"] is True
    assert after["content_types"] == [
        "media_library.mediaitem",
        "webtier.cacheepoch",
        "worker.outboxmessage",
        "worker.taskrun",
    ]
