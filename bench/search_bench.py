"""Site search at scale: p50/p99 and SQL queries of /search/ over N posts (default 100,000).

    .venv/bin/python bench/search_bench.py                    # seed 100,000 posts, measure
    .venv/bin/python bench/search_bench.py --posts 20000 --runs 50
    .venv/bin/python bench/search_bench.py --reuse             # measure the last seed again

The posts go into a database of their own (`--database`, default cloudblog_searchbench on
DATABASE_URL's server, else mysql://root@127.0.0.1:3306/), dropped and migrated afresh
unless --reuse. Their text is generated: titles of 3-9 words and bodies of 80-400, drawn
from a vocabulary of real words and made-up ones with a Zipf-like distribution, so some
words are in most posts and most words are in a handful. Rows go in with bulk inserts,
and the search entries with them, in batches (seed_posts()).

Each row of the report is one kind of query asked `--runs` times through the Django test
client (the whole search page: SQL, template, snippets), after one warm-up: the time per
request (p50, p99), the SQL queries per request, and how many posts matched. The report
starts with the machine and its load average, and is also written as JSON
(bench/results/<date>-search.json). See bench/README.md, "Search".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from datetime import datetime, timedelta
from itertools import accumulate
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# Real words first, most common first (stopwords of InnoDB's list left out on purpose:
# they are never indexed); the made-up tail gives the rare words.
_REAL_TEXT = """
data server cache query database page post user time code site request test build python
django redis deploy image team night light water garden river system file network memory
release design error report search index table field model view template storage queue
worker thread process backup restore cluster replica latency traffic session cookie login
admin editor author draft comment feed theme plugin widget menu sidebar footer header media
photo camera travel mountain coffee morning weekend kitchen recipe bread flour butter sugar
kayak harbour island forest winter summer autumn spring letter story chapter history museum
market street bridge station window garden tomato basil lemon orange paper pencil guitar
piano violin concert festival stadium football tennis cycling running marathon sunrise
"""
REAL = _REAL_TEXT.split()
_SYLLABLE_TEXT = "ka lo mi ren tu sa vor qui del an ost pe bra zu nik tor el fa gin ho"
SYLLABLES = _SYLLABLE_TEXT.split()


def vocabulary(rng: random.Random, size: int = 30_000) -> tuple[list[str], list[float]]:
    words, seen = list(REAL), set(REAL)
    while len(words) < size:
        word = "".join(rng.choice(SYLLABLES) for _ in range(rng.randint(2, 4)))
        if word not in seen:
            seen.add(word)
            words.append(word)
    # Ranks start at 50: the fifty commonest words of English are function words, which
    # InnoDB does not index; so the commonest word here is in about half the posts.
    return words, list(accumulate(1 / (rank + 50) ** 1.05 for rank in range(size)))


def seed_posts(count: int, *, rng: random.Random, batch: int = 2000) -> None:
    """`count` published posts and their search entries, by bulk inserts.

    Kept small and self-contained so it can join the other pages' seeder (scale_bench).
    """
    from django.contrib.auth import get_user_model
    from django.db import transaction
    from django.utils import timezone

    from blog.models import Post, SearchEntry
    from blog.searchtext import indexed_text

    words, weights = vocabulary(rng)
    now = timezone.now()
    User = get_user_model()
    authors = [User.objects.get_or_create(username=f"writer{n}")[0] for n in range(5)]
    for start in range(0, count, batch):
        posts = []
        for n in range(start, min(start + batch, count)):
            title = " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(3, 9)))
            paragraphs = [
                " ".join(rng.choices(words, cum_weights=weights, k=rng.randint(20, 100)))
                for _ in range(rng.randint(2, 4))
            ]
            posts.append(
                Post(
                    title=title.capitalize(),
                    slug=f"bench-{n}",
                    body="\n\n".join(paragraphs),
                    body_html="".join(f"<p>{p}</p>" for p in paragraphs),
                    author=authors[n % len(authors)],
                    status=Post.Status.PUBLISHED,
                    published_at=now - timedelta(minutes=n + 1),
                )
            )
        with transaction.atomic():
            Post.objects.bulk_create(posts)
            SearchEntry.objects.bulk_create(
                SearchEntry(
                    post_id=p.pk,
                    kind=p.kind,
                    published_at=p.published_at,
                    title=p.title,
                    text=indexed_text(body_html=p.body_html, excerpt="", password=""),
                )
                for p in posts
            )
        print(f"  seeded {min(start + batch, count):,} posts", end="\r", flush=True)
    print()


def _prepare(database: str, server: str, posts: int, reuse: bool) -> None:
    import MySQLdb

    parts = urlsplit(server)
    conn = MySQLdb.connect(
        host=parts.hostname, port=parts.port or 3306, user=parts.username or "root",
        passwd=parts.password or "",
    )  # fmt: skip
    cursor = conn.cursor()
    if not reuse:
        cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4")
    conn.close()


def _machine() -> dict:
    cpu = platform.processor() or "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {"cpu": cpu, "cores": os.cpu_count(), "load_average": os.getloadavg()}


def _queries() -> list[tuple[str, str]]:
    """(label, query): words picked by how many posts hold them, from the seed's vocabulary."""
    words, _ = vocabulary(random.Random(2024))
    return [
        ("common word", words[0]),  # in about half the posts
        ("common word, page 5", words[1]),
        ("two common words", f"{words[2]} {words[3]}"),
        ("rare word", words[20_000]),
        ("medium word", words[150]),
        ("phrase of two common words", f'"{words[0]} {words[1]}"'),
        ("prefix (typed with *)", words[5][:4] + "*"),
        ("no match", "zzzzqqq"),
    ]


