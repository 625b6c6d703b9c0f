"""Attachments: into the media library from --media-dir or, carefully, over HTTP; featured
images, galleries and images in the content follow."""

from __future__ import annotations

import http.server
import io
import logging
import re
import threading

import pytest
from PIL import Image

from blog.models import Post
from media_library.models import MediaItem
from tests.net import unused_port
from tests.wordpress.conftest import run_import
from wordpress.models import ImportedItem

pytestmark = pytest.mark.django_db

OLD = "http://old.example"


def jpeg(color=(200, 80, 40), size=(640, 480)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def attachment(wp_id: int, path: str, *, parent: int = 0, base: str = OLD, url: str = "") -> str:
    url = url or f"{base}/wp-content/uploads/{path}"
    return (
        f"<item><title>Attachment {wp_id}</title><wp:post_id>{wp_id}</wp:post_id>"
        f"<wp:post_type>attachment</wp:post_type><wp:status>inherit</wp:status>"
        f"<wp:post_parent>{parent}</wp:post_parent><wp:attachment_url>{url}</wp:attachment_url>"
        "<excerpt:encoded><![CDATA[A caption]]></excerpt:encoded>"
        f"<wp:postmeta><wp:meta_key>_wp_attached_file</wp:meta_key>"
        f"<wp:meta_value>{path}</wp:meta_value></wp:postmeta>"
        "<wp:postmeta><wp:meta_key>_wp_attachment_image_alt</wp:meta_key>"
        "<wp:meta_value>Red square</wp:meta_value></wp:postmeta></item>"
    )


def export(*items: str, base: str = OLD) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<rss version="2.0" xmlns:wp="http://wordpress.org/export/1.2/" '
        'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        f"<wp:wxr_version>1.2</wp:wxr_version><wp:base_site_url>{base}</wp:base_site_url>"
        + "".join(items)
        + "</channel></rss>"
    )


def post_with_images(base: str = OLD) -> str:
    body = (
        f'<a href="{base}/wp-content/uploads/2020/01/photo.jpg">'
        f'<img class="alignleft wp-image-10" src="{base}/wp-content/uploads/2020/01/'
        f'photo-300x225.jpg" srcset="{base}/x.jpg 300w" alt="Photo"></a>\n\n[gallery]'
    )
    return (
        f"<item><title>With images</title><wp:post_id>20</wp:post_id>"
        "<wp:post_type>post</wp:post_type><wp:status>publish</wp:status>"
        "<wp:post_date_gmt>2020-01-05 10:00:00</wp:post_date_gmt>"
        f"<content:encoded><![CDATA[{body}]]></content:encoded>"
        "<wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key>"
        "<wp:meta_value>10</wp:meta_value></wp:postmeta></item>"
    )


@pytest.fixture
def uploads(tmp_path):
    root = tmp_path / "uploads"
    (root / "2020" / "01").mkdir(parents=True)
    (root / "2020" / "01" / "photo.jpg").write_bytes(jpeg())
    (root / "2020" / "01" / "notes.pdf").write_bytes(b"%PDF-1.4 not an image")
    return root


def test_attachments_from_media_dir_become_library_items_used_by_the_post(
    client, importer, tmp_path, uploads
):
    wxr_file = tmp_path / "site.xml"
    wxr_file.write_text(
        export(
            attachment(10, "2020/01/photo.jpg", parent=20),
            attachment(11, "2020/01/notes.pdf", parent=20),
            post_with_images(),
        )
    )
    result = run_import(wxr_file, "--media-dir", str(uploads))
    assert result.code == 0, result.out
    assert MediaItem.objects.get(kind="document").mime_type == "application/pdf"
    media = MediaItem.objects.get(kind="image")
    assert (media.alt_text, media.caption, media.width) == ("Red square", "A caption", 640)
    post = Post.objects.get()
    assert post.featured_image == media
    # The image in the text, at any of its old sizes, is the library item now.
    assert f'data-media-id="{media.pk}"' in post.body_html
    assert OLD not in post.body_html
    assert 'class="gallery' in post.body_html
    assert list(post.media_items.all()) == [media]
    assert ImportedItem.objects.get(media=media).old_path == "2020/01/photo.jpg"
    page = client.get(post.get_absolute_url()).content.decode()
    assert media.url(media.file.name) in page


def test_a_file_missing_from_media_dir_is_a_listed_failure(importer, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    wxr_file = tmp_path / "site.xml"
    wxr_file.write_text(export(attachment(10, "2020/01/photo.jpg"), post_with_images()))
    result = run_import(wxr_file, "--media-dir", str(empty))
    assert result.code == 1
    assert "FAILED attachment 10" in result.out and "not in --media-dir" in result.out
    assert Post.objects.get().featured_image is None  # the post still comes


def test_a_path_out_of_media_dir_is_refused(importer, tmp_path, uploads):
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg())
    wxr_file = tmp_path / "site.xml"
    wxr_file.write_text(export(attachment(10, "../secret.jpg")))
    result = run_import(wxr_file, "--media-dir", str(uploads))
    assert "outside --media-dir" in result.out
    assert not MediaItem.objects.exists()


class _OldSite(http.server.BaseHTTPRequestHandler):
    photo = jpeg((10, 120, 30))
    redirects = {}

    def do_GET(self):
        if self.path in self.redirects:
            self.send_response(302)
            self.send_header("Location", self.redirects[self.path])
            self.end_headers()
        elif self.path.endswith(".jpg"):
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(self.photo)))
            self.end_headers()
            self.wfile.write(self.photo)
        else:
            self.send_error(404)

    def log_message(self, *args):
        pass


