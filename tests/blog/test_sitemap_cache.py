"""/sitemap.xml comes from a copy the `refresh-sitemap` periodic job renders, never older
than SITEMAP_REFRESH_SECONDS, so crawlers cannot make an instance render it on demand."""

from __future__ import annotations

import logging
from datetime import timedelta

import defusedxml.ElementTree as ET
import pytest
import time_machine
import yaml
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from blog.models import Post
from blog.services import post_write
from config.settings import BASE_DIR
from tests.factories import make_post
from worker import registry
from worker.models import TaskRun

pytestmark = pytest.mark.django_db

SITEMAP = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
CANONICAL = "https://blog.example.com"


@pytest.fixture(autouse=True)
def _sitemap_cached(settings):
    settings.SITEMAP_REFRESH_SECONDS = 900
    settings.SITE_URL = CANONICAL


def _locs(client, **headers) -> tuple[set[str], str]:
    response = client.get("/sitemap.xml", **headers)
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/xml")
    assert response["X-Robots-Tag"] == "noindex, noodp, noarchive"
    root = ET.fromstring(response.content)
    assert root.tag == f"{SITEMAP}urlset"
    return {url.findtext(f"{SITEMAP}loc") for url in root.findall(f"{SITEMAP}url")}, response[
        "X-Sitemap-Cache"
    ]


def _refresh(client, message_id: str = "cron-1"):
    """What the Beanstalk daemon sends for the cron.yaml entry."""
    return client.post(
        "/worker/",
        data="elasticbeanstalk scheduled job",
        content_type="application/json",
        HTTP_X_AWS_SQSD_MSGID=message_id,
        HTTP_X_AWS_SQSD_TASKNAME="refresh-sitemap",
        HTTP_X_AWS_SQSD_SCHEDULED_AT="2026-01-01T03:10:00Z",
        HTTP_X_AWS_SQSD_SENDER_ID="cron",
    )


def test_a_new_post_reaches_the_sitemap_when_the_periodic_job_refreshes_it(client, author):
    first = make_post(author, title="First")
    locs, state = _locs(client)
    assert (f"{CANONICAL}{first.get_absolute_url()}" in locs, state) == (True, "MISS")

    second = make_post(author, title="Second")
    locs, state = _locs(client)
    assert state == "HIT"
    assert f"{CANONICAL}{second.get_absolute_url()}" not in locs

    response = _refresh(client)
    assert (response.status_code, response.json()["outcome"]) == (200, "done")
    assert TaskRun.objects.get().periodic_name == "refresh-sitemap"

    locs, state = _locs(client)
    assert state == "HIT"
    assert f"{CANONICAL}{second.get_absolute_url()}" in locs


def test_a_served_copy_costs_no_query_and_every_host_gets_the_canonical_urls(
    client, author, steady_epoch
):
    # steady_epoch: a slow run must not count the cache epoch's periodic re-read.
    post = make_post(author, title="Canonical")
    assert _refresh(client).status_code == 200

    with CaptureQueriesContext(connection) as queries:
        locs, state = _locs(client, HTTP_HOST="localhost")
    assert state == "HIT"
    assert [q["sql"] for q in queries.captured_queries if "blog_" in q["sql"]] == []
    assert f"{CANONICAL}{post.get_absolute_url()}" in locs
    assert all(loc.startswith(f"{CANONICAL}/") for loc in locs)


def test_the_job_is_idempotent(client, author):
    make_post(author, title="Twice")
    assert _refresh(client, "cron-1").status_code == 200
    once = client.get("/sitemap.xml").content
    assert _refresh(client, "cron-2").status_code == 200
    assert client.get("/sitemap.xml").content == once
    assert TaskRun.objects.filter(state="succeeded").count() == 2


def test_a_copy_is_never_served_past_the_refresh_period(client, author, settings):
    assert _refresh(client).status_code == 200
    late = make_post(author, title="Late")
    url = f"{CANONICAL}{late.get_absolute_url()}"

    with time_machine.travel(timezone.now() + timedelta(seconds=899), tick=False):
        assert url not in _locs(client)[0]
    # The job did not come (a worker tier down): the instance renders it itself.
    with time_machine.travel(timezone.now() + timedelta(seconds=901), tick=False):
        locs, state = _locs(client)
    assert (url in locs, state) == (True, "MISS")


def test_a_scheduled_post_joins_the_sitemap_on_time_without_a_refresh(client, author):
    now = timezone.now()
    post = post_write(
        post=Post(
            title="In an hour",
            body="Soon.",
            status=Post.Status.PUBLISHED,
            published_at=now + timedelta(hours=1),
        ),
        by=author,
    )
    url = f"{CANONICAL}{post.get_absolute_url()}"
    assert _refresh(client).status_code == 200
    assert url not in _locs(client)[0]

    with time_machine.travel(now + timedelta(hours=1, seconds=1), tick=False):
        locs, state = _locs(client)
    assert (url in locs, state) == (True, "MISS")


def test_without_site_url_the_request_host_is_used_and_the_job_says_why_it_skipped(
    client, author, settings, caplog
):
    settings.SITE_URL = ""
    post = make_post(author, title="Hostless")
    locs, _ = _locs(client)
    assert f"http://testserver{post.get_absolute_url()}" in locs

    with caplog.at_level(logging.WARNING, logger="blog.periodic"):
        response = _refresh(client)
    assert (response.status_code, response.json()["outcome"]) == (200, "done")
    assert "SITE_URL is unset" in caplog.text


def test_with_the_cache_off_every_request_renders(client, author, settings):
    settings.SITEMAP_REFRESH_SECONDS = 0
    make_post(author, title="One")
    assert _locs(client)[1] == "OFF"
    later = make_post(author, title="Two")
    assert f"{CANONICAL}{later.get_absolute_url()}" in _locs(client)[0]
    assert cache.get(f"sitemap-xml:{CANONICAL}") is None


def test_further_pages_still_come_from_djangos_view(client, author):
    make_post(author, title="Only page")
    assert client.get("/sitemap.xml?p=1").status_code == 200
    assert client.get("/sitemap.xml?p=2").status_code == 404
    assert client.post("/sitemap.xml").status_code == 405


def test_cron_yaml_schedules_the_refresh_more_often_than_a_copy_lives():
    cron = yaml.safe_load((BASE_DIR / "cron.yaml").read_text())["cron"]
    entry = next(job for job in cron if job["name"] == "refresh-sitemap")
    assert entry["url"] == "/worker/"
    assert registry.periodic_task_path("refresh-sitemap") == "blog.periodic.refresh_sitemap"
    minutes = int(entry["schedule"].split()[0].removeprefix("*/"))
    assert minutes * 60 < 900  # SITEMAP_REFRESH_SECONDS' default