def measure(runs: int) -> list[dict]:
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from blog.services import post_search

    client = Client()
    rows = []
    for label, query in _queries():
        params = {"q": query, **({"page": 5} if "page 5" in label else {})}
        client.get("/search/", params, HTTP_HOST="127.0.0.1")  # warm-up
        times = []
        for _ in range(runs):
            started = time.perf_counter()
            response = client.get("/search/", params, HTTP_HOST="127.0.0.1")
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (query, response.status_code)
        with CaptureQueriesContext(connection) as captured:
            client.get("/search/", params, HTTP_HOST="127.0.0.1")
        times.sort()
        row = {
            "label": label,
            "query": query,
            "matches": post_search(query=query).count(),
            "p50_ms": round(statistics.median(times), 1),
            "p99_ms": round(times[min(len(times) - 1, int(len(times) * 0.99))], 1),
            "queries": len(captured),
        }
        rows.append(row)
        print(
            f"{label:30} {query!r:26} {row['matches']:>7,} matches  p50 {row['p50_ms']:7.1f} ms"
            f"  p99 {row['p99_ms']:7.1f} ms  {row['queries']} queries",
            flush=True,
        )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=100, help="requests per row")
    parser.add_argument("--database", default="cloudblog_searchbench")
    parser.add_argument("--reuse", action="store_true", help="keep the last seed; only measure")
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)

    server = os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306/")
    server = server.rsplit("/", 1)[0] + "/"
    _prepare(args.database, server, args.posts, args.reuse)
    os.environ["DATABASE_URL"] = server + args.database
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ.pop("REDIS_URL", None)  # search is never cached; keep the run self-contained
    import django

    django.setup()
    from django.core.management import call_command

    from blog.models import Post

    host = _machine()
    print(f"machine: {host['cpu']}, {host['cores']} cores, load {host['load_average']}")
    call_command("migrate", verbosity=0)
    if not args.reuse:
        started = time.perf_counter()
        seed_posts(args.posts, rng=random.Random(2024))
        print(f"seeded {args.posts:,} posts in {time.perf_counter() - started:.0f} s")
    print(f"{Post.objects.count():,} posts; {args.runs} requests per row")
    rows = measure(args.runs)
    host["load_average_after"] = os.getloadavg()
    report = {
        "command": " ".join(["bench/search_bench.py", *(argv or sys.argv[1:])]),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": host,
        "posts": Post.objects.count(),
        "rows": rows,
    }
    out = args.out or ROOT / "bench" / "results" / f"{datetime.now():%Y-%m-%d}-search.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"load after: {host['load_average_after']}; report: {out}")


if __name__ == "__main__":
    main()
