"""Restore a `manage.py backup` archive into this site, verifying every hash."""

from __future__ import annotations

from pathlib import Path

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from maintenance import backup


class Command(BaseCommand):
    help = (
        "Restore a backup archive: checks every file against the manifest first, refuses "
        "a site that has content unless --force, then loads the database and media and "
        "checks hashes and row counts again."
    )

    def add_arguments(self, parser):
        parser.add_argument("archive", type=Path, help="a .tar.gz written by manage.py backup")
        parser.add_argument(
            "--force",
            action="store_true",
            help="replace this site's database and media even though it has content",
        )
        parser.add_argument(
            "--verify-only",
            action="store_true",
            help="only check the archive's hashes; change nothing",
        )

    def handle(self, *args, archive: Path, force: bool, verify_only: bool, **options):
        if not archive.is_file():
            raise CommandError(f"{archive} does not exist")
        try:
            if verify_only:
                manifest = backup.backup_verify(archive=archive)
                self.stdout.write(
                    f"{archive} is intact: {len(manifest['media'])} media files and the "
                    f"{manifest['engine']} database match their hashes."
                )
                return
            result = backup.backup_restore(archive=archive, force=force)
        except ValidationError as exc:
            raise CommandError(exc.messages[0]) from None
        self.stdout.write(
            f"Restored {result['rows']} rows and {result['media_files']} media files from "
            f"{archive}; every hash and row count matches."
        )
        if result["pending_migrations"]:
            self.stdout.write(
                f"This release has {result['pending_migrations']} migrations the backup "
                "predates: run manage.py migrate."
            )
