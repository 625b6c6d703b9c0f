"""Back up a single-machine site: database and media files in one verifiable archive."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from maintenance import backup


class Command(BaseCommand):
    help = (
        "Write the database (SQLite online backup or mariadb-dump --single-transaction) and "
        "every file under MEDIA_ROOT into one .tar.gz with a manifest of SHA-256 hashes."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--output",
            type=Path,
            help="archive to write, never overwritten (default var/backups/cloudblog-TIME.tar.gz)",
        )

    def handle(self, *args, output: Path | None, **options):
        if output is None:
            stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
            output = Path(settings.VAR_DIR) / "backups" / f"cloudblog-{stamp}.tar.gz"
        try:
            manifest = backup.backup_create(output=output)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from None
        rows = sum(manifest["tables"].values())
        self.stdout.write(
            f"Backed up {len(manifest['tables'])} tables ({rows} rows, {manifest['engine']}) "
            f"and {len(manifest['media'])} media files to {output}\n"
            f"sha256 {manifest['archive']['sha256']}"
        )
