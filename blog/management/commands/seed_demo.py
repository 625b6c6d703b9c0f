"""Fill an empty site with demo content; `make run` calls it on every start."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from blog import demo, demo_bulk

# Above this many posts `auto` seeds in bulk: the services' way takes about 90 ms a post.
BULK_FROM = 1_000


def _positive(value: str) -> int:
    try:
        number = int(value)
    except ValueError:
        raise CommandError(f"--posts must be a whole number, got {value!r}") from None
    if number < 1:
        raise CommandError(f"--posts must be at least 1, got {number}")
    return number


class Command(BaseCommand):
    help = (
        "Create a demo site (people, categories, tags, posts, pages, threaded comments) "
        "when the site has no posts yet; does nothing otherwise, so it is safe to run again."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--posts",
            type=_positive,
            default=demo.DEFAULT_POSTS,
            metavar="N",
            help=(
                f"How many published posts to create (default {demo.DEFAULT_POSTS}); a "
                "scheduled, a draft and a private post come on top. Raise it for benchmarks."
            ),
        )
        parser.add_argument(
            "--mode",
            choices=("auto", "services", "bulk"),
            default="auto",
            help=(
                "services: every post through post_write, with revisions and threaded "
                "comments (about 11 posts/s); bulk: batched inserts with more authors, "
                "categories and tags and comments at a big blog's ratios, no revisions "
                f"(thousands of posts/s); auto (default): bulk above {BULK_FROM:,} posts."
            ),
        )

        parser.add_argument(
            "--words",
            choices=("demo", "zipf"),
            default="demo",
            help=(
                "Bulk mode only. demo (default): the demo's few dozen bodies, reused; zipf: "
                "a title and body of its own for every post, from 30,000 words with a "
                "Zipf-like distribution (some words in half the posts, most in a handful), "
                "as the search bench needs."
            ),
        )

    def handle(self, *args, posts: int, mode: str, words: str, **options):
        posts_found, pages_found = demo.content_count()
        if posts_found or pages_found:
            found = f"{posts_found} posts" + (f", {pages_found} pages" if not posts_found else "")
            self.stdout.write(f"Demo content already present ({found}); nothing to do.")
            return
        if mode == "bulk" or (mode == "auto" and posts > BULK_FROM):
            summary = demo_bulk.seed_bulk(posts=posts, words=words, progress=self._progress)
        else:
            if words != "demo":
                raise CommandError("--words zipf needs --mode bulk (or more than 1,000 posts)")
            summary = demo.seed(posts=posts)
        self.stdout.write(self.style.SUCCESS(summary.line()))
        if summary.protected_title:
            self.stdout.write(
                f"The post “{summary.protected_title}” is password-protected; "
                f"its password is: {summary.protected_password}"
            )

    def _progress(self, message: str) -> None:
        # Flushed line by line: `ops cluster up` shows these while it waits.
        self.stdout.write(message)
        self.stdout.flush()
