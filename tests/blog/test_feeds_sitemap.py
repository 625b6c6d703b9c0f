"""Feeds and the sitemap: valid XML that lists exactly what a visitor may read."""

from __future__ import annotations

from datetime import timedelta

import defusedxml.ElementTree as ET
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone

from blog.models import Comment, Post
from blog.services import post_write
from tests.factories import make_category, make_comment, make_page, make_post, make_tag

pytestmark = pytest.mark.django_db

ATOM = "{http://www.w3.org/2005/Atom}"
SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
RSS_TYPE = "application/rss+xml; charset=utf-8"
ATOM_TYPE = "application/atom+xml; charset=utf-8"


def _rss_titles(client, url) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == RSS_TYPE, url
    root = ET.fromstring(response.content)
    assert root.tag == "rss" and root.get("version") == "2.0", url
    channel = root.find("channel")
    assert channel.findtext("title") and channel.findtext("link"), url
    items = channel.findall("item")
    for item in items:
        assert item.findtext("title") and item.findtext("link") and item.findtext("guid"), url
    return [item.findtext("title") for item in items]


def _atom_titles(client, url) -> list[str]:
    response = client.get(url)
    assert response.status_code == 200, url
    assert response["Content-Type"] == ATOM_TYPE, url
    root = ET.fromstring(response.content)
    assert root.tag == f"{ATOM}feed", url
    assert root.findtext(f"{ATOM}title") and root.findtext(f"{ATOM}id"), url
    entries = root.findall(f"{ATOM}entry")
    for entry in entries:
        for child in ("id", "title", "updated"):
            assert entry.findtext(f"{ATOM}{child}"), (url, child)
        assert entry.find(f"{ATOM}link").get("href").startswith("http://testserver/"), url
    return [entry.findtext(f"{ATOM}title") for entry in entries]


def _both(client, rss_name, atom_name, *args) -> set[str]:
    """The titles a feed lists, checked to be the same in its RSS and Atom forms."""
    rss = _rss_titles(client, reverse(rss_name, args=args))
    atom = _atom_titles(client, reverse(atom_name, args=args))
    assert rss == atom
    return set(rss)


def _sitemap(client) -> dict[str, str | None]:
    response = client.get("/sitemap.xml")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAP}urlset"
    return {
        url.findtext(f"{SITEMAP}loc"): url.findtext(f"{SITEMAP}lastmod")
        for url in root.findall(f"{SITEMAP}url")
    }


@pytest.fixture
def site(author, other_author):
    """A blog with one post or page in every state a visitor must or must not see."""
    now = timezone.now()
    travel, food = make_category("Travel"), make_category("Food")
    empty = make_category("Nothing published")
    django, cats = make_tag("Django"), make_tag("Cats")
    posts = {
        "public": make_post(author, title="Public post", categories=[travel], tags=[django]),
        "by_ford": make_post(other_author, title="Ford's post", categories=[food], tags=[cats]),
        "draft": make_post(author, title="A draft", status=Post.Status.DRAFT, categories=[empty]),
        "pending": make_post(author, title="Awaiting review", status=Post.Status.PENDING),
        "private": make_post(author, title="Private post", status=Post.Status.PRIVATE),
        "future": make_post(
            author,
            title="Scheduled post",
            status=Post.Status.FUTURE,
            published_at=now + timedelta(days=1),
            tags=[django],
        ),
        "locked": make_post(author, title="Locked post", password="secret", categories=[travel]),
        "trash": make_post(
            author, title="Trashed post", status=Post.Status.TRASH, published_at=now, tags=[cats]
        ),
        "page": make_page(author, title="About", slug="about"),
        "draft_page": make_page(author, title="Draft page", status=Post.Status.DRAFT),
    }
    return {"posts": posts, "categories": (travel, food, empty), "tags": (django, cats)}


PUBLIC_POSTS = {"Public post", "Ford's post"}


