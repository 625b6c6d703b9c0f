"""Export the site as a WordPress export (WXR 1.2): `manage.py wordpress_export -o site.xml`."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from wordpress.export import site_base, wxr_export


class Command(BaseCommand):
    help = (
        "Write the site (authors, categories, tags, posts, pages, comments, media with "
        "their public URLs, featured images) as WXR 1.2, which WordPress's importer reads."
    )

    def add_arguments(self, parser):
        parser.add_argument("-o", "--output", help="The file to write (default: stdout).")
        parser.add_argument(
            "--base-url",
            help=f"The site's address in the file (default SITE_URL, now {site_base()}).",
        )

    def handle(self, *args, output: str | None, base_url: str | None, **options):
        if base_url and "://" not in base_url:
            raise CommandError(f"--base-url wants a full address, e.g. https://{base_url}")
        try:
            out = open(output, "w", encoding="utf-8") if output else sys.stdout  # noqa: SIM115
        except OSError as exc:
            raise CommandError(f"{output}: {exc.strerror}") from None
        try:
            for piece in wxr_export(base=base_url):
                out.write(piece)
        finally:
            if output:
                out.close()
        if output:
            self.stderr.write(f"Wrote {output}.")
