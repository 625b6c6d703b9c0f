"""What an import remembers: each WordPress object and the cloudblog object it became, the old
site (its address and permalink structure, for the old-URL redirects), and each run."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class OldSite(models.Model):
    """A WordPress site moved here: where it lived and how its URLs looked."""

    url = models.CharField(max_length=255, unique=True, help_text="Its base_site_url.")
    title = models.CharField(max_length=300, blank=True)
    permalink_structure = models.CharField(
        max_length=200,
        blank=True,
        help_text="WordPress's permalink setting, e.g. /%year%/%monthnum%/%postname%/",
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        verbose_name = "old WordPress site"

    def __str__(self) -> str:
        return self.url

    def get_absolute_url(self) -> str:
        return reverse("admin:wordpress_oldsite_change", args=[self.pk])


class ImportedItemQuerySet(models.QuerySet):
    def of(self, site: OldSite, kind: str) -> ImportedItemQuerySet:
        return self.filter(site=site, kind=kind)


class ImportedItem(models.Model):
    """One WordPress object and what it became here.

    Its WordPress id (with the site) makes an import idempotent and resumable; the GUID,
    the old slug and the old path answer old URLs. Exactly one of the object columns is
    set, the one of its kind: a foreign key rather than a generic id, so that an old URL
    is answered by one query joining the object, and deleting the object forgets it.
    """

    class Kind(models.TextChoices):
        AUTHOR = "author", "Author"
        CATEGORY = "category", "Category"
        TAG = "tag", "Tag"
        POST = "post", "Post"
        PAGE = "page", "Page"
        ATTACHMENT = "attachment", "Attachment"
        COMMENT = "comment", "Comment"

    site = models.ForeignKey(OldSite, on_delete=models.CASCADE, related_name="items")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    wp_id = models.BigIntegerField()
    guid = models.CharField(max_length=500, blank=True)
    old_slug = models.CharField(max_length=200, blank=True)
    # Attachments: the file's path under wp-content/uploads/; posts and pages: the path of
    # their old permalink.
    old_path = models.CharField(max_length=500, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    category = models.ForeignKey(
        "blog.Category", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    tag = models.ForeignKey(
        "blog.Tag", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    post = models.ForeignKey(
        "blog.Post",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="wordpress_items",
    )
    media = models.ForeignKey(
        "media_library.MediaItem", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    comment = models.ForeignKey(
        "blog.Comment", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    # What WordPress had that cloudblog has no column for: post format, comment type
    # (pingback, trackback), the attachment's parent, meta kept for the export.
    meta = models.JSONField(default=dict, blank=True)
    imported_at = models.DateTimeField(default=timezone.now, editable=False)

    objects = ImportedItemQuerySet.as_manager()

    class Meta:
        ordering = ["site", "kind", "wp_id"]
        get_latest_by = "imported_at"
        verbose_name = "imported item"
        constraints = [
            models.UniqueConstraint(fields=["site", "kind", "wp_id"], name="wp_item_unique"),
        ]
        indexes = [
            models.Index(fields=["kind", "wp_id"], name="wp_item_id_idx"),
            models.Index(fields=["kind", "old_slug"], name="wp_item_slug_idx"),
            models.Index(fields=["kind", "old_path"], name="wp_item_path_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.wp_id} of {self.site_id}"

    def get_absolute_url(self) -> str:
        return reverse("admin:wordpress_importeditem_change", args=[self.pk])


class ImportRun(models.Model):
    """One import of one file: its options, progress and final report, kept for the admin
    page (which reads it again after a refresh or a restart)."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Done with failures"
        REFUSED = "refused", "Refused"
        INTERRUPTED = "interrupted", "Interrupted"

    file_name = models.CharField(max_length=300)
    # The uploaded file in the private media store (admin imports), for the worker.
    stored_file = models.CharField(max_length=300, blank=True, editable=False)
    stored_media = models.CharField(max_length=300, blank=True, editable=False)
    site = models.ForeignKey(OldSite, null=True, blank=True, on_delete=models.SET_NULL)
    options = models.JSONField(default=dict, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # {"done": n, "total": n, "rate": items/s, "phase": "..."}
    progress = models.JSONField(default=dict, blank=True)
    # {"counts": {kind: {created, updated, skipped, failed}}, "failures": [...], "notes": [...]}
    report = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # Written with each batch's commit: a running import whose worker died (kill -9, a lost
    # instance) stops writing it, which is how the admin page tells it has stopped.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        verbose_name = "WordPress import"

    def __str__(self) -> str:
        return f"{self.file_name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("admin:wordpress_importrun_change", args=[self.pk])

    def last_sign_of_life(self):
        return self.heartbeat_at or self.started_at or self.created_at

    def is_stalled(self, *, stale_after: float, beat=None) -> bool:
        """Running, but nothing heard for `stale_after` seconds (`beat`: a later sign of
        life from the cache, when there is one)."""
        if self.status != self.Status.RUNNING:
            return False
        last = max(t for t in (self.last_sign_of_life(), beat) if t is not None)
        return (timezone.now() - last).total_seconds() > stale_after


# The REST API's application passwords (wordpress/app_passwords.py).
from wordpress.app_passwords import ApplicationPassword  # noqa: E402, F401