def test_every_feed_is_well_formed_rss_or_atom_with_the_right_content_type(client, site):
    travel, django = site["categories"][0], site["tags"][0]
    make_comment(site["posts"]["public"], body="Nice one.")

    for rss, atom, args in [
        ("blog:feed", "blog:feed-atom", []),
        ("blog:comments-feed", "blog:comments-feed-atom", []),
        ("blog:category-feed", "blog:category-feed-atom", [travel.slug]),
        ("blog:tag-feed", "blog:tag-feed-atom", [django.slug]),
        ("blog:author-feed", "blog:author-feed-atom", ["arthur"]),
    ]:
        assert _both(client, rss, atom, *args), rss  # valid, and not empty


def test_site_feed_lists_published_posts_only(client, site):
    # No draft, pending, private, scheduled, password-protected or trashed post, no page.
    assert _both(client, "blog:feed", "blog:feed-atom") == PUBLIC_POSTS


def test_category_tag_and_author_feeds_list_only_their_own_public_posts(client, site):
    travel, food, empty = site["categories"]
    django, cats = site["tags"]

    assert _both(client, "blog:category-feed", "blog:category-feed-atom", travel.slug) == {
        "Public post"
    }
    assert _both(client, "blog:category-feed", "blog:category-feed-atom", food.slug) == {
        "Ford's post"
    }
    assert _both(client, "blog:category-feed", "blog:category-feed-atom", empty.slug) == set()
    assert _both(client, "blog:tag-feed", "blog:tag-feed-atom", django.slug) == {"Public post"}
    assert _both(client, "blog:tag-feed", "blog:tag-feed-atom", cats.slug) == {"Ford's post"}
    assert _both(client, "blog:author-feed", "blog:author-feed-atom", "ford") == {"Ford's post"}


def test_feeds_for_unknown_categories_tags_and_authors_are_not_found(client, site):
    for name in ("blog:category-feed", "blog:tag-feed", "blog:author-feed"):
        assert client.get(reverse(name, args=["no-such-thing"])).status_code == 404
    assert client.get(reverse("blog:category-feed-atom", args=["nope"])).status_code == 404


def test_comments_feed_shows_approved_comments_on_public_posts_without_emails(client, site):
    posts = site["posts"]
    make_comment(posts["public"], author_name="Alice", author_email="alice@example.org")
    make_comment(posts["page"], author_name="Paula", author_email="paula@example.org")
    make_comment(posts["public"], author_name="Held", status=Comment.Status.PENDING)
    make_comment(posts["public"], author_name="Spammer", status=Comment.Status.SPAM)
    make_comment(posts["private"], author_name="Insider")
    make_comment(posts["locked"], author_name="Member")
    make_comment(posts["trash"], author_name="Too late")

    titles = _both(client, "blog:comments-feed", "blog:comments-feed-atom")

    assert titles == {"Comment on Public post by Alice", "Comment on About by Paula"}
    for url in (reverse("blog:comments-feed"), reverse("blog:comments-feed-atom")):
        assert b"@example.org" not in client.get(url).content


def test_titles_lose_their_markup_and_arrive_escaped_once_with_unicode_intact(client, author):
    title = "Fish & Chips <b>not bold</b> — Ça va? 日本語 😀"
    post = make_post(author, title=title, slug="fish-and-chips", body="Crispy & hot.")

    rss = client.get(reverse("blog:feed")).content
    atom = client.get(reverse("blog:feed-atom")).content

    # Markup stripped, then escaped once: a reader that renders the title as HTML (many
    # do with RSS) shows the words, and Atom says so with type="html".
    shown = "Fish &amp; Chips not bold — Ça va? 日本語 😀"
    assert b"Fish &amp;amp; Chips not bold" in rss and b"<b>" not in rss
    assert _rss_titles(client, reverse("blog:feed")) == [shown]
    assert _atom_titles(client, reverse("blog:feed-atom")) == [shown]
    entry = ET.fromstring(atom).find(f"{ATOM}entry")
    assert entry.find(f"{ATOM}title").get("type") == "html"
    assert ET.fromstring(atom).find(f"{ATOM}title").get("type") == "html"
    item = ET.fromstring(rss).find("channel/item")
    assert item.findtext("description") == post.body_html == "<p>Crispy &amp; hot.</p>\n"
    assert "日本語".encode() in atom


