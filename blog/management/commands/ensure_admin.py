"""Make sure the site has a superuser; `make run` calls it on every start."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from blog import roles

ADMIN_URL = "http://127.0.0.1:8000/admin/"


@transaction.atomic
def _create_admin(username: str):
    """Create a superuser in the Administrator group; return it with its new password."""
    User = get_user_model()
    if User.objects.filter(username=username).exists():
        raise CommandError(
            f"A user named {username!r} exists but is not a superuser. Promote it in the "
            f"admin, or pick another name with --username."
        )
    password = secrets.token_urlsafe(12)
    user = User.objects.create_superuser(
        username=username, email=f"{username}@localhost", password=password
    )
    group = Group.objects.filter(name=roles.ADMINISTRATOR).first()
    if group is None:
        roles.sync_roles()
        group = Group.objects.get(name=roles.ADMINISTRATOR)
    user.groups.add(group)
    return user, password


def _write_secret(path: Path, secret: str) -> None:
    # Create it 0600 from the start, so the password is never readable by others.
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        os.fchmod(handle.fileno(), 0o600)
        handle.write(secret + "\n")


def _box(lines: list[str]) -> str:
    width = max(len(line) for line in lines)
    rule = "+" + "-" * (width + 4) + "+"
    return "\n".join([rule, *(f"|  {line.ljust(width)}  |" for line in lines), rule])


class Command(BaseCommand):
    help = (
        "Create a superuser with a random password if the site has none, and print the "
        "password once; does nothing when a superuser exists."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--username",
            default="admin",
            help="Username of the superuser to create (default: admin).",
        )
        parser.add_argument(
            "--password-file",
            type=Path,
            metavar="PATH",
            help="Write the new password to PATH (mode 0600) instead of printing it.",
        )

    def handle(self, *args, username: str, password_file: Path | None, **options):
        existing = get_user_model().objects.filter(is_superuser=True).order_by("pk").first()
        if existing is not None:
            name = existing.get_username()
            self.stdout.write(
                f"Admin account exists ({name}); its password was printed when it was "
                f"created. Reset it with: python manage.py changepassword {name}"
            )
            return
        if password_file is not None and not password_file.parent.is_dir():
            raise CommandError(f"--password-file: folder {password_file.parent} does not exist")
        user, password = _create_admin(username)
        if password_file is not None:
            _write_secret(password_file, password)
            self.stdout.write(
                f"Created superuser {user.get_username()}; password written to {password_file}"
            )
            return
        box = _box(
            [
                "Admin account created. The password is shown only this once:",
                "",
                f"  URL:      {ADMIN_URL}",
                f"  Username: {user.get_username()}",
                f"  Password: {password}",
                "",
                f"Change it with: python manage.py changepassword {user.get_username()}",
            ]
        )
        self.stdout.write(self.style.WARNING(box))
