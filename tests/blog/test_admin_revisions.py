"""Revision history in the admin: every save is kept, compared safely, and restorable."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from blog import services
from blog.models import Post, Revision
from tests.blog.test_admin_posts import change_url, messages_of, post_form
from tests.factories import make_page, make_post

pytestmark = pytest.mark.django_db

ATTACK = "<script>alert(1)</script>"


def revisions_url(post) -> str:
    return reverse(f"admin:blog_{post.kind}_revisions", args=[post.pk])


def compare_url(post, revision, against=None) -> str:
    url = reverse(f"admin:blog_{post.kind}_revision_compare", args=[post.pk, revision.pk])
    return f"{url}?against={against.pk}" if against else url


def restore_url(post, revision) -> str:
    return reverse(f"admin:blog_{post.kind}_revision_restore", args=[post.pk, revision.pk])


@pytest.fixture
def edited_post(author):
    """A draft saved twice through the services: two revisions, the second one current."""
    post = services.post_write(
        post=Post(title="First title", body="Line one\nLine two", author=author), by=author
    )
    post.title, post.body = "Second title", f"Line one\n{ATTACK}"
    services.post_write(post=post, by=author)
    return post


def oldest(post) -> Revision:
    return post.revisions.order_by("created_at", "id").first()


def test_every_content_save_in_the_admin_keeps_a_revision(client, author):
    client.force_login(author)
    client.post(reverse("admin:blog_post_add"), post_form(title="Kept", body="v1"))
    post = Post.objects.get(title="Kept")
    client.post(change_url(post), post_form(title="Kept", body="v2"))
    assert list(post.revisions.values_list("body", flat=True)) == ["v2", "v1"]
    assert post.revisions.first().author == author

    # Saving without a content change (here: only the sticky flag) adds nothing.
    client.post(change_url(post), post_form(title="Kept", body="v2", sticky="on"))
    assert post.revisions.count() == 2


def test_change_page_links_to_the_revisions(client, author, edited_post):
    client.force_login(author)
    response = client.get(change_url(edited_post))
    assert response.status_code == 200
    assert f'href="{revisions_url(edited_post)}"'.encode() in response.content
    assert b"Revisions (2)" in response.content


def test_revisions_page_lists_them_newest_first(client, author, edited_post):
    client.force_login(author)
    response = client.get(revisions_url(edited_post))
    assert response.status_code == 200
    titles = [row["revision"].title for row in response.context["rows"]]
    assert titles == ["Second title", "First title"]


def test_compare_shows_the_diff_escaped_never_raw(client, author, edited_post):
    client.force_login(author)
    response = client.get(compare_url(edited_post, oldest(edited_post)))
    assert response.status_code == 200
    html = response.content.decode()
    assert ATTACK not in html
    assert "+&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<span class="diff-removed">-Line two</span>' in html
    assert '<span class="diff-added">+Second title</span>' in html


def test_compare_two_revisions_with_each_other(client, author, edited_post):
    first = oldest(edited_post)
    edited_post.body = "Third body"
    services.post_write(post=edited_post, by=author)
    second = edited_post.revisions.get(body=f"Line one\n{ATTACK}")
    client.force_login(author)
    response = client.get(compare_url(edited_post, first, against=second))
    html = response.content.decode()
    assert "Third body" not in html
    assert "+&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_restore_brings_back_the_old_content_as_a_new_revision(client, author, edited_post):
    client.force_login(author)
    response = client.post(restore_url(edited_post, oldest(edited_post)))
    assert response.status_code == 302
    assert response.url == change_url(edited_post)
    assert any(m.startswith("Restored the revision of") for m in messages_of(response))
    edited_post.refresh_from_db()
    assert (edited_post.title, edited_post.body) == ("First title", "Line one\nLine two")
    assert edited_post.revisions.count() == 3
    assert edited_post.revisions.first().title == "First title"


def test_restore_by_get_changes_nothing(client, author, edited_post):
    client.force_login(author)
    response = client.get(restore_url(edited_post, oldest(edited_post)))
    assert response.status_code == 405
    edited_post.refresh_from_db()
    assert edited_post.title == "Second title"
    assert edited_post.revisions.count() == 2


def test_restore_needs_the_csrf_token(author, edited_post):
    client = Client(enforce_csrf_checks=True)
    client.force_login(author)
    response = client.post(restore_url(edited_post, oldest(edited_post)))
    assert response.status_code == 403
    edited_post.refresh_from_db()
    assert edited_post.title == "Second title"


def test_someone_who_cannot_edit_the_post_gets_403(client, other_author, edited_post):
    client.force_login(other_author)
    revision = oldest(edited_post)
    assert client.get(revisions_url(edited_post)).status_code == 403
    assert client.get(compare_url(edited_post, revision)).status_code == 403
    assert client.post(restore_url(edited_post, revision)).status_code == 403
    edited_post.refresh_from_db()
    assert edited_post.title == "Second title"


def test_contributor_cannot_restore_into_their_published_post(client, contributor):
    post = services.post_write(post=Post(title="Old", author=contributor), by=contributor)
    post.title = "New"
    services.post_write(post=post, by=contributor)
    Post.objects.filter(pk=post.pk).update(status=Post.Status.PUBLISHED)  # an editor published it
    client.force_login(contributor)
    assert client.post(restore_url(post, oldest(post))).status_code == 403
    post.refresh_from_db()
    assert post.title == "New"


def test_a_revision_of_another_post_is_not_found(client, author, edited_post):
    other = services.post_write(post=Post(title="Other", author=author), by=author)
    client.force_login(author)
    response = client.post(restore_url(other, oldest(edited_post)))
    assert response.status_code == 404
    other.refresh_from_db()
    assert other.title == "Other"


def test_editor_restores_a_page_revision(client, editor):
    page = make_page(editor, title="About v0")
    page.title = "About v1"
    services.post_write(post=page, by=editor)
    page.title = "About v2"
    services.post_write(post=page, by=editor)
    client.force_login(editor)
    response = client.post(restore_url(page, oldest(page)))
    assert response.status_code == 302
    page.refresh_from_db()
    assert page.title == "About v1"


def test_revision_list_in_the_admin_hides_other_authors_history(
    client, author, other_author, edited_post
):
    theirs = make_post(other_author)
    services.post_write(post=theirs, by=other_author)
    theirs.title = "Changed by Ford"
    services.post_write(post=theirs, by=other_author)
    client.force_login(author)
    response = client.get(reverse("admin:blog_revision_changelist"))
    assert response.status_code == 200
    shown = {revision.post_id for revision in response.context["cl"].result_list}
    assert shown == {edited_post.pk}
