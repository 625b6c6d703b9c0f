"""Writing through the API with an application password: the services' rules hold."""

from __future__ import annotations

import json

import pytest

from blog.models import Category, Comment, Post, Tag
from media_library.models import MediaItem
from tests.conftest import corpus
from tests.factories import PASSWORD, make_category, make_comment, make_post
from tests.media_library.test_upload import image_bytes
from wordpress.app_passwords import ApplicationPassword

from .conftest import basic

pytestmark = pytest.mark.django_db


def send(client, method, url, auth, body=None, **extra):
    payload = json.dumps(body) if body is not None else ""
    return getattr(client, method)(url, payload, content_type="application/json", **auth, **extra)


def test_author_creates_and_publishes_a_post_with_terms(client, author, app_auth, media_root):
    category, tag = make_category("News"), Tag.objects.create(name="py", slug="py")
    auth = app_auth(author)
    body = {
        "title": "From the API",
        "content": "<p>Hello <strong>API</strong></p><script>alert(1)</script>",
        "status": "publish",
        "categories": [category.pk],
        "tags": [tag.pk],
    }
    response = send(client, "post", "/wp-json/wp/v2/posts", auth, body)
    assert response.status_code == 201, response.json()
    data = response.json()
    assert response["Location"] == f"http://testserver/wp-json/wp/v2/posts/{data['id']}"
    assert data["status"] == "publish" and data["categories"] == [category.pk]
    assert data["content"]["raw"].startswith("<p>Hello")
    assert "<script" not in data["content"]["rendered"]
    public = client.get(f"/wp-json/wp/v2/posts/{data['id']}").json()
    assert public["title"]["rendered"] == "From the API" and public["tags"] == [tag.pk]


def test_contributor_cannot_publish_and_nothing_is_written(client, contributor, app_auth):
    response = send(
        client,
        "post",
        "/wp-json/wp/v2/posts",
        app_auth(contributor),
        {"title": "x", "status": "publish"},
    )
    assert response.status_code == 403
    assert response.json()["code"] == "rest_cannot_create"
    assert not Post.objects.exists()
    draft = send(client, "post", "/wp-json/wp/v2/posts", app_auth(contributor, "2"), {"title": "x"})
    assert draft.status_code == 201 and draft.json()["status"] == "draft"


def test_author_cannot_edit_someone_elses_post(client, author, other_author, app_auth):
    theirs = make_post(other_author, title="Theirs")
    response = send(
        client, "put", f"/wp-json/wp/v2/posts/{theirs.pk}", app_auth(author), {"title": "Mine"}
    )
    assert response.status_code == 403 and response.json()["code"] == "rest_cannot_edit"
    assert Post.objects.get(pk=theirs.pk).title == "Theirs"


def test_method_override_and_trash_then_force_delete(client, author, app_auth):
    post = make_post(author)
    auth = app_auth(author)
    patched = send(
        client, "post", f"/wp-json/wp/v2/posts/{post.pk}", auth, {"title": "Patched"},
        HTTP_X_HTTP_METHOD_OVERRIDE="PATCH",
    )  # fmt: skip
    assert patched.status_code == 200 and patched.json()["title"]["raw"] == "Patched"
    trashed = send(client, "post", f"/wp-json/wp/v2/posts/{post.pk}?_method=DELETE", auth)
    assert trashed.status_code == 200 and trashed.json()["status"] == "trash"
    again = send(client, "delete", f"/wp-json/wp/v2/posts/{post.pk}", auth)
    assert again.status_code == 410, again.content
    assert again.json()["code"] == "rest_already_trashed"
    gone = send(client, "delete", f"/wp-json/wp/v2/posts/{post.pk}?force=true", auth)
    assert gone.json()["deleted"] is True and not Post.objects.filter(pk=post.pk).exists()


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{not json", "rest_invalid_json"),
        ('["a list"]', "rest_invalid_json"),
        ('{"title": "x", "sticky": "very"}', "rest_invalid_param"),
        ('{"title": "x", "categories": "one"}', "rest_invalid_param"),
        ('{"title": "x", "colour": "red"}', "rest_invalid_param"),
        ('{"title": "x", "categories": [987654]}', "rest_invalid_param"),
    ],
)
def test_bad_bodies_are_400_and_change_nothing(client, editor, app_auth, body, code):
    response = client.post(
        "/wp-json/wp/v2/posts", body, content_type="application/json", **app_auth(editor)
    )
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not Post.objects.exists()


