"""`manage.py wordpress_export`: WXR 1.2 that reads back; a site exported and imported into an
empty one comes back the same, field by field."""

from __future__ import annotations

import io
import re
import shutil
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone

from blog.models import Category, Comment, Post, Tag
from media_library.models import MediaItem
from media_library.services import media_upload
from tests.factories import make_comment, make_page, make_post
from tests.wordpress.conftest import run_import
from tests.wordpress.test_import_media import jpeg
from wordpress import wxr
from wordpress.models import ImportedItem, OldSite

pytestmark = pytest.mark.django_db


@pytest.fixture
def native_site(importer, author, editor):
    """A site written here: every status, a page tree, threads, media, nested terms."""
    news = Category.objects.create(name="News", slug="news", description="What happened")
    local = Category.objects.create(name="Local", slug="local", parent=news)
    tags = [Tag.objects.create(name=n, slug=n.lower()) for n in ("Rain", "Sun")]
    upload = io.BytesIO(jpeg())
    upload.name, upload.size = "harbour.jpg", len(upload.getvalue())
    photo, _ = media_upload(
        file=upload, by=author, title="Harbour", alt_text="Boats", caption="At dawn"
    )
    now = timezone.now().replace(microsecond=0)
    main = make_post(
        author,
        title="Storm over the harbour",
        slug="storm",
        body=f"The *storm* came.\nIt went.\n\n![Boats in rain](media:{photo.pk})\n\nAfter.",
        excerpt="A storm.",
        published_at=now - timedelta(days=3),
        categories=[local],
        tags=tags,
        sticky=True,
        featured_image=photo,
    )
    first = make_comment(main, body="Wet!\n\nVery.", author_url="https://reader.example/")
    reply = make_comment(main, body="Indeed.", parent=first, created_at=now - timedelta(hours=2))
    make_comment(main, body="Held", status=Comment.Status.PENDING)
    make_comment(main, body="Buy now", status=Comment.Status.SPAM)
    make_comment(main, body="Reply to a reply", parent=reply)
    make_post(editor, title="Members only", slug="members", status=Post.Status.PRIVATE,
              comment_status=Post.CommentStatus.CLOSED)  # fmt: skip
    make_post(author, title="Locked", slug="locked", password="open sesame")
    make_post(author, title="Soon", slug="soon", status=Post.Status.FUTURE,
              published_at=now + timedelta(days=5))  # fmt: skip
    make_post(author, title="Half done", slug="half-done", status=Post.Status.DRAFT,
              body_format=Post.Format.HTML, body="<p>Still <em>writing</em></p>")  # fmt: skip
    make_post(author, title="Review me", slug="review-me", status=Post.Status.PENDING)
    make_post(author, title="Gone", slug="gone", status=Post.Status.TRASH,
              published_at=now - timedelta(days=9), status_before_trash=Post.Status.PUBLISHED,
              trashed_at=now - timedelta(days=1))  # fmt: skip
    about = make_page(editor, title="About", slug="about", menu_order=2)
    team = make_page(editor, title="Team", slug="team", parent=about)
    make_page(editor, title="Alice", slug="alice", parent=team, menu_order=1)
    for post in Post.objects.all():
        post.media_items.set([photo] if post.pk == main.pk else [])
    return main


def _media_names(body_html: str) -> str:
    titles = dict(MediaItem.objects.values_list("pk", "title"))
    return re.sub(
        r'data-media-id="(\d+)"', lambda m: f'media="{titles[int(m.group(1))]}"', body_html
    )


def _seconds(when):
    return when.replace(microsecond=0) if when else None


def snapshot() -> dict:
    """Everything a reader or an editor sees, keyed by what survives a move (slugs, names)."""
    posts = {}
    for p in Post.objects.all():
        comments = sorted(
            (c.author_name, c.author_email, c.author_url, c.body_html, c.status,
             _seconds(c.created_at), c.parent.body if c.parent else None)
            for c in p.comments.all()
        )  # fmt: skip
        posts[p.slug] = {
            "kind": p.kind, "title": p.title, "status": p.status,
            "published_at": _seconds(p.published_at), "author": p.author.username,
            "excerpt": p.excerpt, "sticky": p.sticky, "comment_status": p.comment_status,
            "password": p.password, "menu_order": p.menu_order, "path": p.path,
            "parent": p.parent.slug if p.parent else None,
            "categories": sorted(c.slug for c in p.categories.all()),
            "tags": sorted(t.slug for t in p.tags.all()),
            "featured": p.featured_image.title if p.featured_image else None,
            "body_html": _media_names(p.body_html).strip(),
            "media": sorted(m.title for m in p.media_items.all()),
            "status_before_trash": p.status_before_trash,
            "trashed_at": _seconds(p.trashed_at), "comment_count": p.comment_count,
            "comments": comments,
        }  # fmt: skip
    authors = get_user_model().objects.filter(posts__isnull=False).distinct()
    return {
        "posts": posts,
        "categories": {
            c.slug: (c.name, c.description, c.parent.slug if c.parent else None)
            for c in Category.objects.all()
        },
        "tags": {t.slug: (t.name, t.description) for t in Tag.objects.all()},
        "authors": {u.username: (u.email, u.first_name, u.last_name) for u in authors},
        "media": {
            m.title: (m.alt_text, m.caption, m.width, m.height, m.uploaded_by.username)
            for m in MediaItem.objects.all()
        },
    }


def _empty_the_site(keep) -> None:
    Comment.objects.all().delete()
    Post.objects.all().delete()
    Category.objects.all().delete()
    Tag.objects.all().delete()
    MediaItem.objects.all().delete()
    ImportedItem.objects.all().delete()
    OldSite.objects.all().delete()
    get_user_model().objects.exclude(pk=keep.pk).delete()


def test_export_is_wxr_1_2_that_reads_back(native_site, tmp_path):
    out = tmp_path / "site.xml"
    call_command("wordpress_export", "-o", str(out), stderr=io.StringIO())
    counts = wxr.scan(str(out))
    assert counts["item:post"] == 7 and counts["item:page"] == 3
    assert counts["item:attachment"] == 1 and counts["comment"] == 5
    text = out.read_text()
    assert "<wp:wxr_version>1.2</wp:wxr_version>" in text
    assert '<category domain="category" nicename="local">' in text
    assert "<wp:meta_key>_thumbnail_id</wp:meta_key>" in text


def test_a_site_exported_and_imported_into_an_empty_one_comes_back_the_same(
    native_site, importer, settings, tmp_path
):
    before = snapshot()
    out = tmp_path / "site.xml"
    call_command("wordpress_export", "-o", str(out), stderr=io.StringIO())
    uploads = tmp_path / "uploads"
    shutil.copytree(settings.MEDIA_ROOT, uploads)
    _empty_the_site(keep=importer)

    result = run_import(out, "--media-dir", str(uploads))
    assert result.code == 0, result.out
    after = snapshot()
    for section in ("categories", "tags", "authors", "media"):
        assert after[section] == before[section], section
    assert after["posts"].keys() == before["posts"].keys()
    for slug, fields in before["posts"].items():
        for name, value in fields.items():
            assert after["posts"][slug][name] == value, f"{slug}.{name}"
