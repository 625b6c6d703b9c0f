"""The Comments and Pages lists, laid out like WordPress's screens: what each row shows
and the row actions under it (the layout itself is checked in a browser, test_desk_lists)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from blog.models import Comment
from tests.blog.test_admin_posts import messages_of
from tests.factories import make_comment, make_page, make_post

pytestmark = pytest.mark.django_db

COMMENTS = reverse("admin:blog_comment_changelist")
PAGES = reverse("admin:blog_page_changelist")


def row_of(html: str, text: str) -> str:
    """The table row holding `text`."""
    rows = re.findall(r"<tr[^>]*>.*?</tr>", html, re.S)
    return next(row for row in rows if text in row)


def test_a_comment_row_shows_who_what_on_which_post_and_its_row_actions(client, editor, author):
    post = make_post(author, title="Harbour notes")
    first = make_comment(post, author_name="Pat", author_email="pat@example.org", body="Lovely.")
    reply = make_comment(
        post,
        parent=first,
        author_name="Sam",
        author_email="sam@example.org",
        body="I <em>agree</em> " + "very " * 40 + "much.",
        status="pending",
    )
    client.force_login(editor)

    html = client.get(COMMENTS).content.decode()

    row = row_of(html, "sam@example.org")
    assert 'href="mailto:sam@example.org"' in row
    assert "I agree very" in row and "much." not in row  # the comment's first words
    assert "In reply to Pat." in row
    post_url = reverse("admin:blog_post_change", args=[post.pk])
    assert f'<a href="{post_url}">Harbour notes</a>' in row
    actions = re.findall(r'formaction="([^"]+)"[^>]*>(\w+)<', row)
    assert [label for _, label in actions] == ["Approve", "Spam", "Trash"]
    assert reverse("admin:blog_comment_change", args=[reply.pk]) in row
    approved_row = row_of(html, "pat@example.org")
    assert re.findall(r">(Approve|Spam|Trash)</button>", approved_row) == ["Spam", "Trash"]


def test_a_row_action_moderates_and_comes_back_to_the_filtered_list(client, editor, author):
    post = make_post(author, title="Harbour notes")
    waiting = make_comment(post, author_name="Pat", status="pending")
    client.force_login(editor)
    listed = f"{COMMENTS}?status=pending"
    html = client.get(listed).content.decode()
    approve = re.search(r'formaction="([^"]+/approve/)"', row_of(html, "Pat")).group(1)

    response = client.post(approve, HTTP_REFERER=f"http://testserver{listed}")

    assert response.status_code == 302 and response.url == f"http://testserver{listed}"
    assert messages_of(response) == ["Approved: the comment by Pat."]
    assert Comment.objects.get(pk=waiting.pk).status == "approved"
    elsewhere = client.post(approve, HTTP_REFERER="https://evil.example/")
    assert elsewhere.url == reverse("admin:index")


def test_pages_are_listed_as_a_tree_with_their_status_date_and_author(client, editor, author):
    about = make_page(author, title="About", slug="about")
    team = make_page(author, title="Team", slug="team", parent=about)
    make_page(author, title="Alice", slug="alice", parent=team)
    make_page(author, title="Contact", slug="contact", status="draft")
    client.force_login(editor)

    response = client.get(PAGES)

    titles = [
        re.sub(r"<[^>]+>", "", t)
        for t in re.findall(r'class="desk-title[^"]*">(.*?)</strong>', response.content.decode())
    ]
    assert titles == ["About", "— Team", "— — Alice", "Contact — Draft"]
    headers = [
        h.lower()
        for h in re.findall(r'<th scope="col" class="[^"]*column-(\w+)', response.content.decode())
    ]
    assert headers == ["title_column", "author", "display_status", "date"]
    row = row_of(response.content.decode(), "— Team")
    assert ">Edit</a>" in row and ">View</a>" in row and ">Trash</a>" in row
    assert ">Preview</a>" in row_of(response.content.decode(), "Contact")


def test_a_post_rows_checkbox_is_djangos_own_and_selects_the_post_for_an_action(
    client, editor, author
):
    from django.contrib import admin as django_admin

    from blog.models import Post

    post = make_post(author, title="Tom & Jerry <3", status="draft")
    client.force_login(editor)
    posts = reverse("admin:blog_post_changelist")
    model_admin = django_admin.site._registry[Post]

    html = client.get(posts).content.decode()

    assert str(django_admin.ModelAdmin.action_checkbox(model_admin, post)) in row_of(html, "Tom")
    response = client.post(posts, {"action": "publish", "_selected_action": [str(post.pk)]})
    assert response.status_code == 302
    assert Post.objects.get(pk=post.pk).status == "publish"
