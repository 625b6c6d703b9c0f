"""The embedded site serves uploaded media itself: upload through HTTP, publish a post,
then fetch every URL the page uses, as a browser would, and get a decodable image."""

from __future__ import annotations

import io
from html.parser import HTMLParser
from pathlib import Path

import pytest
from PIL import Image

from blog import services
from blog.models import Post
from media_library.models import MediaItem
from tests.media_library.test_upload import image_bytes, login, upload


def _image_urls(html: str) -> list[str]:
    """Every image URL a browser may fetch: <img src>, and each srcset entry of <img> and
    <source>."""
    urls: list[str] = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attrs = dict(attrs)
            if tag == "img" and attrs.get("src"):
                urls.append(attrs["src"])
            if tag in ("img", "source") and attrs.get("srcset"):
                urls.extend(entry.strip().split()[0] for entry in attrs["srcset"].split(","))

    Collector().feed(html)
    return urls


def _body(response) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


@pytest.fixture
def published(client, author, django_capture_on_commit_callbacks):
    """A post with an uploaded photo in its body and as its featured image."""
    login(client, author)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, image_bytes((3000, 2000)), "harbour.jpg", alt_text="Boats")
    assert response.status_code == 201, response.content
    item = MediaItem.objects.get(pk=response.json()["id"])
    post = Post(title="Harbour", body=f"At dawn:\n\n![Boats](media:{item.pk})", featured_image=item)
    post.status = Post.Status.PUBLISHED
    post = services.post_write(post=post, by=author)
    client.logout()
    return post, item


@pytest.mark.parametrize("debug", [True, False], ids=["debug", "production"])
def test_every_image_url_on_a_post_answers_with_the_image(client, published, settings, debug):
    settings.DEBUG = debug
    post, item = published
    page = client.get(post.get_absolute_url())
    assert page.status_code == 200
    urls = _image_urls(page.content.decode())
    # The body's <picture> and the featured image: JPEG and WebP, every size in srcset.
    assert len(set(urls)) >= 2 * (len(item.renditions) // 2 - 1)
    assert any(url.endswith(".webp") for url in urls)
    for url in set(urls):
        response = client.get(url)
        assert response.status_code == 200, url
        data = _body(response)
        with Image.open(io.BytesIO(data)) as im:
            im.load()
            assert Image.MIME[im.format] == response["Content-Type"], url
        assert response["Content-Length"] == str(len(data))
        assert response["X-Content-Type-Options"] == "nosniff"
        assert "immutable" in response["Cache-Control"]
        assert "max-age=31536000" in response["Cache-Control"]
        assert response["ETag"] and response["Last-Modified"]


def test_a_browser_revalidating_gets_304_without_the_bytes(client, published):
    _, item = published
    url = item.get_absolute_url()
    first = client.get(url)
    by_etag = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    by_date = client.get(url, HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])
    assert (by_etag.status_code, by_date.status_code) == (304, 304)
    assert by_etag.content == b""
    assert by_etag["ETag"] == first["ETag"]
    assert "immutable" in by_etag["Cache-Control"]
    changed = client.get(url, HTTP_IF_NONE_MATCH='"something-else"')
    assert changed.status_code == 200


def test_head_answers_headers_only(client, published):
    _, item = published
    response = client.head(item.get_absolute_url())
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert _body(response) == b""


def test_the_private_original_is_never_served(client, published, settings):
    _, item = published
    assert (Path(settings.MEDIA_ROOT) / item.original).is_file()
    media = settings.MEDIA_URL
    year_month = item.original.split("/", 1)[1].rsplit("/", 1)[0]
    for url in (
        f"{media}{item.original}",
        f"{media}{year_month}/../../{item.original}",
        f"{media}{year_month}/%2e%2e/%2e%2e/{item.original}",
        f"{media}./{item.original}",
        f"{media}/{item.original}",
        f"{media}PRIVATE/{item.original.split('/', 1)[1]}",  # a case-insensitive disk
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"\xff\xd8" not in _body(response)[:2]


@pytest.mark.parametrize(
    "name",
    [
        "../../../../etc/passwd",
        "%2e%2e/%2e%2e/etc/hostname",
        "..%2f..%2fetc%2fhostname",
        "2026/01/.upload-abc.part",
        "notes.html",
        "2026/01/../../notes.html",
        "missing.jpg",
    ],
)
def test_nothing_but_public_images_in_the_store_is_served(client, db, settings, name):
    root = Path(settings.MEDIA_ROOT)
    (root / "2026/01").mkdir(parents=True)
    (root / "2026/01/.upload-abc.part").write_bytes(image_bytes())
    (root / "notes.html").write_text("<script>alert(1)</script>")
    response = client.get(f"{settings.MEDIA_URL}{name}")
    assert response.status_code == 404
    assert b"<script>" not in _body(response)


def test_a_symlink_out_of_the_store_is_not_followed(client, db, settings, tmp_path):
    root = Path(settings.MEDIA_ROOT)
    root.mkdir(parents=True)
    secret = tmp_path / "outside.png"
    secret.write_bytes(image_bytes(fmt="PNG"))
    (root / "leak.png").symlink_to(secret)
    assert client.get(f"{settings.MEDIA_URL}leak.png").status_code == 404


def test_no_media_is_served_from_django_when_the_store_is_s3(client, published, settings):
    _, item = published
    settings.MEDIA_BACKEND = "s3"
    url = f"{settings.MEDIA_URL}{item.file.name}"
    assert client.get(url).status_code == 404


def test_list_pages_show_featured_images_responsive_first_eager_and_serve_them(
    client, author, published
):
    first_post, item = published
    older = Post(title="Older", body="Text.", featured_image=item, status=Post.Status.PUBLISHED)
    older = services.post_write(post=older, by=author)
    Post.objects.filter(pk=older.pk).update(published_at=first_post.published_at.replace(year=2020))
    locked = Post(
        title="Locked", body="Secret.", featured_image=item, status=Post.Status.PUBLISHED,
        password="open sesame",
    )  # fmt: skip
    locked = services.post_write(post=locked, by=author)
    Post.objects.filter(pk=locked.pk).update(
        published_at=first_post.published_at.replace(year=2019)
    )

    html = client.get("/").content.decode()
    summaries = html.split('<article class="post-summary')[1:]
    assert len(summaries) == 3
    newest, second, protected = summaries
    assert "<picture>" in newest and 'loading="lazy"' not in newest  # the first, above the fold
    assert "<picture>" in second and 'loading="lazy"' in second and "srcset=" in second
    assert "<img" not in protected  # a protected post's image is part of what it protects
    urls = set(_image_urls(html))
    assert urls and all(client.get(url).status_code == 200 for url in urls)
