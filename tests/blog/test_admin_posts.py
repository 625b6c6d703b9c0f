"""The post and page editor in the admin, with WordPress roles enforced over HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from blog.models import Post
from tests.factories import make_page, make_post

pytestmark = pytest.mark.django_db

ADD_POST = reverse("admin:blog_post_add")
POSTS = reverse("admin:blog_post_changelist")
ADD_PAGE = reverse("admin:blog_page_add")
PAGES = reverse("admin:blog_page_changelist")


def change_url(post) -> str:
    return reverse(f"admin:blog_{post.kind}_change", args=[post.pk])


def post_form(*, when=None, **fields) -> dict:
    """What the editor form sends; `when` fills the split published_at widget."""
    data = {
        "title": "Hello admin",
        "slug": "",
        "body": "A body.",
        "body_format": "markdown",
        "excerpt": "",
        "status": "draft",
        "published_at_0": "",
        "published_at_1": "",
        "comment_status": "open",
        "password": "",
        "featured_image": "",
        "menu_order": "0",
        "parent": "",
    }
    if when is not None:
        local = timezone.localtime(when)
        data["published_at_0"] = f"{local:%Y-%m-%d}"
        data["published_at_1"] = f"{local:%H:%M:%S}"
    data.update({key: str(value) for key, value in fields.items()})
    return data


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def run_action(client, url: str, action: str, posts) -> list[str]:
    response = client.post(url, {"action": action, "_selected_action": [p.pk for p in posts]})
    assert response.status_code == 302
    return messages_of(response)


# --- Who gets in --------------------------------------------------------------


def test_subscriber_cannot_reach_the_admin(client, subscriber):
    client.force_login(subscriber)
    for url in (reverse("admin:index"), POSTS, ADD_POST):
        response = client.get(url)
        assert response.status_code == 302
        assert response.url.startswith(reverse("admin:login"))


def test_contributor_sees_only_their_own_posts_in_the_list(client, contributor, author):
    mine = make_post(contributor, title="Mine to see", status=Post.Status.DRAFT)
    make_post(author, title="Someone else's")
    client.force_login(contributor)
    response = client.get(POSTS)
    assert response.status_code == 200
    assert list(response.context["cl"].result_list) == [mine]


def test_author_cannot_open_the_pages_admin(client, author):
    page = make_page(author)
    client.force_login(author)
    assert client.get(PAGES).status_code == 403
    assert client.get(ADD_PAGE).status_code == 403
    assert client.get(change_url(page)).status_code == 403


# --- Contributors -------------------------------------------------------------


def test_contributor_saves_a_draft_then_submits_it_for_review(client, contributor):
    client.force_login(contributor)
    response = client.post(ADD_POST, post_form(title="First try"))
    assert response.status_code == 302
    post = Post.objects.get(title="First try")
    assert (post.author, post.status, post.kind) == (contributor, "draft", "post")
    assert post.slug == "first-try"

    response = client.post(change_url(post), post_form(title="First try", status="pending"))
    assert response.status_code == 302
    post.refresh_from_db()
    assert post.status == Post.Status.PENDING


def test_contributor_forged_publish_is_refused_and_nothing_is_published(client, contributor):
    client.force_login(contributor)
    response = client.post(ADD_POST, post_form(title="Sneaky", status="publish"))
    assert response.status_code == 200
    assert "status" in response.context["adminform"].form.errors
    assert not Post.objects.filter(title="Sneaky").exists()

    draft = make_post(contributor, status=Post.Status.DRAFT)
    response = client.post(change_url(draft), post_form(title=draft.title, status="publish"))
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == Post.Status.DRAFT


def test_contributor_status_choices_are_draft_and_pending_only(client, contributor):
    client.force_login(contributor)
    form = client.get(ADD_POST).context["adminform"].form
    assert [value for value, _ in form.fields["status"].choices] == ["draft", "pending"]


def test_contributor_cannot_open_or_change_another_authors_post(client, contributor, author):
    post = make_post(author, status=Post.Status.DRAFT, title="Not yours")
    client.force_login(contributor)
    assert client.get(change_url(post)).status_code == 403
    response = client.post(change_url(post), post_form(title="Defaced"))
    assert response.status_code == 403
    post.refresh_from_db()
    assert post.title == "Not yours"


def test_contributor_cannot_change_their_own_post_once_published(client, contributor):
    post = make_post(contributor, title="Published by an editor")
    client.force_login(contributor)
    assert client.get(change_url(post)).status_code == 403
    response = client.post(change_url(post), post_form(title="Changed", status="pending"))
    assert response.status_code == 403
    post.refresh_from_db()
    assert (post.title, post.status) == ("Published by an editor", Post.Status.PUBLISHED)


# --- Authors ------------------------------------------------------------------


def test_author_publishes_their_own_post(client, author):
    client.force_login(author)
    response = client.post(ADD_POST, post_form(title="Out now", status="publish"))
    assert response.status_code == 302
    post = Post.objects.get(title="Out now")
    assert post.status == Post.Status.PUBLISHED
    assert post.published_at is not None and post.is_public


def test_author_cannot_change_another_authors_post(client, author, other_author):
    post = make_post(other_author, title="Ford's")
    client.force_login(author)
    assert client.get(change_url(post)).status_code == 403
    assert client.post(change_url(post), post_form(title="Arthur's now")).status_code == 403
    post.refresh_from_db()
    assert post.title == "Ford's"


def test_author_cannot_write_as_someone_else(client, author, other_author):
    client.force_login(author)
    client.post(ADD_POST, post_form(title="Forged byline", author=other_author.pk))
    assert Post.objects.get(title="Forged byline").author == author

    post = make_post(author, status=Post.Status.DRAFT)
    client.post(change_url(post), post_form(title=post.title, author=other_author.pk))
    post.refresh_from_db()
    assert post.author == author


def test_saving_with_a_future_date_schedules_the_post(client, author):
    client.force_login(author)
    when = timezone.now() + timedelta(days=2)
    client.post(ADD_POST, post_form(title="Tomorrow-ish", status="publish", when=when))
    post = Post.objects.get(title="Tomorrow-ish")
    assert post.status == Post.Status.FUTURE
    assert not post.is_public


def test_scheduled_post_whose_time_passed_reads_published_in_the_list(client, author):
    make_post(author, status=Post.Status.FUTURE, published_at=timezone.now() - timedelta(minutes=5))
    client.force_login(author)
    response = client.get(POSTS)
    assert b'<td class="field-display_status">Published</td>' in response.content


def test_draft_links_to_its_preview_and_published_post_to_the_site(client, author):
    draft = make_post(author, status=Post.Status.DRAFT)
    live = make_post(author)
    client.force_login(author)
    response = client.get(change_url(draft))
    assert f'href="{reverse("blog:preview", args=[draft.pk])}"'.encode() in response.content
    response = client.get(change_url(live))
    assert response.context["has_absolute_url"]
    assert f'href="{live.get_absolute_url()}"'.encode() in client.get(POSTS).content


def test_a_clashing_slug_is_shown_on_the_slug_field(client, author):
    make_post(author, slug="taken")
    client.force_login(author)
    response = client.post(ADD_POST, post_form(title="Another", slug="taken"))
    assert response.status_code == 200
    assert "slug" in response.context["adminform"].form.errors
    assert not Post.objects.filter(title="Another").exists()


def test_service_rules_show_as_form_errors_and_save_nothing(client, author):
    client.force_login(author)
    data = post_form(title="Locked twice", status="private", password="sesame")
    response = client.post(ADD_POST, data)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors["password"] == ["A private post cannot also have a password."]
    assert not Post.objects.filter(title="Locked twice").exists()


# --- Editors and pages --------------------------------------------------------


def test_editor_edits_anyones_post_and_can_reassign_it(client, editor, author, other_author):
    post = make_post(author, title="Arthur's draft", status=Post.Status.PENDING)
    client.force_login(editor)
    response = client.post(
        change_url(post),
        post_form(title="Edited by Edith", status="publish", author=other_author.pk),
    )
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.title, post.status, post.author) == ("Edited by Edith", "publish", other_author)


def test_editor_creates_a_child_page(client, editor):
    parent = make_page(editor, title="About", slug="about")
    client.force_login(editor)
    response = client.post(
        ADD_PAGE, post_form(title="Team", status="publish", parent=parent.pk, author=editor.pk)
    )
    assert response.status_code == 302
    page = Post.objects.get(title="Team")
    assert (page.kind, page.parent, page.path) == ("page", parent, "about/team")


def test_page_parent_must_be_a_page_and_not_its_own_descendant(client, editor):
    top = make_page(editor, slug="top")
    child = make_page(editor, slug="child", parent=top)
    post = make_post(editor)
    client.force_login(editor)
    data = post_form(title="Top", status="publish", author=editor.pk, slug="top")
    response = client.post(change_url(top), {**data, "parent": post.pk})
    assert "parent" in response.context["adminform"].form.errors
    response = client.post(change_url(top), {**data, "parent": child.pk})
    assert "parent" in response.context["adminform"].form.errors
    top.refresh_from_db()
    assert top.parent is None


# --- Trash and bulk actions ---------------------------------------------------


def test_deleting_moves_the_post_to_the_trash(client, author):
    post = make_post(author, title="Regrets")
    client.force_login(author)
    delete_url = reverse("admin:blog_post_delete", args=[post.pk])
    assert b"Move the post" in client.get(delete_url).content
    response = client.post(delete_url, {"post": "yes"})
    assert response.status_code == 302
    post.refresh_from_db()
    assert (post.status, post.status_before_trash) == ("trash", "publish")
    assert "“Regrets” was moved to the Trash." in messages_of(response)


def test_trash_is_left_out_of_the_list_unless_asked_for(client, author):
    kept = make_post(author)
    trashed = make_post(author, status=Post.Status.TRASH)
    client.force_login(author)
    assert list(client.get(POSTS).context["cl"].result_list) == [kept]
    response = client.get(POSTS, {"status": "trash"})
    assert list(response.context["cl"].result_list) == [trashed]
    assert b"Trash (1)" in response.content


def test_trashed_post_is_read_only(client, author):
    post = make_post(author, status=Post.Status.TRASH, title="In the bin")
    client.force_login(author)
    assert client.get(change_url(post)).status_code == 200
    assert client.post(change_url(post), post_form(title="Edited")).status_code == 403
    post.refresh_from_db()
    assert post.title == "In the bin"


def test_contributors_bulk_publish_is_refused_post_by_post(client, contributor):
    drafts = [make_post(contributor, status=Post.Status.DRAFT, title=f"Draft {n}") for n in (1, 2)]
    client.force_login(contributor)
    messages = run_action(client, POSTS, "publish", drafts)
    [refusal] = messages
    assert refusal.startswith("Refused 2:")
    assert "“Draft 1” (You may not publish this.)" in refusal and "“Draft 2”" in refusal
    assert not Post.objects.filter(status=Post.Status.PUBLISHED).exists()


def test_author_bulk_publishes_their_drafts(client, author):
    drafts = [make_post(author, status=Post.Status.DRAFT) for _ in range(2)]
    client.force_login(author)
    assert run_action(client, POSTS, "publish", drafts) == ["Published 2 posts."]
    assert {p.status for p in Post.objects.filter(pk__in=[d.pk for d in drafts])} == {"publish"}


def test_bulk_trash_moves_what_it_may_and_names_the_rest(client, contributor):
    draft = make_post(contributor, status=Post.Status.DRAFT)
    published = make_post(contributor, title="Live one")
    client.force_login(contributor)
    messages = run_action(client, POSTS, "trash", [draft, published])
    assert "Moved to the Trash: 1 post." in messages
    assert any("Refused 1: “Live one”" in m for m in messages)
    draft.refresh_from_db()
    published.refresh_from_db()
    assert (draft.status, published.status) == ("trash", "publish")


def test_bulk_restore_brings_posts_back_with_their_old_status(client, author):
    by_author = make_post(author, status=Post.Status.TRASH, status_before_trash="publish")
    client.force_login(author)
    messages = run_action(client, f"{POSTS}?status=trash", "restore", [by_author])
    assert messages == ["Restored 1 post."]
    by_author.refresh_from_db()
    assert by_author.status == Post.Status.PUBLISHED


def test_contributor_restores_a_once_published_post_as_a_draft(client, contributor):
    post = make_post(contributor, status=Post.Status.TRASH, status_before_trash="publish")
    client.force_login(contributor)
    assert run_action(client, f"{POSTS}?status=trash", "restore", [post]) == ["Restored 1 post."]
    post.refresh_from_db()
    assert post.status == Post.Status.DRAFT


def test_actions_cannot_reach_posts_outside_the_users_list(client, author, other_author):
    theirs = make_post(other_author, status=Post.Status.DRAFT)
    client.force_login(author)
    run_action(client, POSTS, "trash", [theirs])
    theirs.refresh_from_db()
    assert theirs.status == Post.Status.DRAFT


def test_editor_trashes_a_page_from_the_pages_list(client, editor, author):
    page = make_page(author, title="Old page")
    client.force_login(editor)
    assert run_action(client, PAGES, "trash", [page]) == ["Moved to the Trash: 1 page."]
    page.refresh_from_db()
    assert page.status == Post.Status.TRASH