@pytest.fixture
def old_site():
    port = unused_port()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", port), _OldSite)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    # Neither target is ever connected to: the check happens before any connection.
    _OldSite.redirects = {
        "/wp-content/uploads/to-private.jpg": "http://10.1.2.3/photo.jpg",
        "/wp-content/uploads/to-loopback.jpg": f"http://127.0.0.2:{port}/photo.jpg",
        "/wp-content/uploads/to-metadata.jpg": "http://169.254.169.254/latest/meta-data/",
        "/wp-content/uploads/moved.jpg": f"{base}/wp-content/uploads/2020/01/photo.jpg",
    }
    yield base
    server.shutdown()
    server.server_close()


def test_fetch_media_downloads_from_the_old_site_and_refuses_private_redirects(
    importer, tmp_path, old_site
):
    wxr_file = tmp_path / "site.xml"
    wxr_file.write_text(
        export(
            attachment(10, "2020/01/photo.jpg", base=old_site),
            attachment(12, "moved.jpg", base=old_site),
            attachment(13, "to-private.jpg", base=old_site),
            attachment(14, "to-loopback.jpg", base=old_site),
            attachment(15, "to-metadata.jpg", base=old_site),
            base=old_site,
        )
    )
    result = run_import(wxr_file, "--fetch-media")
    assert result.code == 1
    assert ImportedItem.objects.filter(kind="attachment").count() == 2  # 10 and the redirect
    assert MediaItem.objects.count() == 1  # the same bytes twice are one item
    for wp_id, host in ((13, "10.1.2.3"), (14, "127.0.0.2"), (15, "169.254.169.254")):
        assert f"FAILED attachment {wp_id}" in result.out
        assert f"{host} is a private or loopback address: refused" in result.out


def test_fetch_media_has_a_size_limit(importer, tmp_path, old_site):
    wxr_file = tmp_path / "site.xml"
    wxr_file.write_text(export(attachment(10, "2020/01/photo.jpg", base=old_site), base=old_site))
    result = run_import(wxr_file, "--fetch-media", "--fetch-max-mb", "0.001")
    assert "over the limit" in result.out
    assert not MediaItem.objects.exists()


def test_fetch_media_refuses_a_url_off_the_old_site_on_a_private_address(importer, tmp_path):
    wxr_file = tmp_path / "site.xml"
    # The file says its site is elsewhere; the attachment points into this machine.
    wxr_file.write_text(
        export(attachment(10, "x.jpg", url=f"http://127.0.0.1:{unused_port()}/x.jpg"))
    )
    result = run_import(wxr_file, "--fetch-media")
    assert "127.0.0.1 is a private or loopback address: refused" in result.out


def test_images_processed_ahead_are_stored_once_each_in_file_order_with_the_same_checks(
    importer, tmp_path, caplog
):
    """Several images go through the pipeline at once (wordpress/import_media.py Ahead):
    each still once, stored in the file's order, a refused one still a listed failure with
    the pipeline's reason, the same attachment twice still one item."""
    root = tmp_path / "uploads" / "2020" / "01"
    root.mkdir(parents=True)
    colors = [(20 * n, 40, 200 - 10 * n) for n in range(9)]
    items = []
    for n, color in enumerate(colors):
        (root / f"p{n}.jpg").write_bytes(jpeg(color, size=(320 + n, 240)))
        items.append(attachment(10 + n, f"2020/01/p{n}.jpg"))
    (root / "broken.jpg").write_bytes(jpeg()[:300])  # cut short: not a whole image
    items.insert(4, attachment(30, "2020/01/broken.jpg"))
    items.insert(7, attachment(12, "2020/01/p2.jpg"))  # the same record twice
    wxr_file = tmp_path / "site.xml"
    wxr_file.write_text(export(*items))

    with caplog.at_level(logging.INFO, logger="media_library.services"):
        result = run_import(wxr_file, "--media-dir", str(tmp_path / "uploads"))

    assert result.code == 1, result.out
    assert re.search(r"^attachment\s+9\s+0\s+1\s+1$", result.out, re.M), result.out
    assert "FAILED attachment 30" in result.out
    processed = [r for r in caplog.records if r.getMessage().startswith("image processed")]
    assert len(processed) == 9
    media = list(MediaItem.objects.order_by("pk"))
    assert [m.width for m in media] == [320 + n for n in range(9)]
    assert [i.wp_id for i in ImportedItem.objects.order_by("media_id")] == list(range(10, 19))


def test_an_import_with_debug_on_keeps_no_growing_log_of_its_queries(importer, tmp_path, settings):
    """DJANGO_DEBUG on (make run) makes Django keep the SQL of each query; an import's
    batched inserts carry a hundred posts each, so memory grew with the file."""
    from django.db import connection

    settings.DEBUG = True
    posts = [
        f"<item><title>Post {n}</title><wp:post_id>{n}</wp:post_id>"
        "<wp:post_type>post</wp:post_type><wp:status>publish</wp:status>"
        f"<content:encoded><![CDATA[{'words ' * 200}]]></content:encoded></item>"
        for n in range(1, 251)
    ]
    wxr_file = tmp_path / "site.xml"
    wxr_file.write_text(export(*posts))

    result = run_import(wxr_file)

    assert result.code == 0, result.out
    assert Post.objects.count() == 250
    logged = sum(len(query["sql"]) for query in connection.queries)
    assert logged < 100_000  # the last batch's at most; the 250 bodies alone are 250 kB
