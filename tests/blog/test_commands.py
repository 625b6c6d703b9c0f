"""The management commands, driven the way `make run`, cron and operators call them."""

from __future__ import annotations

import re
import stat
from datetime import timedelta
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from blog import demo, roles
from blog.models import Category, Comment, Post, Revision, Tag
from tests.factories import make_comment, make_post, make_user

pytestmark = pytest.mark.django_db


def run(*args, **options) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def _depth(comment: Comment) -> int:
    depth = 1
    while comment.parent_id is not None:
        comment = comment.parent
        depth += 1
    return depth


def _snapshot() -> dict[str, object]:
    return {
        "users": sorted(get_user_model().objects.values_list("username", flat=True)),
        "posts": sorted(Post.objects.values_list("slug", "status", "updated_at")),
        "categories": Category.objects.count(),
        "tags": Tag.objects.count(),
        "comments": Comment.objects.count(),
        "revisions": Revision.objects.count(),
    }


# --- seed_demo ------------------------------------------------------------------


def test_seed_demo_builds_a_site_worth_browsing():
    output = run("seed_demo")

    posts = Post.objects.posts()
    assert posts.published().count() >= 30
    assert posts.filter(sticky=True).published().count() == 2
    assert posts.filter(status=Post.Status.DRAFT).count() == 1
    assert posts.filter(status=Post.Status.PRIVATE).count() == 1
    scheduled = posts.filter(status=Post.Status.FUTURE, published_at__gt=timezone.now())
    assert scheduled.count() == 1
    months = {(p.published_at.year, p.published_at.month) for p in posts.published()}
    assert len(months) >= 4
    assert "Created the demo site" in output


def test_seed_demo_posts_are_varied_markdown():
    run("seed_demo")

    html = " ".join(Post.objects.posts().values_list("body_html", flat=True))
    for element in ("<h2>", "<ul>", "<ol>", "<pre><code", "<table>", "<a href=", "<blockquote>"):
        assert element in html, element
    assert Revision.objects.filter(post__kind=Post.Kind.POST).count() >= 30


def test_seed_demo_has_nested_categories_tags_and_bylines():
    run("seed_demo")

    assert Category.objects.count() >= 5
    nested = Category.objects.filter(parent__parent__isnull=False)
    assert nested.exists(), "expected a category two levels down"
    assert not Category.objects.filter(description="").exists()
    assert Tag.objects.count() >= 10
    bylines = set(Post.objects.posts().values_list("author__username", flat=True))
    assert len(bylines) >= 2
    assert not get_user_model().objects.filter(is_superuser=True).exists()


def test_seed_demo_makes_pages_with_a_child_under_about():
    run("seed_demo")

    titles = set(Post.objects.pages().values_list("title", flat=True))
    assert {"About", "Contact"} <= titles
    child = Post.objects.pages().get(parent__slug="about")
    assert child.path == f"about/{child.slug}"
    assert child.is_public


def test_seed_demo_threads_comments_three_levels_deep_and_holds_one():
    run("seed_demo")

    approved = Comment.objects.approved()
    assert max(_depth(c) for c in approved) >= 3
    assert Comment.objects.filter(status=Comment.Status.PENDING).count() == 1
    for post in Post.objects.filter(comments__isnull=False).distinct():
        assert post.comment_count == post.comments.approved().count()


def test_seed_demo_prints_the_protected_posts_password():
    output = run("seed_demo")

    protected = Post.objects.exclude(password="").get()
    assert protected.is_public
    assert protected.password in output
    assert protected.title in output


def test_seed_demo_twice_changes_nothing():
    run("seed_demo")
    before = _snapshot()

    output = run("seed_demo")

    assert _snapshot() == before
    posts = Post.objects.posts().count()
    assert output.strip() == f"Demo content already present ({posts} posts); nothing to do."


def test_seed_demo_leaves_a_site_with_content_alone(author):
    make_post(author, title="My own first post")

    output = run("seed_demo")

    assert "already present (1 posts)" in output
    assert Post.objects.count() == 1


def test_seed_demo_makes_the_default_number_of_published_posts():
    run("seed_demo")

    assert Post.objects.posts().published().count() == demo.DEFAULT_POSTS


def test_seed_demo_posts_option_sets_the_size():
    run("seed_demo", "--posts", "5")

    assert Post.objects.posts().published().count() == 5
    assert Post.objects.posts().count() == 5 + 3  # plus scheduled, draft and private


def test_seed_demo_refuses_a_bad_post_count():
    with pytest.raises(CommandError, match="--posts"):
        run("seed_demo", "--posts", "0")
    assert not Post.objects.exists()


def test_seed_demo_builds_the_same_site_every_time():
    run("seed_demo", "--posts", "8")
    first = list(Post.objects.order_by("slug").values_list("slug", "body", "sticky"))
    Post.objects.all().delete()

    run("seed_demo", "--posts", "8")

    assert list(Post.objects.order_by("slug").values_list("slug", "body", "sticky")) == first


# --- ensure_admin ------------------------------------------------------------------


def _printed_password(output: str) -> str:
    match = re.search(r"Password: (\S+)", output)
    assert match, output
    return match.group(1)


