"""Attachments that are not images (PDF, audio, office documents, archives) come over as
library files: checked by name and content, stored as they are, links to them rewritten,
and served with their exact type (a download unless a browser shows it itself)."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.urls import reverse

from blog.models import Post
from media_library.models import MediaItem
from tests.factories import PASSWORD
from tests.wordpress.conftest import run_import
from tests.wordpress.test_import_media import OLD, attachment, export

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
MP3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + bytes(200)


def _docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>")
    return out.getvalue()


def _post_linking(*paths: str) -> str:
    links = "\n\n".join(f'<a href="{OLD}/wp-content/uploads/{p}">{p}</a>' for p in paths)
    return (
        "<item><title>Files</title><wp:post_id>20</wp:post_id>"
        "<wp:post_type>post</wp:post_type><wp:status>publish</wp:status>"
        "<wp:post_date_gmt>2020-01-05 10:00:00</wp:post_date_gmt>"
        f'<content:encoded><![CDATA[{links}\n\n[audio src="{OLD}/wp-content/uploads/'
        '2020/01/talk.mp3"]]]></content:encoded></item>'
    )


@pytest.fixture
def site(tmp_path):
    root = tmp_path / "uploads" / "2020" / "01"
    root.mkdir(parents=True)
    files = {
        "menu.pdf": PDF,
        "talk.mp3": MP3,
        "report.docx": _docx(),
        "page.html": b"<html><script>alert(1)</script></html>",
        "logo.svg": b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>',
        "fake.pdf": b"<html><body>not a pdf</body></html>",
    }
    for name, data in files.items():
        (root / name).write_bytes(data)
    items = [attachment(10 + n, f"2020/01/{name}", parent=20) for n, name in enumerate(files)]
    export_file = tmp_path / "site.xml"
    linking = _post_linking("2020/01/menu.pdf", "2020/01/report.docx")
    export_file.write_text(export(*items, linking))
    return export_file, tmp_path / "uploads"


def test_documents_audio_and_archives_come_over_as_library_files(importer, site):
    export_file, uploads = site
    result = run_import(export_file, "--media-dir", str(uploads))

    kinds = dict(MediaItem.objects.values_list("title", "kind"))
    assert kinds == {
        "Attachment 10": "document",  # menu.pdf
        "Attachment 11": "audio",  # talk.mp3
        "Attachment 12": "document",  # report.docx
    }
    for item in MediaItem.objects.all():
        assert item.renditions == [] and item.original == ""
        assert item.status == MediaItem.Status.READY
    # HTML and SVG are never accepted; a "PDF" holding a page is refused by its content.
    assert "attachments of a type the library does not accept skipped (x2)" in result.out
    assert "FAILED attachment 15 'Attachment 15'" in result.out
    assert "not what a .pdf file holds" in result.out
    assert result.code == 1


def test_links_to_imported_files_point_at_their_new_urls(importer, site):
    export_file, uploads = site
    run_import(export_file, "--media-dir", str(uploads))
    post = Post.objects.get()
    pdf = MediaItem.objects.get(mime_type="application/pdf")
    mp3 = MediaItem.objects.get(kind="audio")
    assert f'href="{pdf.get_absolute_url()}"' in post.body_html
    assert mp3.get_absolute_url() in post.body_html  # the [audio] player's source
    assert f"{OLD}/wp-content/uploads/2020/01/menu.pdf" not in post.body_html
    # No file is taken for an image of the post's gallery or its featured image.
    assert post.featured_image is None and not post.media_items.exists()


def test_imported_files_are_served_with_safe_headers(client, importer, site):
    export_file, uploads = site
    run_import(export_file, "--media-dir", str(uploads))
    pdf = MediaItem.objects.get(mime_type="application/pdf")
    docx = MediaItem.objects.get(title="Attachment 12")

    response = client.get(pdf.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("inline;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert b"".join(response.streaming_content) == PDF

    response = client.get(docx.get_absolute_url())
    assert response["Content-Type"].startswith("application/vnd.openxmlformats")
    assert response["Content-Disposition"].startswith("attachment;")


def test_the_admin_media_list_shows_files_with_an_icon(client, importer, site):
    export_file, uploads = site
    run_import(export_file, "--media-dir", str(uploads))
    assert client.login(username=importer.username, password=PASSWORD)
    page = client.get(reverse("admin:media_library_mediaitem_changelist")).content.decode()
    assert page.count("media-file-document") == 2 and page.count("media-file-audio") == 1
    docs = client.get(reverse("admin:media_library_mediaitem_changelist") + "?kind=document")
    assert docs.content.decode().count("media-file-document") == 2
    pdf = MediaItem.objects.get(mime_type="application/pdf")
    detail = client.get(reverse("admin:media_library_mediaitem_change", args=[pdf.pk]))
    assert pdf.file.name in detail.content.decode()


def test_a_file_over_the_size_limit_is_refused(importer, site, settings):
    export_file, uploads = site
    settings.MEDIA_MAX_BYTES = 50
    result = run_import(export_file, "--media-dir", str(uploads))
    assert "FAILED attachment 10 'Attachment 10': The file is" in result.out
    assert "the limit is 5e-05 MB" in result.out
    assert not MediaItem.objects.exists()
