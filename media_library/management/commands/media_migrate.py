"""Move every media item to another store, verified by hash, resumable (migration.py)."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from media_library.migration import MigrationError, media_migrate, target_storage
from media_library.models import MediaItem


class Command(BaseCommand):
    help = (
        "Copy every media item's files (the private original and every rendition) to "
        "another store, check each copy against its recorded SHA-256, and only then switch "
        "the item to the new store so its pages use the new URLs. Safe to stop at any "
        "point and to run again: it resumes where it stopped. Source files are kept."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--to",
            required=True,
            choices=MediaItem.Store.values,
            help="The store to move to: local, efs, ebs or s3 (s3 needs MEDIA_S3_BUCKET).",
        )
        parser.add_argument(
            "--location",
            help="For local, efs or ebs: the directory to copy into (default MEDIA_ROOT).",
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="List the items that would move; copy and switch nothing.",
        )

    def handle(self, *args, to: str, location: str | None, dry_run: bool, **options):
        try:
            target = target_storage(to, location)
            summary = media_migrate(
                to=to, dry_run=dry_run, target=target, progress=self.stdout.write
            )
        except (MigrationError, ImproperlyConfigured) as exc:
            raise CommandError(
                f"{exc}. Items already switched stay in {to}; the others are still served "
                "from their old store. Run the command again to resume."
            ) from exc
        if dry_run:
            planned = len(summary.planned)
            self.stdout.write(f"Would move {planned} of {summary.items} items to {to}.")
            return
        self.stdout.write(
            f"Moved {summary.moved} items to {to}: {summary.copied} files copied "
            f"({filesizeformat(summary.bytes)}), {summary.present} already there, all verified."
        )
