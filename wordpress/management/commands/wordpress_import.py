"""Import a WordPress export (WXR) file: `manage.py wordpress_import export.xml`."""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from blog import roles
from wordpress.import_media import media_root_given
from wordpress.importer import Options, Report
from wordpress.models import ImportRun
from wordpress.services import run_finish, wxr_import


def _role(value: str) -> str:
    for role in roles.ROLES:
        if role.lower() == value.strip().lower():
            return role
    raise CommandError(f"Unknown role {value!r}: one of {', '.join(roles.ROLES)}")


def read_authors_map(path: str) -> dict[str, tuple[str, str]]:
    """old_login,user here (username or email; empty: create),role (optional) per line."""
    mapping: dict[str, tuple[str, str]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as f:
            for n, row in enumerate(csv.reader(f), 1):
                row = [cell.strip() for cell in row]
                if not row or not row[0] or row[0].startswith("#"):
                    continue
                if n == 1 and row[0].lower() in ("old_login", "login", "wordpress"):
                    continue
                target = row[1] if len(row) > 1 else ""
                role = _role(row[2]) if len(row) > 2 and row[2] else ""
                mapping[row[0]] = (target, role)
    except OSError as exc:
        raise CommandError(f"--authors {path}: {exc.strerror}") from None
    return mapping


def _acting_user(username: str | None):
    User = get_user_model()
    if username:
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"--user {username}: no such user")
        return user
    user = (
        User.objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
        or User.objects.filter(groups__name=roles.ADMINISTRATOR, is_active=True)
        .order_by("pk")
        .first()
    )
    if user is None:
        raise CommandError("No administrator to import as: create one, or name one with --user.")
    return user


class _Progress:
    """A bar on a terminal, a line every few seconds elsewhere (logs)."""

    def __init__(self, stream, *, interval: float = 2.0):
        self.stream, self.tty, self.interval, self.last = stream, stream.isatty(), interval, -1e9

    def __call__(self, report: Report, phase: str) -> None:
        if not self.tty and report.seconds - self.last < self.interval:
            return
        self.last = report.seconds
        rate = report.done / report.seconds if report.seconds else 0.0
        left = max(report.total - report.done, 0)
        eta = f"{left / rate:.0f}s" if rate else "?"
        share = report.done / report.total if report.total else 1.0
        line = f"{report.done}/{report.total} {rate:.0f} items/s ETA {eta} ({phase})"
        if self.tty:
            bar = "#" * int(share * 30)
            self.stream.write(f"\r[{bar:<30}] {line}\x1b[K")
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


class Command(BaseCommand):
    help = (
        "Import a WordPress export (WXR 1.0-1.2): authors, categories, tags, posts, pages, "
        "comments and (with --media-dir or --fetch-media) images. Running it again adds "
        "only what is new, and continues an interrupted import."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", help="The WXR file (Tools > Export, or `wp export`).")
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would happen; write nothing."
        )
        parser.add_argument(
            "--authors",
            metavar="MAP.CSV",
            help="old_login,username-or-email-here[,role] per line: merge accounts.",
        )
        parser.add_argument(
            "--role",
            default=roles.AUTHOR,
            help=f"The role of new users (default {roles.AUTHOR}).",
        )
        parser.add_argument(
            "--media-dir", help="A copy of the old site's wp-content/uploads folder."
        )
        parser.add_argument(
            "--fetch-media",
            action="store_true",
            help="Download attachments not found in --media-dir from the old site.",
        )
        parser.add_argument(
            "--fetch-max-mb", type=float, default=20.0, help="Largest file to fetch (MB)."
        )
        parser.add_argument(
            "--fetch-timeout", type=float, default=10.0, help="Seconds per download."
        )
        parser.add_argument(
            "--permalink-structure",
            default="",
            help="The old site's permalink setting, e.g. /%%year%%/%%monthnum%%/%%postname%%/, "
            "so that its old links redirect here.",
        )
        parser.add_argument("--user", help="The administrator to import as (default: the first).")
        parser.add_argument("--batch-size", type=int, default=100, help="Records per transaction.")

    def handle(self, *args, **opts):
        path = Path(opts["file"])
        if not path.is_file():
            raise CommandError(f"{path}: no such file")
        try:
            options = Options(
                dry_run=opts["dry_run"],
                role=_role(opts["role"]),
                authors=read_authors_map(opts["authors"]) if opts["authors"] else {},
                media_dir=media_root_given(opts["media_dir"]),
                fetch_media=opts["fetch_media"],
                fetch_max_bytes=int(opts["fetch_max_mb"] * 1_000_000),
                fetch_timeout=opts["fetch_timeout"],
                permalink_structure=opts["permalink_structure"],
                batch_size=max(1, opts["batch_size"]),
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        user = _acting_user(opts["user"])
        run = ImportRun.objects.create(
            file_name=path.name[:300],
            options={k: str(v) for k, v in opts.items() if k in ("role", "media_dir")},
            dry_run=options.dry_run,
            status=ImportRun.Status.RUNNING,
            created_by=user,
            started_at=timezone.now(),
        )
        progress = _Progress(getattr(self.stderr, "_out", sys.stderr))
        try:
            report = wxr_import(
                source=str(path), by=user, options=options, progress=progress, run=run
            )
        except PermissionDenied as exc:
            run.delete()
            raise CommandError(str(exc)) from None
        finally:
            progress.close()
        run_finish(run, report)
        if report.interrupted:
            self.stderr.write("Interrupted: run the same command again to continue.")
            sys.exit(130)
        if report.refused:
            raise CommandError(f"{path.name}: {report.refused} Nothing was imported.", returncode=2)
        if options.dry_run:
            self.stdout.write("Dry run: nothing was written. What would happen:")
        for line in report.lines():
            self.stdout.write(line)
        self.stdout.write(f"{report.done} records in {report.seconds:.1f}s.")
        if report.failed:
            self.stderr.write(f"{report.failed} records failed (listed above).")
            sys.exit(1)
