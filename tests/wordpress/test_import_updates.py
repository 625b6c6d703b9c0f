"""A later export of the same site: what changed in WordPress is updated here, unless it was
edited here since the import (then ours is kept and the report says so)."""

from __future__ import annotations

import pytest

from blog import services
from blog.models import Comment, Post
from tests.wordpress.conftest import run_import, wxr

pytestmark = pytest.mark.django_db

HELLO_BODY = (
    "Welcome to WordPress. This is your first post. Edit or delete it, then start blogging!"
)
COMMENT_BODY = "Hi, this is a comment.<br />To delete a comment"


def _later_export(tmp_path, *, title="Hello again", body="Rewritten in WordPress.", comment=""):
    """small-export.xml as WordPress exports it after someone edited "Hello world!" there."""
    text = wxr("small-export.xml").read_text()
    text = text.replace("<title>Hello world!</title>", f"<title>{title}</title>", 1)
    text = text.replace(HELLO_BODY, body, 1)
    text = text.replace(
        "<wp:post_date_gmt>2011-01-18 07:40:14</wp:post_date_gmt>",
        "<wp:post_date_gmt>2011-01-18 07:40:14</wp:post_date_gmt>"
        "<wp:post_modified_gmt>2012-03-04 05:06:07</wp:post_modified_gmt>",
        1,
    )
    if comment:
        text = text.replace(COMMENT_BODY, comment, 1)
    later = tmp_path / "later-export.xml"
    later.write_text(text)
    return later


def _row(out: str, kind: str) -> list[str]:
    """A kind's created/updated/skipped/failed counts from the printed report."""
    line = next(line for line in out.splitlines() if line.split()[:1] == [kind])
    return line.split()[1:5]


def test_a_later_export_updates_a_post_and_a_comment_changed_in_wordpress(importer, tmp_path):
    assert run_import(wxr("small-export.xml")).code == 0
    posts, comments = Post.objects.count(), Comment.objects.count()
    later = _later_export(tmp_path, comment="Edited by its author in WordPress.")

    result = run_import(later)

    assert result.code == 0, result.out
    assert _row(result.out, "post") == ["0", "1", "5", "0"]  # created updated skipped failed
    assert _row(result.out, "comment") == ["0", "1", "0", "0"]
    assert (Post.objects.count(), Comment.objects.count()) == (posts, comments)
    post = Post.objects.get(slug="hello-world")
    assert post.title == "Hello again"
    assert "Rewritten in WordPress." in post.body_html
    assert post.revisions.count() == 2  # as imported, then as updated
    comment = post.comments.get()
    assert "Edited by its author in WordPress." in comment.body_html
    assert post.comment_count == 1
    assert "CONFLICT" not in result.out


def test_running_the_later_export_again_changes_nothing(importer, tmp_path):
    run_import(wxr("small-export.xml"))
    later = _later_export(tmp_path)
    run_import(later)
    again = run_import(later)
    assert _row(again.out, "post") == ["0", "0", "6", "0"]
    assert Post.objects.get(slug="hello-world").revisions.count() == 2


def test_a_post_edited_here_since_the_import_is_kept_and_reported(importer, tmp_path):
    run_import(wxr("small-export.xml"))
    post = Post.objects.get(slug="hello-world")
    post.title, post.body = "Our own title", "Edited on cloudblog."
    services.post_write(post=post, by=importer)

    result = run_import(_later_export(tmp_path))

    assert result.code == 0, result.out
    assert "CONFLICT post 1 'Hello again'" in result.out
    assert _row(result.out, "post") == ["0", "0", "6", "0"]
    post.refresh_from_db()
    assert post.title == "Our own title" and "Edited on cloudblog." in post.body_html


def test_a_comment_moderated_here_is_kept_when_wordpress_changed_it_too(importer, tmp_path):
    run_import(wxr("small-export.xml"))
    comment = Comment.objects.get()
    comment.body = "Trimmed by our moderator."
    comment.author_email = "mr@wordpress.example"  # the edit form requires one
    services.comment_update(comment=comment, by=importer)

    result = run_import(_later_export(tmp_path, comment="Edited in WordPress."))

    assert "CONFLICT comment 1" in result.out
    comment.refresh_from_db()
    assert comment.body == "Trimmed by our moderator."
    # The post itself was not edited here: it follows WordPress.
    assert Post.objects.get(slug="hello-world").title == "Hello again"


def test_the_admin_report_lists_conflicts(client, importer, tmp_path):
    from wordpress.models import ImportRun

    run_import(wxr("small-export.xml"))
    post = Post.objects.get(slug="hello-world")
    post.body = "Edited on cloudblog."
    services.post_write(post=post, by=importer)
    run_import(_later_export(tmp_path))
    run = ImportRun.objects.latest()
    assert run.report["counts"]["post"]["skipped"] == 6
    client.force_login(importer)
    page = client.get(run.get_absolute_url()).content.decode()
    assert "Conflict" in page and "Hello again" in page
