"""The media library in the admin: upload form, thumbnails, alt text, filters, "used in",
and who sees what (author, other author, editor)."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from blog import services
from blog.models import Post
from media_library.models import MediaItem
from tests.factories import PASSWORD
from tests.media_library.test_upload import image_bytes, upload

CHANGELIST = "admin:media_library_mediaitem_changelist"


def _login(client, user):
    assert client.login(username=user.username, password=PASSWORD)


@pytest.fixture
def item(client, author, django_capture_on_commit_callbacks):
    _login(client, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, image_bytes((800, 600)), "garden.jpg", alt_text="Roses")
    client.logout()
    return MediaItem.objects.get(pk=response.json()["id"])


def test_admin_upload_form_creates_the_item(client, author, django_capture_on_commit_callbacks):
    _login(client, author)
    file = SimpleUploadedFile("tulips.jpg", image_bytes((640, 480)))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:media_library_mediaitem_add"),
            {"upload": file, "title": "", "alt_text": "Red tulips", "caption": "Spring"},
        )
    assert response.status_code == 302
    item = MediaItem.objects.get()
    assert (item.title, item.alt_text, item.caption) == ("tulips", "Red tulips", "Spring")
    assert item.status == MediaItem.Status.READY


def test_admin_upload_form_shows_the_pipelines_message(client, author):
    _login(client, author)
    file = SimpleUploadedFile("notes.jpg", b"just some text, not a picture")
    response = client.post(reverse("admin:media_library_mediaitem_add"), {"upload": file})
    assert response.status_code == 200
    assert "This file is not an image we accept" in response.content.decode()
    assert not MediaItem.objects.exists()


def test_library_lists_thumbnails_and_the_used_in_count(client, author, item):
    services.post_write(
        post=Post(title="Roses", body=f"![r](media:{item.pk})", status="publish"), by=author
    )
    _login(client, author)
    html = client.get(reverse(CHANGELIST)).content.decode()
    assert f"{item.pk}-garden-thumbnail.jpg" in html
    assert '<td class="field-used_in_count">1</td>' in html
    page = client.get(
        reverse("admin:media_library_mediaitem_change", args=[item.pk])
    ).content.decode()
    assert "Roses</a>" in page and f"![Roses](media:{item.pk})" in page


def test_alt_text_is_edited_from_the_list(client, author, item):
    _login(client, author)
    response = client.post(
        reverse(CHANGELIST),
        {
            "form-TOTAL_FORMS": "1",
            "form-INITIAL_FORMS": "1",
            "form-0-id": str(item.pk),
            "form-0-alt_text": "Red roses by the wall",
            "_save": "Save",
        },
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.alt_text == "Red roses by the wall"


def test_other_author_neither_sees_nor_edits_it(client, other_author, item):
    _login(client, other_author)
    assert f"{item.pk}-garden" not in client.get(reverse(CHANGELIST)).content.decode()
    change = reverse("admin:media_library_mediaitem_change", args=[item.pk])
    assert client.get(change).status_code in (302, 403, 404)
    client.post(change, {"title": "mine now", "alt_text": "", "caption": ""})
    client.post(reverse("admin:media_library_mediaitem_delete", args=[item.pk]), {"post": "yes"})
    item.refresh_from_db()
    assert item.title == "garden"


def test_editor_sees_filters_by_uploader_and_edits_anyones(client, editor, author, item):
    _login(client, editor)
    listing = client.get(reverse(CHANGELIST), {"uploaded_by__id__exact": author.pk})
    assert f"{item.pk}-garden" in listing.content.decode()
    assert "By uploaded by" in listing.content.decode()
    response = client.post(
        reverse("admin:media_library_mediaitem_change", args=[item.pk]),
        {"title": "Garden", "alt_text": "Roses in June", "caption": ""},
    )
    assert response.status_code == 302
    item.refresh_from_db()
    assert item.alt_text == "Roses in June"


def test_author_deletes_their_item_and_its_files(
    client, author, item, settings, django_capture_on_commit_callbacks
):
    root = Path(settings.MEDIA_ROOT)
    files = [root / item.original, *(root / r["file"] for r in item.renditions)]
    assert all(f.exists() for f in files)
    _login(client, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("admin:media_library_mediaitem_delete", args=[item.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not MediaItem.objects.filter(pk=item.pk).exists()
    assert not any(f.exists() for f in files)