def test_huge_body_is_400(client, editor, app_auth, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    body = json.dumps({"title": "x", "content": "a" * 20_000})
    response = client.post(
        "/wp-json/wp/v2/posts", body, content_type="application/json", **app_auth(editor)
    )
    assert response.status_code == 400 and not Post.objects.exists()


def test_application_password_is_hashed_named_and_records_its_use(client, author, app_auth):
    auth = app_auth(author, "Phone")
    item = ApplicationPassword.objects.get(user=author)
    assert item.name == "Phone" and item.password_hash.startswith("blake2b$")
    assert item.last_used_at is None
    me = client.get("/wp-json/wp/v2/users/me", {"context": "edit"}, REMOTE_ADDR="10.1.2.3", **auth)
    assert me.status_code == 200 and me.json()["email"] == author.email
    item.refresh_from_db()
    assert item.last_used_at is not None and item.last_ip == "10.1.2.3"
    item.delete()  # revoked
    assert client.get("/wp-json/wp/v2/users/me", **auth).status_code == 401


def test_real_password_and_wrong_password_are_refused(client, author, app_auth):
    app_auth(author)
    for password in (PASSWORD, "abcd efgh ijkl mnop qrst uvwx"):
        response = client.get("/wp-json/wp/v2/posts", **basic(author, password))
        assert response.status_code == 401
        assert response.json()["code"] == "incorrect_password"


def test_application_password_does_not_log_in_to_the_site(client, author):
    from wordpress.app_passwords import app_password_create

    _, secret = app_password_create(user=author, name="cli", by=None)
    assert not client.login(username=author.username, password=secret)
    response = client.post("/accounts/login/", {"username": author.username, "password": secret})
    assert response.status_code == 200 and "_auth_user_id" not in client.session


def test_cookie_needs_the_nonce_from_the_page(client, author):
    client.login(username=author.username, password=PASSWORD)
    assert client.get("/wp-json/wp/v2/users/me").status_code == 401
    page = client.get("/accounts/profile/").content.decode()
    nonce = json.loads(
        page.split('id="wp-api-settings" type="application/json">')[1].split("</script>")[0]
    )["nonce"]
    me = client.get("/wp-json/wp/v2/users/me", HTTP_X_WP_NONCE=nonce)
    assert me.status_code == 200 and me.json()["id"] == author.pk
    bad = client.get("/wp-json/wp/v2/users/me", HTTP_X_WP_NONCE="0123456789")
    assert bad.status_code == 403 and bad.json()["code"] == "rest_cookie_invalid_nonce"


def test_media_upload_multipart_and_raw_body(client, author, app_auth, media_root):
    auth = app_auth(author)
    from django.core.files.uploadedfile import SimpleUploadedFile

    file = SimpleUploadedFile("sunset.jpg", image_bytes(), content_type="image/jpeg")
    response = client.post("/wp-json/wp/v2/media", {"file": file, "alt_text": "A sunset"}, **auth)
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["media_type"] == "image" and data["alt_text"] == "A sunset"
    assert data["media_details"]["width"] == 1200 and data["source_url"].startswith(
        "http://testserver/"
    )
    raw = client.post(
        "/wp-json/wp/v2/media", image_bytes(color=(1, 2, 3)), content_type="image/jpeg",
        HTTP_CONTENT_DISPOSITION='attachment; filename="raw.jpg"', **auth,
    )  # fmt: skip
    assert raw.status_code == 201 and raw.json()["title"]["raw"] == "raw"
    assert MediaItem.objects.count() == 2


def test_media_upload_refuses_payloads_and_missing_data(client, author, app_auth, media_root):
    auth = app_auth(author)
    svg = corpus("images", "payloads", "SVG_XSS1.svg").read_bytes()
    response = client.post(
        "/wp-json/wp/v2/media", svg, content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION="attachment; filename=x.svg", **auth,
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["code"] == "rest_upload_sideload_error"
    nothing = client.post("/wp-json/wp/v2/media", {}, **auth)
    assert nothing.status_code == 400 and nothing.json()["code"] == "rest_upload_no_data"
    assert not MediaItem.objects.exists()


def test_terms_read_and_written_by_editors_only(client, editor, author, app_auth):
    parent = make_category("Parent")
    make_post(author, categories=[parent])
    listed = client.get("/wp-json/wp/v2/categories").json()
    assert listed[0]["name"] == "Parent" and listed[0]["count"] == 1
    created = send(
        client,
        "post",
        "/wp-json/wp/v2/categories",
        app_auth(editor),
        {"name": "Child", "parent": parent.pk},
    )
    assert created.status_code == 201 and created.json()["parent"] == parent.pk
    refused = send(client, "post", "/wp-json/wp/v2/categories", app_auth(author), {"name": "Nope"})
    assert refused.status_code == 403 and not Category.objects.filter(name="Nope").exists()
    no_trash = send(
        client, "delete", f"/wp-json/wp/v2/categories/{parent.pk}", app_auth(editor, "e2")
    )
    assert no_trash.status_code == 501 and no_trash.json()["code"] == "rest_trash_not_supported"


def test_comments_public_approved_only_and_moderated_through_services(
    client, author, editor, subscriber, app_auth
):
    post = make_post(author)
    shown = make_comment(post, author_email="a@example.com")
    make_comment(post, status=Comment.Status.PENDING)
    listed = client.get("/wp-json/wp/v2/comments", {"post": post.pk}).json()
    assert [c["id"] for c in listed] == [shown.pk] and "author_email" not in listed[0]
    assert (
        client.post("/wp-json/wp/v2/comments", {"post": post.pk, "content": "hi"}).status_code
        == 401
    )
    created = send(
        client,
        "post",
        "/wp-json/wp/v2/comments",
        app_auth(subscriber),
        {"post": post.pk, "content": "First!"},
    )
    assert created.status_code == 201 and created.json()["status"] == "hold"
    approve = send(
        client,
        "post",
        f"/wp-json/wp/v2/comments/{created.json()['id']}",
        app_auth(editor),
        {"status": "approve"},
    )
    assert approve.status_code == 200 and approve.json()["status"] == "approved"
    assert Post.objects.get(pk=post.pk).comment_count == 2


def test_users_are_public_authors_only_and_emails_need_edit_context(client, author, subscriber):
    make_post(author)
    users = client.get("/wp-json/wp/v2/users").json()
    assert [u["id"] for u in users] == [author.pk] and "email" not in users[0]
    assert client.get(f"/wp-json/wp/v2/users/{subscriber.pk}").status_code == 401
    assert client.get("/wp-json/wp/v2/users/me").json()["code"] == "rest_not_logged_in"


def test_a_media_upload_while_every_processing_slot_is_busy_is_a_503_to_retry(
    client, author, app_auth, media_root, settings
):
    from contextlib import ExitStack

    from django.core.files.uploadedfile import SimpleUploadedFile

    from media_library import services as media_services
    from media_store import bounded

    auth = app_auth(author)
    file = SimpleUploadedFile("busy.jpg", image_bytes(), content_type="image/jpeg")
    with ExitStack() as held:  # other uploads hold every slot of this instance
        for _ in range(settings.MEDIA_UPLOAD_SLOTS):
            held.enter_context(
                bounded.slot(settings.MEDIA_UPLOAD_SLOTS, media_services._slot_directory())
            )
        response = client.post("/wp-json/wp/v2/media", {"file": file}, **auth)

    assert response.status_code == 503
    assert response.json()["code"] == "rest_upload_busy"
    assert int(response["Retry-After"]) > 0
    assert not MediaItem.objects.exists()
