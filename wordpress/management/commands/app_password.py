"""manage.py app_password create|list|revoke USER: application passwords for the REST API."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from wordpress.app_passwords import (
    ApplicationPassword,
    app_password_create,
    app_password_revoke,
    chunked,
)


class Command(BaseCommand):
    help = (
        "Create, list or revoke a user's application passwords, which API clients use over "
        "HTTP Basic auth (README, 'API'). A new password is printed once and never again."
    )

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="create|list|revoke")
        create = actions.add_parser(
            "create", help="make a new application password and print it once"
        )
        create.add_argument("user", help="username")
        create.add_argument(
            "--name", required=True, help="what it is for, e.g. 'Mobile app' (unique per user)"
        )
        listing = actions.add_parser("list", help="names, creation and last use (time and address)")
        listing.add_argument("user", help="username")
        revoke = actions.add_parser("revoke", help="revoke one application password, or all")
        revoke.add_argument("user", help="username")
        which = revoke.add_mutually_exclusive_group(required=True)
        which.add_argument("--name", help="the name of the one to revoke")
        which.add_argument("--uuid", help="the uuid of the one to revoke (from `list`)")
        which.add_argument("--all", action="store_true", help="revoke every one of the user's")

    def handle(self, *args, action, user, **options):
        found = get_user_model().objects.filter(username=user).first()
        if found is None:
            raise CommandError(f"No user named {user!r}.")
        return getattr(self, f"_{action}")(found, **options)

    def _create(self, user, *, name, **options):
        try:
            item, secret = app_password_create(user=user, name=name, by=None)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        self.stdout.write(
            f"Application password {item.name!r} for {user.username} (uuid {item.uuid}):"
        )
        self.stdout.write(f"    {chunked(secret)}")
        self.stdout.write("Copy it now: it is stored hashed and will not be shown again.")

    def _list(self, user, **options):
        items = ApplicationPassword.objects.filter(user=user)
        if not items:
            self.stdout.write(f"{user.username} has no application passwords.")
        for item in items:
            used = (
                f"{item.last_used_at:%Y-%m-%d %H:%M} from {item.last_ip or '?'}"
                if item.last_used_at
                else "never used"
            )
            self.stdout.write(
                f"{item.uuid}  {item.name}  created {item.created_at:%Y-%m-%d %H:%M}  {used}"
            )

    def _revoke(self, user, *, name=None, uuid=None, all=False, **options):
        items = ApplicationPassword.objects.filter(user=user)
        if name is not None:
            items = items.filter(name=name)
        elif uuid is not None:
            items = items.filter(uuid=uuid)
        items = list(items)
        if not items:
            raise CommandError(f"{user.username} has no such application password.")
        for item in items:
            app_password_revoke(item=item, by=None)
            self.stdout.write(f"Revoked {item.name!r} ({item.uuid}).")