def test_ensure_admin_creates_one_superuser_whose_printed_password_logs_in(client):
    output = run("ensure_admin")

    admin = get_user_model().objects.get(is_superuser=True)
    assert admin.username == "admin"
    assert admin.is_staff
    assert admin.groups.filter(name=roles.ADMINISTRATOR).exists()
    assert "http://127.0.0.1:8000/admin/" in output
    password = _printed_password(output)
    assert output.count(password) == 1
    assert client.login(username="admin", password=password)


def test_ensure_admin_second_run_prints_no_password():
    first = run("ensure_admin")
    password = _printed_password(first)

    second = run("ensure_admin")

    assert password not in second
    assert "Password:" not in second
    assert "Admin account exists (admin)" in second
    assert "python manage.py changepassword admin" in second
    assert get_user_model().objects.filter(is_superuser=True).count() == 1


def test_ensure_admin_names_an_existing_superuser():
    get_user_model().objects.create_superuser("root", "root@example.com", "x-long-password")

    output = run("ensure_admin")

    assert "Admin account exists (root)" in output
    assert not get_user_model().objects.filter(username="admin").exists()


def test_ensure_admin_can_write_the_password_to_a_private_file(client, tmp_path):
    secret = tmp_path / "admin-password"

    output = run("ensure_admin", "--username", "boss", "--password-file", str(secret))

    password = secret.read_text().strip()
    assert password not in output
    assert str(secret) in output
    assert stat.S_IMODE(secret.stat().st_mode) == 0o600
    assert client.login(username="boss", password=password)


def test_ensure_admin_refuses_to_reuse_a_regular_users_name():
    make_user(roles.AUTHOR, username="admin")

    with pytest.raises(CommandError, match="not a superuser"):
        run("ensure_admin")

    assert not get_user_model().objects.filter(is_superuser=True).exists()


# --- empty_trash -------------------------------------------------------------------


def _trashed(author, days_ago: int) -> Post:
    post = make_post(author)
    Post.objects.filter(pk=post.pk).update(
        status=Post.Status.TRASH,
        status_before_trash=Post.Status.PUBLISHED,
        trashed_at=timezone.now() - timedelta(days=days_ago),
    )
    return post


def test_empty_trash_deletes_only_what_waited_more_than_thirty_days(author):
    old = _trashed(author, days_ago=31)
    recent = _trashed(author, days_ago=29)
    live = make_post(author)
    make_comment(old)

    output = run("empty_trash")

    assert set(Post.objects.values_list("pk", flat=True)) == {recent.pk, live.pk}
    assert not Comment.objects.filter(post_id=old.pk).exists()
    assert "Deleted 1 posts and pages and 0 comments trashed more than 30 days ago" in output


def test_empty_trash_dry_run_deletes_nothing(author):
    _trashed(author, days_ago=45)
    _trashed(author, days_ago=40)

    output = run("empty_trash", "--dry-run")

    assert Post.objects.filter(status=Post.Status.TRASH).count() == 2
    assert "Would delete 2 posts and pages" in output


def test_empty_trash_days_option_shortens_the_wait(author):
    _trashed(author, days_ago=8)
    kept = _trashed(author, days_ago=6)

    run("empty_trash", "--days", "7")

    assert list(Post.objects.values_list("pk", flat=True)) == [kept.pk]


def test_empty_trash_removes_comments_trashed_long_ago_too(author):
    post = make_post(author)
    long_ago = timezone.now() - timedelta(days=60)
    old = make_comment(post, status=Comment.Status.TRASH)
    Comment.objects.filter(pk=old.pk).update(created_at=long_ago, trashed_at=long_ago)
    # Written long ago but trashed yesterday: its thirty days have only begun.
    recent = make_comment(post, status=Comment.Status.TRASH)
    Comment.objects.filter(pk=recent.pk).update(
        created_at=long_ago, trashed_at=timezone.now() - timedelta(days=1)
    )

    output = run("empty_trash")

    assert list(Comment.objects.values_list("pk", flat=True)) == [recent.pk]
    assert "1 comments" in output


def test_empty_trash_refuses_negative_days(author):
    _trashed(author, days_ago=1)

    with pytest.raises(CommandError, match="--days"):
        run("empty_trash", "--days", "-1")

    assert Post.objects.filter(status=Post.Status.TRASH).count() == 1


# --- sync_roles --------------------------------------------------------------------


def test_sync_roles_restores_permissions_someone_removed():
    editors = Group.objects.get(name=roles.EDITOR)
    wanted = set(editors.permissions.values_list("pk", flat=True))
    editors.permissions.remove(*Permission.objects.filter(codename="moderate_comments"))
    editors.permissions.add(Permission.objects.get(codename="delete_user"))

    output = run("sync_roles")

    assert set(editors.permissions.values_list("pk", flat=True)) == wanted
    assert len(wanted) == len(roles.ROLE_PERMISSIONS[roles.EDITOR])
    assert re.search(rf"Editor\s+{len(wanted)} permissions", output)


def test_sync_roles_recreates_a_deleted_group_and_lists_every_role():
    Group.objects.filter(name=roles.CONTRIBUTOR).delete()

    output = run("sync_roles")

    contributors = Group.objects.get(name=roles.CONTRIBUTOR)
    assert contributors.permissions.count() == len(roles.ROLE_PERMISSIONS[roles.CONTRIBUTOR])
    for role in roles.ROLES:
        assert role in output
    assert Group.objects.get(name=roles.ADMINISTRATOR).permissions.count() == (
        Permission.objects.count()
    )
