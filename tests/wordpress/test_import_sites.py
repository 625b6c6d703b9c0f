"""Whole sites: the theme unit test export (threads, sticky, password, scheduled, page tree),
the UTF-8 challenge file, and the public pages of an imported site."""

from __future__ import annotations

import pytest
from django.urls import reverse
from django.utils.html import escape

from blog.models import Category, Comment, Post
from tests.blog.test_query_counts import CEILINGS
from tests.wordpress.conftest import run_import, theme_unit_test, wxr
from wordpress import wxr as reader

pytestmark = pytest.mark.django_db


@pytest.fixture
def theme_site(importer):
    result = run_import(theme_unit_test())
    assert result.code == 0, result.out
    return result


def test_the_theme_unit_test_imports_with_its_threads_and_special_posts(theme_site):
    assert "nav_menu_item items skipped" in theme_site.out
    assert Post.objects.posts().count() == 51
    assert Post.objects.pages().count() == 21
    assert Category.objects.count() >= 67
    sticky = Post.objects.get(sticky=True)
    assert sticky.title == "Template: Sticky"
    locked = Post.objects.exclude(password="").get()
    assert locked.password == "enter"
    scheduled = Post.objects.get(status=Post.Status.FUTURE)
    assert scheduled.published_at.year == 2030 and not scheduled.is_public
    assert Post.objects.filter(status=Post.Status.DRAFT).count() == 1

    thread = Post.objects.get(title="Template: Comments")
    replies = thread.comments.filter(parent__isnull=False)
    assert replies.count() >= 9
    deepest = max(replies, key=lambda c: len(str(_depth(c))))
    assert _depth(deepest) >= 3
    assert thread.comment_count == thread.comments.approved().count()

    level3 = Post.objects.get(slug="level-3")
    assert level3.path == "level-1/level-2/level-3"
    assert Post.objects.get(path="greek/επίπεδο-2/επίπεδο-3").kind == Post.Kind.PAGE


def _depth(comment: Comment) -> int:
    depth = 1
    while comment.parent_id:
        comment, depth = comment.parent, depth + 1
    return depth


def test_pingbacks_and_trackbacks_are_marked(theme_site):
    from wordpress.models import ImportedItem

    comments = ImportedItem.objects.filter(kind="comment")
    types = sorted(item.meta["type"] for item in comments if "type" in item.meta)
    assert types == ["pingback", "pingback", "trackback", "trackback"]


def test_an_imported_site_renders_with_the_native_query_counts(
    client, theme_site, django_assert_max_num_queries
):
    thread = Post.objects.get(title="Template: Comments")
    page = Post.objects.get(slug="level-3")
    category = Category.objects.get(slug="markup")
    urls = {
        "home": "/",
        "home-page-2": "/?page=2",
        "post": thread.get_absolute_url(),
        "page": page.get_absolute_url(),
        "category": category.get_absolute_url(),
        "author": reverse("blog:author", args=[thread.author.username]),
        "feed": reverse("blog:feed"),
        "sitemap": "/sitemap.xml",
    }
    for name, url in urls.items():
        with django_assert_max_num_queries(CEILINGS[name], info=url):
            response = client.get(url)
        assert response.status_code == 200, url
    body = client.get(thread.get_absolute_url()).content.decode()
    assert "comment-" in body


def test_utf8_challenges_keep_every_character(client, importer):
    result = run_import(wxr("wxr-utf-8-challenges.xml"))
    assert result.code == 0, result.out
    post = Post.objects.get()
    rlo, pdf, lro, lre = "\u202e", "\u202c", "\u202d", "\u202a"
    assert post.title == f'"The Road {rlo}Not{pdf} Taken" by Rob{lro}ert {rlo}Frost {lre}🌲{pdf}'
    for fragment in (
        "السلام عليكم",
        "\U0001d4e3\U0001d4ee\U0001d4fc\U0001d4fd",  # bold script "Test"
        "∫∮∯∰∱∲∳",
        "yel\u202dlow wo\u202eod,\u202c",
        "\u200b\u200c\u200d\u2060\ufeff",
    ):
        assert fragment in post.body_html, fragment
    records = reader.read(str(wxr("wxr-utf-8-challenges.xml")))
    source = next(r for r in records if isinstance(r, reader.Item))
    assert post.excerpt == source.excerpt.strip()
    assert post.categories.get().name == source.terms[0][2]
    page = client.get(post.get_absolute_url())
    assert page.status_code == 200
    assert escape(post.title) in page.content.decode()


def test_the_theme_unit_test_with_its_images(importer, tmp_path):
    """Its images live on WordPress.com's CDN, not under wp-content/uploads: the posts'
    images and featured images still become the imported library items."""
    import io

    from PIL import Image

    from media_library.models import MediaItem
    from wordpress.wxr import IMAGE_SUFFIXES, upload_path

    uploads = tmp_path / "uploads"
    for n, record in enumerate(reader.read(str(theme_unit_test()))):
        if isinstance(record, reader.Item) and record.type == "attachment":
            rel = upload_path(record)
            (uploads / rel).parent.mkdir(parents=True, exist_ok=True)
            if rel.lower().endswith(tuple(IMAGE_SUFFIXES)):
                out = io.BytesIO()
                Image.new("RGB", (64, 48), (n * 5 % 256, 90, 160)).save(out, "JPEG")
                (uploads / rel).write_bytes(out.getvalue())
            elif rel.lower().endswith(".mp3"):  # its audio and video come over as files
                (uploads / rel).write_bytes(b"ID3\x04\x00" + bytes(100))
            elif rel.lower().endswith((".mov", ".mp4")):
                (uploads / rel).write_bytes(b"\x00\x00\x00\x14ftypqt  " + bytes(100))
    result = run_import(theme_unit_test(), "--media-dir", str(uploads))
    assert result.code == 0, result.out
    assert MediaItem.objects.filter(kind="image").count() >= 30
    assert MediaItem.objects.filter(kind__in=["audio", "video"]).count() == 2
    featured = Post.objects.filter(featured_image__isnull=False)
    assert featured.count() >= 5
    gallery = Post.objects.get(slug="post-format-gallery")
    assert "data-media-id" in gallery.body_html
    cdn_images = Post.objects.filter(body_html__contains='src="https://wpthemetestdata.files')
    assert cdn_images.count() < Post.objects.filter(media_items__isnull=False).distinct().count()
