"""The media library: uploaded images, their private originals and public renditions."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from media_library.files import storage


class MediaItemQuerySet(models.QuerySet):
    def usable_by(self, user) -> MediaItemQuerySet:
        """What `user` may see, insert and edit: their own uploads, or all for editors."""
        if user.has_perm("blog.edit_others_posts"):
            return self
        return self.filter(uploaded_by=user)


class MediaItem(models.Model):
    """An uploaded image: a private original, a public cleaned "full" image and renditions;
    or an uploaded file of another kind (PDF, audio, video, a document), served as is.

    Everything a page needs to render it (names, sizes, the store the files are in) is in
    the row, so rendering never asks the store anything. `renditions` lists every public
    file, "full" first, as dicts: name, file, width, height, mime_type, bytes, sha256.
    """

    class Store(models.TextChoices):
        LOCAL = "local", "Local disk"
        EFS = "efs", "EFS"
        EBS = "ebs", "EBS"
        S3 = "s3", "S3"

    class Kind(models.TextChoices):
        IMAGE = "image", "Image"
        DOCUMENT = "document", "Document"
        AUDIO = "audio", "Audio"
        VIDEO = "video", "Video"
        ARCHIVE = "archive", "Archive"

    class Status(models.TextChoices):
        PENDING = "pending", "Renditions pending"
        READY = "ready", "Ready"
        FAILED = "failed", "Renditions failed"

    # Images are re-encoded into renditions; other files (media_store/documents.py) are
    # served as uploaded, from `file`, with no renditions and no private original.
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.IMAGE, editable=False)
    # The cleaned, served version of the original (the "full" rendition), or the file.
    file = models.FileField(upload_to="%Y/%m/", max_length=255, blank=True, editable=False)
    # The upload as received: kept for re-processing, never given a URL.
    original = models.CharField(max_length=255, blank=True, editable=False)
    store = models.CharField(
        max_length=10, choices=Store.choices, default=Store.LOCAL, editable=False
    )
    title = models.CharField(max_length=200, blank=True)
    alt_text = models.CharField(
        max_length=300, blank=True, help_text="Describe the image for people who cannot see it."
    )
    caption = models.TextField(blank=True)
    mime_type = models.CharField(max_length=100, blank=True, editable=False)
    width = models.PositiveIntegerField(null=True, blank=True, editable=False)
    height = models.PositiveIntegerField(null=True, blank=True, editable=False)
    byte_size = models.PositiveBigIntegerField(default=0, editable=False)
    sha256 = models.CharField(max_length=64, blank=True, editable=False)
    renditions = models.JSONField(default=list, blank=True, editable=False)
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, editable=False
    )
    status_detail = models.TextField(blank=True, editable=False)
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    # `posts`, which posts show this item, is the reverse of blog's Post.media_items.

    objects = MediaItemQuerySet.as_manager()

    class Meta:
        # Born in the blog app (migration blog 0001); the table keeps its name.
        db_table = "blog_mediaitem"
        ordering = ["-created_at", "-id"]
        get_latest_by = "created_at"
        verbose_name = "media item"
        constraints = [
            # The same bytes from the same person are one item (dedupe by content).
            models.UniqueConstraint(fields=["uploaded_by", "sha256"], name="media_unique_upload"),
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="media_status_idx")]

    def __str__(self) -> str:
        return self.title or self.file.name or f"Media {self.pk}"

    def get_absolute_url(self) -> str:
        return self.url(self.file.name)

    def url(self, name: str) -> str:
        """The public URL of one of this item's files, in the store it really is in."""
        return storage(self.store).url(name)

    @property
    def is_image(self) -> bool:
        return self.kind == self.Kind.IMAGE

    def rendition(self, name: str) -> dict | None:
        return next((r for r in self.renditions if r["name"] == name), None)

    def public_files(self) -> list[dict]:
        """Every served file; "full" is there even before the other renditions exist."""
        return list(self.renditions)