def test_control_characters_in_posts_and_comments_do_not_break_the_feeds(client, author):
    # XML 1.0 cannot hold U+0001 and friends, and `&#1;` in a body decodes to one: a
    # single stray byte from one visitor must not turn the feed into a server error.
    post = post_write(
        post=Post(
            title="Odd\x07 bytes",
            body="Tab\tfine, bell\x07 and &#1; not",
            status=Post.Status.PUBLISHED,
        ),
        by=author,
    )
    response = client.post(
        reverse("blog:comment-post", args=[post.pk]),
        {"name": "Read\x01er", "email": "r@example.com", "body": "Odd &#12; comment\x0b"},
    )
    assert response.status_code == 302
    Comment.objects.update(status=Comment.Status.APPROVED)

    assert _both(client, "blog:feed", "blog:feed-atom") == {"Odd bytes"}
    assert _both(client, "blog:comments-feed", "blog:comments-feed-atom") == {
        "Comment on Odd bytes by Reader"
    }


def test_sitemap_lists_home_public_posts_pages_and_archives_with_posts(client, site):
    posts = site["posts"]
    travel, food, empty = site["categories"]
    django, cats = site["tags"]
    public = [posts[k] for k in ("public", "by_ford", "locked")]

    entries = _sitemap(client)

    expected = [
        "/",
        *(p.get_absolute_url() for p in public),
        posts["page"].get_absolute_url(),
        travel.get_absolute_url(),
        food.get_absolute_url(),
        django.get_absolute_url(),
        cats.get_absolute_url(),
    ]
    assert sorted(entries) == sorted(f"http://testserver{path}" for path in expected)
    for post in public:
        lastmod = entries[f"http://testserver{post.get_absolute_url()}"]
        assert lastmod and lastmod.startswith(f"{timezone.now():%Y-%m-%d}")
    assert f"http://testserver{empty.get_absolute_url()}" not in entries


def test_robots_txt_points_crawlers_at_the_sitemap(client):
    response = client.get("/robots.txt")

    assert response.status_code == 200
    assert "Sitemap: http://testserver/sitemap.xml" in response.content.decode().splitlines()


def test_a_scheduled_post_joins_feed_and_sitemap_when_its_time_comes(client, author):
    now = timezone.now()
    make_post(author, title="Already out")
    post = post_write(
        post=Post(
            title="Tomorrow's news",
            body="Not yet.",
            status=Post.Status.PUBLISHED,
            published_at=now + timedelta(hours=2),
        ),
        by=author,
    )
    url = f"http://testserver{post.get_absolute_url()}"
    assert post.status == Post.Status.FUTURE

    assert _both(client, "blog:feed", "blog:feed-atom") == {"Already out"}
    assert url not in _sitemap(client)
    assert client.get(post.get_absolute_url()).status_code == 404

    # Nothing runs in between: the queries themselves let the post through once due.
    with time_machine.travel(now + timedelta(hours=2, minutes=1), tick=False):
        assert _both(client, "blog:feed", "blog:feed-atom") == {"Already out", "Tomorrow's news"}
        assert url in _sitemap(client)
        assert client.get(post.get_absolute_url()).status_code == 200


def test_a_parent_category_feed_and_sitemap_include_its_sub_categories(client, author):
    travel = make_category("Travel")
    europe = make_category("Europe", parent=travel)
    make_post(author, title="Lisbon by tram", categories=[europe])

    feed = client.get(reverse("blog:category-feed", args=[travel.slug])).content.decode()
    sitemap = client.get("/sitemap.xml").content.decode()

    assert "Lisbon by tram" in feed
    assert travel.get_absolute_url() in sitemap and europe.get_absolute_url() in sitemap
