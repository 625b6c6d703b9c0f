"""Bring the role groups back in line with blog/roles.py."""

from __future__ import annotations

from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count

from blog import roles


class Command(BaseCommand):
    help = (
        "Create or reset the role groups (Administrator, Editor, Author, Contributor, "
        "Subscriber) to the permissions blog/roles.py gives them."
    )

    def handle(self, *args, **options):
        try:
            roles.sync_roles()
        except LookupError as exc:
            raise CommandError(f"{exc}; run `manage.py migrate` first") from None
        counts = dict(
            Group.objects.filter(name__in=roles.ROLES)
            .annotate(n=Count("permissions"))
            .values_list("name", "n")
        )
        for role in roles.ROLES:
            self.stdout.write(f"{role:<12} {counts[role]:>3} permissions")
        self.stdout.write(self.style.SUCCESS(f"Synced {len(roles.ROLES)} roles."))
