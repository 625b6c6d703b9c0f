"""Past SITEMAP_LIMIT URLs /sitemap.xml is an index of files of at most that many, each
served from the copy the `refresh-sitemap` job rendered (the limit is 50,000 in
production, where search engines stop reading; 5 here)."""

from __future__ import annotations

from datetime import timedelta

import defusedxml.ElementTree as ET
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from blog.periodic import refresh_sitemap
from tests.factories import make_post

pytestmark = pytest.mark.django_db

NS = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
CANONICAL = "https://blog.example.com"


@pytest.fixture(autouse=True)
def _small_sitemaps(settings):
    settings.SITEMAP_REFRESH_SECONDS = 900
    settings.SITE_URL = CANONICAL
    settings.SITEMAP_LIMIT = 5


def _get(client, url: str):
    response = client.get(url)
    assert response.status_code == 200, url
    return ET.fromstring(response.content), response["X-Sitemap-Cache"]


def _posts(author, count: int) -> list:
    now = timezone.now()
    return [
        make_post(author, title=f"Entry {n}", published_at=now - timedelta(hours=n + 1))
        for n in range(count)
    ]


def test_a_site_within_the_limit_keeps_a_single_sitemap(client, author):
    _posts(author, 3)  # 3 posts and the home page: 4 URLs

    root, _ = _get(client, "/sitemap.xml")

    assert root.tag == f"{NS}urlset"
    assert len(root.findall(f"{NS}url")) == 4


def test_past_the_limit_the_sitemap_is_an_index_of_files_holding_every_url_once(client, author):
    posts = _posts(author, 12)  # 12 posts: files of 5, 5 and 2, and the home page's

    root, _ = _get(client, "/sitemap.xml")

    assert root.tag == f"{NS}sitemapindex"
    files = [s.findtext(f"{NS}loc") for s in root.findall(f"{NS}sitemap")]
    assert files == [
        f"{CANONICAL}/sitemap-home.xml",
        f"{CANONICAL}/sitemap-posts.xml",
        f"{CANONICAL}/sitemap-posts.xml?p=2",
        f"{CANONICAL}/sitemap-posts.xml?p=3",
    ]
    seen = []
    for url in files:
        page, _ = _get(client, url.removeprefix(CANONICAL))
        locs = [u.findtext(f"{NS}loc") for u in page.findall(f"{NS}url")]
        assert 0 < len(locs) <= 5
        seen.extend(locs)
    expected = {f"{CANONICAL}{p.get_absolute_url()}" for p in posts} | {f"{CANONICAL}/"}
    assert sorted(seen) == sorted(expected)


def test_the_refresh_job_renders_every_file_and_crawlers_get_its_copies(client, author):
    _posts(author, 12)

    result = refresh_sitemap.call()

    assert result["files"] == 4
    for url in ("/sitemap.xml", "/sitemap-posts.xml", "/sitemap-posts.xml?p=3"):
        with CaptureQueriesContext(connection) as captured:
            _, state = _get(client, url)
        assert state == "HIT", url
        assert len(captured) == 0, url


def test_a_file_past_the_end_or_of_no_section_is_404(client, author):
    _posts(author, 12)

    assert client.get("/sitemap-posts.xml?p=4").status_code == 404
    assert client.get("/sitemap-posts.xml?p=0").status_code == 404
    assert client.get("/sitemap-posts.xml?p=two").status_code == 404
    assert client.get("/sitemap-nothing.xml").status_code == 404


def test_the_jobs_files_are_what_djangos_sitemap_template_writes(client, author):
    """The job writes the XML itself (one pass, no template, no model per URL): the same
    bytes as Django's sitemap.xml template for the same URLs, odd slugs included."""
    from types import SimpleNamespace

    from django.template.loader import render_to_string
    from django.utils.html import escape

    from blog.sitemaps import SITEMAPS

    posts = _posts(author, 9)
    posts[0].slug = "café-à-l'heure"
    posts[1].slug = "fish&chips"
    for post in posts[:2]:
        post.save(update_fields=["slug"])
    make_post(author, title="About", slug="about", kind="page")
    site = SimpleNamespace(domain="blog.example.com", name="blog")

    refresh_sitemap.call()

    for name, pages in (("posts", 2), ("pages", 1), ("home", 1)):
        section = SITEMAPS[name]()
        section.limit = 5
        for page in range(1, pages + 1):
            urls = section.get_urls(page=page, site=site, protocol="https")
            expected = render_to_string("sitemap.xml", {"urlset": urls})
            url = f"/sitemap-{name}.xml" + (f"?p={page}" if page > 1 else "")
            response = client.get(url)
            assert response["X-Sitemap-Cache"] == "HIT", url
            assert response.content.decode() == expected, url
    locs = "".join(
        client.get(url).content.decode() for url in ("/sitemap-posts.xml", "/sitemap-posts.xml?p=2")
    )
    assert "/caf%C3%A9-%C3%A0-l&#x27;heure/</loc>" in locs
    for post in posts:
        assert f"<loc>{escape(CANONICAL + post.get_absolute_url())}</loc>" in locs
