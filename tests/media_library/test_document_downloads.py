"""Files that are not images are served as the file type they are, and as downloads unless
a browser shows that type itself (PDF, audio, video), from every store: on S3 the object
carries the headers, since S3 (or a CDN in front) answers GETs with no Django in the way.
The POSIX stores' Django view: tests/wordpress/test_import_files.py; nginx: tests/ami/."""

from __future__ import annotations

import urllib.request

import boto3
import pytest

from media_library.models import MediaItem
from tests.media_library.test_upload import login, upload
from tests.wordpress.test_import_files import PDF, _docx

BUCKET = "cloudblog-media"
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture
def s3(aws, settings, media_root):
    boto3.client("s3").create_bucket(Bucket=BUCKET)
    settings.MEDIA_S3_BUCKET = BUCKET
    settings.MEDIA_BACKEND = "s3"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "media_store.stores.S3MediaStorage"},
    }
    return boto3.client("s3")


def _get(url: str):
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.headers, response.read()


@pytest.mark.parametrize(
    ("name", "data", "content_type"),
    [
        ("report.docx", _docx(), DOCX_TYPE),
        ("figures.csv", b"year,rain\n2020,812\n", "text/csv; charset=utf-8"),
        ("notes.txt", b"<p>plain text that looks like a page</p>", "text/plain; charset=utf-8"),
    ],
)
def test_an_uploaded_document_on_s3_is_a_download_of_its_own_type(
    client, author, s3, name, data, content_type
):
    login(client, author)
    response = upload(client, data, name)
    assert response.status_code == 201, response.content
    item = MediaItem.objects.get(uploaded_by=author)

    headers, body = _get(item.get_absolute_url())

    assert body == data
    assert headers["Content-Type"] == content_type
    assert headers["Content-Disposition"].startswith("attachment;")
    assert item.file.name.rsplit("/", 1)[1] in headers["Content-Disposition"]
    stored = s3.head_object(Bucket=BUCKET, Key=item.file.name)
    assert stored["ContentDisposition"] == headers["Content-Disposition"]
    assert stored["ContentType"] == content_type


def test_a_pdf_on_s3_is_shown_by_the_browser_with_its_type(client, author, s3):
    login(client, author)
    assert upload(client, PDF, "menu.pdf").status_code == 201
    item = MediaItem.objects.get(uploaded_by=author)

    headers, body = _get(item.get_absolute_url())

    assert body == PDF
    assert headers["Content-Type"] == "application/pdf"
    assert "attachment" not in headers.get("Content-Disposition", "")
    assert "ContentDisposition" not in s3.head_object(Bucket=BUCKET, Key=item.file.name)
