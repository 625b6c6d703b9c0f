"""The public site as a visitor sees it: home, posts, pages, archives, search, visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from blog.models import Post
from tests.factories import make_category, make_comment, make_page, make_post, make_tag

pytestmark = pytest.mark.django_db


def test_home_lists_published_posts_newest_first_with_sticky_on_top(client, author):
    old_sticky = make_post(
        author,
        title="Old but sticky",
        sticky=True,
        published_at=timezone.now() - timedelta(days=30),
    )
    newer = make_post(author, title="Newest post")
    older = make_post(author, title="Older post", published_at=timezone.now() - timedelta(days=2))
    make_post(author, title="Secret draft", status=Post.Status.DRAFT)

    html = client.get(reverse("blog:home")).content.decode()

    assert html.index(old_sticky.title) < html.index(newer.title) < html.index(older.title)
    assert "Secret draft" not in html


def test_home_paginates_and_rejects_pages_past_the_end(client, author, settings):
    settings.POSTS_PER_PAGE = 3
    for n in range(7):
        make_post(author, title=f"Paged post {n}", published_at=timezone.now() - timedelta(hours=n))

    first = client.get(reverse("blog:home")).content.decode()
    third = client.get(reverse("blog:home"), {"page": 3}).content.decode()

    assert "Paged post 0" in first and "Paged post 3" not in first
    assert "Paged post 6" in third and "Page 3 of 3" in third
    assert client.get(reverse("blog:home"), {"page": 4}).status_code == 404
    assert client.get(reverse("blog:home"), {"page": "x"}).status_code == 404


def test_post_permalink_is_year_month_slug(client, author):
    post = make_post(
        author, title="Hello", slug="hello", published_at=datetime(2024, 3, 9, 12, tzinfo=UTC)
    )

    assert post.get_absolute_url() == "/2024/03/hello/"
    response = client.get("/2024/03/hello/")
    assert response.status_code == 200
    assert b'<h1 class="p-name">Hello</h1>' in response.content


def test_wrong_date_in_permalink_redirects_to_the_canonical_one(client, author):
    make_post(author, slug="moved", published_at=datetime(2024, 3, 9, tzinfo=UTC))

    response = client.get("/2023/01/moved/")

    assert response.status_code == 301
    assert response["Location"] == "/2024/03/moved/"


def test_post_page_has_canonical_opengraph_and_twitter_meta(client, author):
    post = make_post(author, title="Meta matters", body="A body about *meta* tags.")

    html = client.get(post.get_absolute_url()).content.decode()

    assert f'<link rel="canonical" href="http://testserver{post.get_absolute_url()}">' in html
    assert '<meta property="og:title" content="Meta matters">' in html
    assert '<meta property="og:type" content="article">' in html
    assert '<meta name="twitter:card" content="summary">' in html
    assert 'content="A body about meta tags.' in html


def test_unicode_title_gets_a_readable_slug_and_url(client, author, administrator):
    from blog.services import post_write

    post = post_write(
        post=Post(
            title="Ça va? 日本語のタイトル", body="x", author=author, status=Post.Status.PUBLISHED
        ),
        by=author,
    )

    assert post.slug == "ça-va-日本語のタイトル"
    assert client.get(post.get_absolute_url()).status_code == 200


@pytest.mark.parametrize("status", [Post.Status.DRAFT, Post.Status.PENDING, Post.Status.TRASH])
def test_unpublished_posts_are_not_found_by_visitors(client, author, status):
    post = make_post(author, status=status, published_at=timezone.now() - timedelta(days=1))

    assert client.get(post.get_absolute_url()).status_code == 404


def test_draft_is_previewable_by_its_author_and_editors_only(client, author, other_author, editor):
    draft = make_post(author, title="Work in progress", status=Post.Status.DRAFT)
    url = reverse("blog:preview", args=[draft.pk])

    assert client.get(url).status_code == 302  # to the login page
    client.force_login(other_author)
    assert client.get(url).status_code == 404
    client.force_login(author)
    response = client.get(url)
    assert response.status_code == 200 and b"Work in progress" in response.content
    assert b'content="noindex, nofollow"' in response.content
    client.force_login(editor)
    assert client.get(url).status_code == 200


def test_private_post_is_visible_only_to_its_author_and_editors(
    client, author, other_author, editor, subscriber
):
    post = make_post(author, title="Private thoughts", status=Post.Status.PRIVATE)

    assert client.get(post.get_absolute_url()).status_code == 404
    for outsider in (other_author, subscriber):
        client.force_login(outsider)
        assert client.get(post.get_absolute_url()).status_code == 404
    for insider in (author, editor):
        client.force_login(insider)
        assert client.get(post.get_absolute_url()).status_code == 200
    client.logout()
    assert b"Private thoughts" not in client.get(reverse("blog:home")).content


def test_password_protected_post_asks_for_the_password(client, author):
    post = make_post(author, title="Members only", body="The secret recipe.", password="s3same")

    first = client.get(post.get_absolute_url())
    assert b"password protected" in first.content and b"The secret recipe" not in first.content

    wrong = client.post(reverse("blog:post-unlock", args=[post.pk]), {"password": "nope"})
    assert wrong.status_code == 403 and b"not right" in wrong.content

    right = client.post(reverse("blog:post-unlock", args=[post.pk]), {"password": "s3same"})
    assert right.status_code == 302
    assert b"The secret recipe" in client.get(post.get_absolute_url()).content

    post.password = "changed"
    post.save(update_fields=["password"])
    assert b"The secret recipe" not in client.get(post.get_absolute_url()).content


def test_password_protected_post_hides_its_text_from_lists_and_feeds(client, author):
    make_post(author, title="Locked", body="Hidden words inside.", password="pw")

    assert b"Hidden words" not in client.get(reverse("blog:home")).content
    assert b"Hidden words" not in client.get(reverse("blog:feed")).content


def test_pages_live_at_their_hierarchical_path(client, author):
    about = make_page(author, title="About", slug="about")
    team = make_page(author, title="Team", slug="team", parent=about)

    assert team.get_absolute_url() == "/about/team/"
    assert b'<h1 class="p-name">Team</h1>' in client.get("/about/team/").content
    assert b'href="/about/"' in client.get("/").content  # top-level pages are in the menu
    assert client.get("/team/").status_code == 404


def test_category_archive_includes_subcategories(client, author):
    parent = make_category("Travel")
    child = make_category("Europe", parent=parent)
    make_post(author, title="Paris in spring", categories=[child])
    make_post(author, title="Unrelated")

    html = client.get(parent.get_absolute_url()).content.decode()

    assert "Paris in spring" in html and "Unrelated" not in html
    assert "Category: Travel" in html


def test_tag_and_author_archives(client, author, other_author):
    tag = make_tag("Django")
    make_post(author, title="Tagged one", tags=[tag])
    make_post(other_author, title="By Ford")

    assert b"Tagged one" in client.get(tag.get_absolute_url()).content
    by_author = client.get(reverse("blog:author", args=["ford"])).content
    assert b"By Ford" in by_author and b"Tagged one" not in by_author
    assert client.get(reverse("blog:author", args=["nobody"])).status_code == 404


def test_date_archives(client, author):
    utc = UTC
    make_post(author, title="March post", published_at=datetime(2024, 3, 9, 8, tzinfo=utc))
    make_post(author, title="April post", published_at=datetime(2024, 4, 1, 8, tzinfo=utc))
    make_post(author, title="2023 post", published_at=datetime(2023, 4, 1, 8, tzinfo=utc))

    year = client.get("/2024/").content.decode()
    month = client.get("/2024/03/").content.decode()
    day = client.get("/2024/04/01/").content.decode()

    assert "March post" in year and "April post" in year and "2023 post" not in year
    assert "March post" in month and "April post" not in month
    assert "April post" in day and "March post" not in day
    assert client.get("/2024/13/").status_code == 404
    assert client.get("/2024/02/31/").status_code == 404


@pytest.mark.parametrize(
    "path", ["/9999/", "/9999/12/", "/9999/12/31/", "/0000/", "/2026/00/", "/2026/01/00/"]
)
def test_archives_past_the_calendar_or_with_a_zero_month_or_day_are_not_found(client, author, path):
    make_post(author, title="January post", published_at=datetime(2026, 1, 9, 8, tzinfo=UTC))

    response = client.get(path)

    assert response.status_code == 404
    assert b"January post" not in response.content


def test_the_last_day_of_the_calendar_is_not_a_server_error_in_another_zone(client, settings):
    settings.TIME_ZONE = "Etc/GMT-14"  # UTC+14: 0001-01-01 local is before year 1 in UTC

    assert client.get("/0001/01/01/").status_code == 404
    assert client.get("/9999/12/").status_code == 404


def test_friendly_404_page(client):
    response = client.get("/no/such/thing/")

    assert response.status_code == 404
    assert b"Nothing here" in response.content and b'role="search"' in response.content


def test_server_error_page_renders_without_the_database(client, settings):
    from blog.views import server_error

    response = server_error(None)

    assert response.status_code == 500 and b"Something went wrong" in response.content


def test_robots_txt_points_at_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response["Content-Type"].startswith("text/plain")
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode()
    assert "Disallow: /admin/" in response.content.decode()


def test_comments_show_names_but_never_email_or_ip(client, author):
    post = make_post(author)
    make_comment(
        post,
        author_name="Visible Name",
        author_email="hidden@example.org",
        ip_address="203.0.113.77",
    )

    html = client.get(post.get_absolute_url()).content.decode()

    assert "Visible Name" in html
    assert "hidden@example.org" not in html and "203.0.113.77" not in html


def test_theme_reads_without_javascript(client, author):
    make_post(author)

    html = client.get("/").content.decode().lower()

    assert "<script" not in html
    assert '<meta name="viewport"' in html and 'class="skip-link"' in html
