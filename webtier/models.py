"""The web tier's one table: the cache epoch that every shared-cache key includes."""

from __future__ import annotations

from django.db import models
from django.urls import reverse


class CacheEpoch(models.Model):
    """A counter in the database that every shared-cache key includes (webtier/cache.py).

    Bumped when an invalidation could not reach Redis, so that nothing written to
    Redis before can be read again once Redis is back.
    """

    name = models.CharField(max_length=50, primary_key=True)
    value = models.BigIntegerField(default=0)

    class Meta:
        # Born in the blog app (migration blog 0003); the table keeps its name.
        db_table = "blog_cacheepoch"
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name}={self.value}"

    def get_absolute_url(self) -> str:
        return reverse("admin:index")
