"""Delete what has waited in the trash long enough (run it daily from cron or a timer)."""

from __future__ import annotations

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from blog import services


class Command(BaseCommand):
    help = "Delete posts, pages and comments that have been in the trash longer than --days."

    def add_arguments(self, parser):
        parser.add_argument(
            "--days",
            type=int,
            default=settings.TRASH_DAYS,
            help=(
                "Delete what was trashed more than this many days ago "
                f"(default TRASH_DAYS, now {settings.TRASH_DAYS})."
            ),
        )
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Only count what would be deleted; delete nothing.",
        )

    def handle(self, *args, days: int, dry_run: bool, **options):
        if days < 0:
            raise CommandError(f"--days must be 0 or more, got {days}")
        counts = services.trash_empty(days=days, dry_run=dry_run)
        verb = "Would delete" if dry_run else "Deleted"
        self.stdout.write(
            f"{verb} {counts['posts']} posts and pages and {counts['comments']} comments "
            f"trashed more than {days} days ago."
        )
