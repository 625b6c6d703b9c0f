"""After the move, the old site's links land: 301 to the new place, one lookup, cached;
anything unknown is the site's normal 404."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from blog.models import Category, Post
from media_library.models import MediaItem
from tests.wordpress.conftest import run_import, wxr
from tests.wordpress.test_import_media import attachment, export, jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def moved(importer):
    result = run_import(
        wxr("small-export.xml"), "--permalink-structure", "/%year%/%monthnum%/%day%/%postname%/"
    )
    assert result.code == 0
    return Post.objects.get(slug="hello-world")


def _lands(client, old: str, new: str) -> None:
    response = client.get(old)
    assert response.status_code == 301, (old, response.status_code)
    assert response["Location"] == new, old
    assert client.get(new).status_code == 200, new


def test_query_string_links_land(client, moved):
    child = Post.objects.get(slug="child-page")
    _lands(client, "/?p=1", moved.get_absolute_url())
    _lands(client, "/?page_id=4", child.get_absolute_url())
    assert child.get_absolute_url() == "/parent-page/child-page/"
    _lands(client, "/?cat=3", Category.objects.get(slug="foo").get_absolute_url())
    _lands(client, "/?tag=tag1", "/tag/tag1/")
    _lands(client, "/?author=3", "/author/author/")
    _lands(client, "/?s=hello+world", "/search/?q=hello+world")
    _lands(client, "/?feed=rss2", "/feed/")


def test_the_old_permalink_structure_lands(client, moved):
    _lands(client, "/2011/01/18/hello-world/", moved.get_absolute_url())


def test_wordpress_paths_land(client, moved):
    assert client.get("/wp-login.php")["Location"] == "/accounts/login/"
    assert client.get("/wp-admin/")["Location"] == "/admin/"
    _lands(client, "/feed/rss2/", "/feed/")
    _lands(client, "/category/foo/feed/rss2/", "/category/foo/feed/")
    assert client.get("/page/2/")["Location"] == "/?page=2"


def test_unknown_and_unreadable_old_urls_are_the_normal_404(client, moved):
    for old in ("/?p=99999", "/?p=13", "/?page_id=9", "/?cat=424242", "/2011/01/18/nothing/"):
        response = client.get(old)
        assert response.status_code == 404, old
        assert b"<html" in response.content  # the site's own 404 page
    # A private post's or a draft's new URL is not given away.
    assert "private-post" not in client.get("/?p=13").content.decode()


def test_an_answer_is_one_lookup_then_cached(client, moved, settings, django_assert_num_queries):
    settings.CACHE_EPOCH_TTL = 3600  # the cache's own epoch read is not the lookup's
    cache.get("warm-up")
    with django_assert_num_queries(1):
        assert client.get("/?p=1").status_code == 301
    with django_assert_num_queries(0):
        assert client.get("/?p=1").status_code == 301


def test_other_structures_land_by_id_or_by_old_path(client, importer, tmp_path):
    body = (
        '<?xml version="1.0"?><rss xmlns:wp="http://wordpress.org/export/1.2/" '
        'xmlns:content="http://purl.org/rss/1.0/modules/content/"><channel>'
        "<wp:wxr_version>1.2</wp:wxr_version><wp:base_site_url>https://old.example/blog"
        "</wp:base_site_url><item><title>Moved</title>"
        "<link>https://old.example/blog/archives/77</link><wp:post_id>77</wp:post_id>"
        "<wp:post_type>post</wp:post_type><wp:status>publish</wp:status>"
        "<wp:post_name>moved</wp:post_name>"
        "<wp:post_date_gmt>2019-05-06 07:08:09</wp:post_date_gmt></item></channel></rss>"
    )
    path = tmp_path / "site.xml"
    path.write_text(body)
    assert run_import(path, "--permalink-structure", "/archives/%post_id%").code == 0
    post = Post.objects.get(slug="moved")
    _lands(client, "/archives/77/", post.get_absolute_url())  # by the structure
    assert client.get("/archives/78/").status_code == 404


def test_old_upload_urls_land_on_the_library_file(client, importer, tmp_path):
    root = tmp_path / "uploads"
    (root / "2020" / "01").mkdir(parents=True)
    (root / "2020" / "01" / "photo.jpg").write_bytes(jpeg())
    site = tmp_path / "site.xml"
    site.write_text(export(attachment(10, "2020/01/photo.jpg")))
    assert run_import(site, "--media-dir", str(root)).code == 0
    media = MediaItem.objects.get()
    for size in ("", "-300x225"):
        old = f"/wp-content/uploads/2020/01/photo{size}.jpg"
        response = client.get(old)
        assert response.status_code == 301
        assert response["Location"] == media.get_absolute_url()
    # Unknown: the site's usual 404 (after Django's usual slash redirect).
    assert client.get("/wp-content/uploads/2020/01/other.jpg", follow=True).status_code == 404


def test_the_page_cache_keeps_the_answer(client, moved, settings):
    settings.PAGE_CACHE_SECONDS = 60
    assert client.get("/?p=1")["X-Cache"] == "MISS"
    hit = client.get("/?p=1")
    assert hit.status_code == 301 and hit["X-Cache"] == "HIT"
