"""Write every post's search entry again (after a restore, a bulk SQL change, or a doubt)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from blog import services


class Command(BaseCommand):
    help = (
        "Rebuild the site search's entries, word postings and word counts from the posts "
        "(published and scheduled only), a thousand posts per transaction."
    )

    def handle(self, *args, **options):
        written = services.search_entries_rebuild(progress=self._progress)
        self.stdout.write(f"Search entries rebuilt: {written} published or scheduled posts.")

    def _progress(self, message: str) -> None:
        self.stdout.write(message)
        self.stdout.flush()
