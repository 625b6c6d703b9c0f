"""Write every post's search entry again (after a restore, a bulk SQL change, or a doubt)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from blog import services


class Command(BaseCommand):
    help = "Rebuild the site search's entries from the posts (published and scheduled only)."

    def handle(self, *args, **options):
        written = services.search_entries_rebuild()
        self.stdout.write(f"Search entries rebuilt: {written} published or scheduled posts.")
