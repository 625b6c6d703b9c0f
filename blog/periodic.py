"""The blog's periodic jobs, named in cron.yaml and registered in blog/apps.py.

A periodic job can fire again before the last run is acknowledged: each is idempotent.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django_tasks import task

from blog.services import trash_empty
from blog.sitemaps import refresh_sitemap as refresh

logger = logging.getLogger(__name__)


@task
def empty_trash() -> dict[str, int]:
    """Delete what has been in the trash longer than TRASH_DAYS; twice deletes nothing more."""
    counts = trash_empty()
    logger.info("empty-trash: deleted %(posts)d posts and %(comments)d comments", counts)
    return counts


@task
def refresh_sitemap() -> dict:
    """Re-render /sitemap.xml into the shared cache, so no crawler makes an instance do it."""
    if not settings.SITEMAP_REFRESH_SECONDS:
        return {"skipped": "SITEMAP_REFRESH_SECONDS is 0: the sitemap is not cached"}
    if not settings.SITE_URL:
        # Without a canonical host the job cannot know which address to render for;
        # instances then render on a miss, once per host and refresh period.
        logger.warning("refresh-sitemap: SITE_URL is unset; nothing refreshed")
        return {"skipped": "SITE_URL is unset"}
    return refresh(settings.SITE_URL)
