"""The writer's desk over HTTP: the editor's markup, the live preview (the public page's own
rendering, before the first save), "Publish immediately / Schedule for", the featured image."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog import services
from blog.models import Post
from media_library.models import MediaItem
from tests.blog.test_admin_posts import post_form
from tests.factories import PASSWORD
from tests.media_library.test_upload import image_bytes, upload

pytestmark = pytest.mark.django_db

ADD_POST = reverse("admin:blog_post_add")
PREVIEW = reverse("admin:blog_post_preview_body")


def login(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def photo(client, author, django_capture_on_commit_callbacks) -> MediaItem:
    login(client, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, image_bytes((900, 600)), "harbour.jpg", alt_text="Boats")
    client.logout()
    return MediaItem.objects.get(pk=response.json()["id"])


def test_post_form_loads_the_editor_modules_and_points_them_at_preview_and_library(client, author):
    html = login(client, author).get(ADD_POST).content.decode()
    assert "vendor/easymde-2.21.0/dist/easymde.min.js" in html
    assert 'type="module" src="/static/desk/editor.js"' in html
    assert f'data-preview-url="{PREVIEW}"' in html
    assert f'data-chooser-url="{reverse("admin:media_library_mediaitem_chooser")}"' in html
    assert f'data-upload-url="{reverse("admin:media_library_mediaitem_upload")}"' in html
    # No inline script or handler, so a strict Content-Security-Policy holds.
    assert "onclick=" not in html
    assert "Publish immediately" in html
    assert "Schedule for" in html


def test_contributor_gets_the_editor_without_the_library(client, contributor):
    html = login(client, contributor).get(ADD_POST).content.decode()
    assert "data-markdown-editor" in html
    assert 'data-chooser-url=""' in html
    assert 'data-upload-url=""' in html
    assert "data-featured-choose" not in html


def test_preview_renders_like_the_public_page_before_the_first_save(client, author, photo):
    body = f"# Harbour\n\nSome **bold** words.\n\n![Boats at dawn](media:{photo.pk})"
    preview = login(client, author).post(PREVIEW, {"body": body, "body_format": "markdown"})
    assert preview.status_code == 200
    data = preview.json()
    assert data["warnings"] == []
    assert not Post.objects.exists()  # nothing saved

    post = services.post_write(
        post=Post(title="Harbour", body=body, status=Post.Status.PUBLISHED), by=author
    )
    public = client.get(post.get_absolute_url()).content.decode()
    assert data["html"].strip() in public
    assert "<strong>bold</strong>" in data["html"]
    assert 'alt="Boats at dawn"' in data["html"]
    assert photo.get_absolute_url() in data["html"]


def test_preview_sanitizes_like_the_public_page(client, author):
    body = '<p onclick="steal()">Hi</p><script>alert(1)</script><iframe src="https://x.test/"></iframe>'
    data = login(client, author).post(PREVIEW, {"body": body, "body_format": "html"}).json()
    assert "onclick" not in data["html"]
    assert "<script" not in data["html"]
    assert "<iframe" not in data["html"]  # authors may not embed


def test_preview_does_not_show_an_image_the_writer_may_not_use(client, other_author, photo):
    body = f"![theirs](media:{photo.pk})"
    data = login(client, other_author).post(PREVIEW, {"body": body}).json()
    assert photo.get_absolute_url() not in data["html"]
    assert data["warnings"] == [f"You may not use media item {photo.pk}."]


def test_preview_is_for_writers_only(client, subscriber, author):
    assert client.post(PREVIEW, {"body": "x"}).status_code == 302  # to the login
    subscriber.is_staff = True
    subscriber.save()
    assert login(client, subscriber).post(PREVIEW, {"body": "x"}).status_code == 403
    client.logout()
    assert login(client, author).get(PREVIEW).status_code == 405


def test_publish_immediately_stamps_now_and_schedule_for_sets_the_date(client, author):
    login(client, author)
    before = timezone.now()
    ignored = before + timedelta(days=9)  # a date left in the hidden fields
    client.post(
        ADD_POST, post_form(title="Now", status="publish", publish_when="now", when=ignored)
    )
    now_post = Post.objects.get(title="Now")
    assert now_post.status == Post.Status.PUBLISHED
    assert before - timedelta(seconds=1) <= now_post.published_at <= timezone.now()

    later = timezone.now() + timedelta(days=2)
    client.post(
        ADD_POST, post_form(title="Later", status="publish", publish_when="date", when=later)
    )
    scheduled = Post.objects.get(title="Later")
    assert scheduled.status == Post.Status.FUTURE
    assert abs(scheduled.published_at - later) < timedelta(seconds=1)


def test_editing_a_published_post_with_now_keeps_its_date(client, author):
    login(client, author)
    client.post(ADD_POST, post_form(title="Kept", status="publish", publish_when="now"))
    post = Post.objects.get(title="Kept")
    first = post.published_at
    url = reverse("admin:blog_post_change", args=[post.pk])
    html = client.get(url).content.decode()
    assert "Published on" in html
    client.post(url, post_form(title="Kept", body="Changed.", status="publish", publish_when="now"))
    post.refresh_from_db()
    assert post.published_at == first


def test_featured_image_shows_as_a_thumbnail_with_remove(client, author, photo):
    login(client, author)
    client.post(ADD_POST, post_form(title="With image", featured_image=photo.pk))
    post = Post.objects.get(title="With image")
    assert post.featured_image == photo
    html = client.get(reverse("admin:blog_post_change", args=[post.pk])).content.decode()
    assert f'name="featured_image" id="id_featured_image" value="{photo.pk}"' in html
    thumb = photo.rendition("thumbnail") or photo.rendition("full")
    assert photo.url(thumb["file"]) in html
    assert "data-featured-remove>" in html  # shown, not hidden

    client.post(reverse("admin:blog_post_change", args=[post.pk]), post_form(title="With image"))
    post.refresh_from_db()
    assert post.featured_image is None


def test_featured_image_of_someone_elses_library_is_refused(client, other_author, photo):
    response = login(client, other_author).post(
        ADD_POST, post_form(title="Not mine", featured_image=photo.pk)
    )
    assert response.status_code == 200
    assert f"You may not use media item {photo.pk}." in response.content.decode()
    assert not Post.objects.exists()
