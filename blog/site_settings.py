"""The site's settings (WordPress's options): one row the whole site shares.

Title, tagline, time zone, date and time formats, posts per page, the default comment
status of new posts... live in the database, so an administrator changes them in the
admin ("Site settings") or through the API (`/wp/v2/settings`) and every instance
agrees at once. Until the row is first saved, the environment's values
(SITE_NAME, SITE_TAGLINE, POSTS_PER_PAGE, DJANGO_TIME_ZONE, ...) stand in for it, as
WordPress's installer writes its first options.

Every rendered page reads them, so they are kept in Redis under the page cache's
generation (webtier.page_cache.shared_value): a change bumps the generation after
commit, which makes every instance read the row again, and the pages that show the old
title stale, in the same step. This module imports nothing of blog's, so that
blog.models can use it (the default comment status of a new post).
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, fields

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import DEFAULT_DB_ALIAS, DatabaseError, models
from django.urls import reverse

from webtier.page_cache import shared_value

SINGLETON_PK = 1
OPEN, CLOSED = "open", "closed"
_STATUS_CHOICES = [(OPEN, "Open"), (CLOSED, "Closed")]
WEEKDAYS = [
    (0, "Sunday"), (1, "Monday"), (2, "Tuesday"), (3, "Wednesday"),
    (4, "Thursday"), (5, "Friday"), (6, "Saturday"),
]  # fmt: skip


def validate_timezone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"{value!r} is not a time zone name such as Europe/Paris or UTC.")


def wordpress_locale(language_code: str) -> str:
    """Django's `en-us` as WordPress's `en_US`."""
    language, _, region = language_code.partition("-")
    return f"{language}_{region.upper()}" if region else language


class SiteSettings(models.Model):
    """The one row of the site's settings (pk 1); read through `site_settings()`."""

    title = models.CharField("site title", max_length=200)
    description = models.CharField("tagline", max_length=300, blank=True)
    email = models.EmailField("administration email address", max_length=254)
    timezone = models.CharField(max_length=64, validators=[validate_timezone])
    date_format = models.CharField(
        max_length=50, help_text="Letters as PHP's (and Django's) date format: j F Y."
    )
    time_format = models.CharField(max_length=50, help_text="H:i, g:i a, ...")
    start_of_week = models.PositiveSmallIntegerField("week starts on", choices=WEEKDAYS)
    posts_per_page = models.PositiveSmallIntegerField(
        "blog pages show at most",
        validators=[MinValueValidator(1), MaxValueValidator(100)],
    )
    default_comment_status = models.CharField(
        "comments on new posts",
        max_length=10,
        choices=_STATUS_CHOICES,
        help_text="Whether people may comment on new posts (each post can change it).",
    )
    default_ping_status = models.CharField(
        "pingbacks on new posts",
        max_length=10,
        choices=_STATUS_CHOICES,
        help_text="Kept for WordPress clients: cloudblog sends and accepts no pingbacks.",
    )
    default_category = models.ForeignKey(
        "blog.Category",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="WordPress's default post category, for clients that read it.",
    )
    language = models.CharField(
        max_length=20, help_text="WordPress locale code, such as en_US (for clients)."
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = verbose_name_plural = "site settings"

    def __str__(self) -> str:
        return "Site settings"

    def get_absolute_url(self) -> str:
        return reverse("admin:blog_sitesettings_change", args=[self.pk])


@dataclass(frozen=True)
class Options:
    """The settings as the site uses them (a plain value: cheap to keep in Redis)."""

    title: str
    description: str
    email: str
    timezone: str
    date_format: str
    time_format: str
    start_of_week: int
    posts_per_page: int
    default_comment_status: str
    default_ping_status: str
    default_category_id: int | None
    language: str


NAMES = tuple(f.name for f in fields(Options))


def defaults() -> dict:
    """The environment's values, which stand in until an administrator saves the row."""
    return {
        "title": settings.SITE_NAME,
        "description": settings.SITE_TAGLINE,
        "email": settings.DEFAULT_FROM_EMAIL,
        "timezone": settings.TIME_ZONE,
        # What the theme printed before these were settings (Django's letters are PHP's).
        "date_format": "j F Y",
        "time_format": "H:i",
        "start_of_week": 1,
        "posts_per_page": settings.POSTS_PER_PAGE,
        "default_comment_status": OPEN,
        "default_ping_status": CLOSED,
        "default_category_id": None,
        "language": wordpress_locale(settings.LANGUAGE_CODE),
    }


def _stored() -> dict:
    # From the writer: a copy read from a lagging replica would be kept for every instance.
    # With the writer down, readers keep reading (webtier/routing.py): the replica's copy.
    rows = SiteSettings.objects.filter(pk=SINGLETON_PK).values(*NAMES)
    try:
        row = rows.using(DEFAULT_DB_ALIAS).first()
    except DatabaseError:
        row = rows.first()
    return row or {}


def _load() -> Options:
    # Only what was saved is shared: until then a deploy that changes SITE_NAME shows at once.
    return Options(**{**defaults(), **shared_value("site-settings", _stored)})


# Read at most once per request (blog.middleware), however many templates and tags ask,
# and not at all by a request that never asks (robots.txt).
_held: ContextVar[list | None] = ContextVar("site_settings", default=None)


def site_settings() -> Options:
    """The site's settings now: one Redis round trip (one query without the page cache),
    at most once per request."""
    held = _held.get()
    if held is None:
        return _load()
    if not held:
        held.append(_load())
    return held[0]


@contextmanager
def settings_held() -> Iterator[None]:
    """Inside, the settings are read once, when first asked for (one request)."""
    token = _held.set([])
    try:
        yield
    finally:
        _held.reset(token)


def settings_replace_held(options: Options) -> None:
    """After a change: what the rest of this request reads (a held copy would be old)."""
    held = _held.get()
    if held is not None:
        held[:] = [options]


def site_zone() -> zoneinfo.ZoneInfo:
    """The time zone dates are shown in (WordPress's timezone_string).

    Only for showing and reading dates: archives still group by DJANGO_TIME_ZONE, since
    grouping in another zone needs the database's time zone tables (MariaDB's are
    often not loaded) and would move every archive URL.
    """
    return zoneinfo.ZoneInfo(site_settings().timezone)


def default_comment_status() -> str:
    """Post.comment_status's default: the site's setting when the post is created."""
    return site_settings().default_comment_status
