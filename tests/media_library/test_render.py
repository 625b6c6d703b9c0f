"""Images from the library in posts: Markdown `![alt](media:ID)`, the featured image,
srcset/sizes/width/height on public pages, the sanitizer, and who may use what."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest
from django.urls import reverse

from blog import services
from blog.models import Post
from blog.rendering import _cleaner
from media_library.models import MediaItem
from media_library.render import media_img
from tests.factories import PASSWORD
from tests.media_library.test_upload import image_bytes, upload


@pytest.fixture
def photo(client, author, django_capture_on_commit_callbacks):
    client.login(username=author.username, password=PASSWORD)
    with django_capture_on_commit_callbacks(execute=True):
        response = upload(client, image_bytes((3000, 2000)), "harbour.jpg", alt_text="Boats")
    client.logout()
    return MediaItem.objects.get(pk=response.json()["id"])


def _publish(author, body: str, **fields) -> Post:
    post = Post(title="With a picture", body=body, status=Post.Status.PUBLISHED, **fields)
    return services.post_write(post=post, by=author)


def _parse(html: str) -> list[tuple[str, list]]:
    """Every start tag with its attributes, as a browser's tokenizer reads them."""
    found = []

    class Collector(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.append((tag, attrs))

    Collector().feed(html)
    return found


def _img_tags(html: str) -> list[str]:
    return re.findall(r"<img\b[^>]*>", html)


def test_markdown_image_renders_responsive_img(client, author, photo):
    post = _publish(author, f"Look:\n\n![The harbour at dawn]({'media:'}{photo.pk})")
    html = client.get(post.get_absolute_url()).content.decode()
    [img] = [t for t in _img_tags(html) if "harbour" in t]
    assert 'alt="The harbour at dawn"' in img
    assert 'width="2560" height="1707"' in img
    assert 'loading="lazy"' in img and 'decoding="async"' in img
    assert 'sizes="(max-width: 672px) 100vw, 672px"' in img
    srcset = re.search(r'srcset="([^"]*)"', img).group(1)
    widths = [int(w) for w in re.findall(r" (\d+)w", srcset)]
    assert widths == sorted(widths) and {300, 768, 1024, 2560} <= set(widths)
    assert "-thumbnail" not in srcset  # a square crop cannot stand in for the photo
    assert '<source type="image/webp" srcset="' in html
    assert "private/" not in html
    assert post.media_items.get() == photo


def test_featured_image_renders_responsive_on_post_and_home(client, author, photo):
    post = _publish(author, "Text only.", featured_image=photo)
    for url in (post.get_absolute_url(), reverse("blog:home")):
        html = client.get(url).content.decode()
        [img] = [t for t in _img_tags(html) if "harbour" in t]
        assert "srcset=" in img and "sizes=" in img and 'width="2560"' in img
        assert 'alt="Boats"' in img


def test_page_shows_the_full_image_until_renditions_exist(client, author, settings):
    settings.TASKS = {"default": {"BACKEND": "django_tasks.backends.dummy.DummyBackend"}}
    client.login(username=author.username, password=PASSWORD)
    item_id = upload(client, image_bytes((3000, 2000)), "later.jpg").json()["id"]
    item = MediaItem.objects.get(pk=item_id)
    assert item.status == MediaItem.Status.PENDING
    assert [r["name"] for r in item.renditions] == ["full", "full-webp"]
    post = _publish(author, f"![x](media:{item_id})")
    html = client.get(post.get_absolute_url()).content.decode()
    [img] = [t for t in _img_tags(html) if "later" in t]
    assert f'src="/media/{item.file.name}"' in img
    assert "srcset" not in img and 'width="2560"' in img


def test_emitted_markup_survives_the_sanitizer_unchanged(photo):
    html = str(media_img(photo, alt='Say "cheese" <now>', title="T", css_class="wide"))
    assert _cleaner("post").clean(html) == html
    assert "&lt;now&gt;" in html and "&quot;cheese&quot;" in html


def test_dangerous_markup_around_a_media_image_is_still_stripped(client, author, photo):
    body = (
        f'<img src="media:{photo.pk}" onerror="alert(1)" alt="x">'
        '<script>alert(2)</script><a href="javascript:alert(3)">x</a>\n\n'
        f'![<img src=x onerror=alert(4)>](media:{photo.pk} "t\\" onload=\\"alert(5)")'
    )
    post = _publish(author, body)
    html = client.get(post.get_absolute_url()).content.decode()
    article = html[html.index("entry-content") :]
    article = article[: article.index("</div>")]
    tags = _parse(article)
    assert "script" not in {tag for tag, _ in tags}
    attributes = [(name, value or "") for _, attrs in tags for name, value in attrs]
    assert not [name for name, _ in attributes if name.startswith("on")]
    assert not [v for _, v in attributes if "javascript:" in v.lower()]
    assert sum(1 for tag, _ in tags if tag == "img") == 2
    assert all("srcset" in dict(attrs) for tag, attrs in tags if tag == "img")


def test_author_may_not_use_another_authors_image(other_author, photo):
    for fields in ({"body": f"![x](media:{photo.pk})"}, {"featured_image": photo}):
        post = Post(title="Borrowed", status=Post.Status.DRAFT, **fields)
        post.body = post.body or "text"
        with pytest.raises(Exception, match="You may not use media item"):
            services.post_write(post=post, by=other_author)
    assert not Post.objects.filter(title="Borrowed").exists()


def test_author_sees_the_refusal_in_the_admin_post_form(client, other_author, photo):
    client.login(username=other_author.username, password=PASSWORD)
    response = client.post(
        reverse("admin:blog_post_add"),
        {
            "title": "Borrowed",
            "slug": "",
            "body": f"![x](media:{photo.pk})",
            "body_format": "markdown",
            "status": "draft",
            "comment_status": "open",
        },
    )
    assert response.status_code == 200
    assert f"You may not use media item {photo.pk}" in response.content.decode()
    assert not Post.objects.filter(title="Borrowed").exists()


def test_editor_may_use_any_image(client, editor, photo):
    post = _publish(editor, f"![x](media:{photo.pk})")
    assert "srcset=" in client.get(post.get_absolute_url()).content.decode()


def test_unknown_media_id_is_refused(author):
    with pytest.raises(Exception, match="No media item with id 999999"):
        _publish(author, "![x](media:999999)")


def test_deleted_image_leaves_only_its_alt_text(client, author, editor, photo):
    post = _publish(author, f"![Boats at rest](media:{photo.pk})")
    from media_library.services import media_delete

    media_delete(item=photo, by=editor)
    html = client.get(post.get_absolute_url()).content.decode()
    assert "Boats at rest" in html
    assert "harbour" not in html


def test_feed_carries_the_expanded_image(client, author, photo):
    _publish(author, f"![x](media:{photo.pk})")
    feed = client.get(reverse("blog:feed")).content.decode()
    assert "srcset=" in feed and "1-harbour-medium.jpg 300w" in feed.replace(f"{photo.pk}-", "1-")
