"""Site search at scale: p50/p99 and SQL queries of /search/ over N posts (default 100,000).

    .venv/bin/python bench/search_bench.py                    # seed 100,000 posts, measure
    .venv/bin/python bench/search_bench.py --posts 20000 --runs 50
    .venv/bin/python bench/search_bench.py --reuse             # measure the last seed again

The posts go into a database of their own (`--database`, default cloudblog_searchbench on
DATABASE_URL's server, else mysql://root@127.0.0.1:3306/), dropped and migrated afresh
unless --reuse. They are the bulk demo's (blog/demo_bulk.py, `words="zipf"`: each post a
title and body of its own from a Zipf-like vocabulary, so the commonest word is in about
half the posts and most words in a handful), with their search entries and postings
written by the search rebuild, as `seed_demo --mode bulk --words zipf` makes them.

Each row of the report is one kind of query asked `--runs` times through the Django test
client (the whole search page: SQL, template, snippets), after one warm-up: the time per
request (p50, p99), the time in SQL alone (p50, p99), CPU seconds of this process per
request, the SQL queries per request, the rows MariaDB's storage engine read per request
(the Handler_read_* counters: load-independent), and how many posts matched ("~" when the
page says "about"). The report starts with the machine and its load average, and is also
written as JSON (bench/results/<date>-search.json). See bench/README.md, "Search".
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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
    from blog.demo_bulk import zipf_vocabulary

    words, _ = zipf_vocabulary()
    return [
        ("common word", words[0]),  # in about half the posts
        ("common word, page 5", words[1]),
        ("two common words", f"{words[2]} {words[3]}"),
        ("medium word", words[150]),
        ("rare word", words[20_000]),
        ("phrase of two common words", f'"{words[0]} {words[1]}"'),
        ("prefix (typed with *)", words[5][:4] + "*"),
        ("no match", "zzzzqqq"),
    ]


def _rows_read(cursor) -> int:
    """Rows the storage engine handed MariaDB in this session so far: the Handler_read_*
    counters, index lookups (Handler_read_key) and the steps of scans alike."""
    cursor.execute("SHOW SESSION STATUS LIKE 'Handler_read%'")
    return sum(int(value) for _, value in cursor.fetchall())


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * share))], 1)


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
        times, sql_times, cpu, read = [], [], [], []
        for _ in range(runs):
            with connection.cursor() as cursor:
                before = _rows_read(cursor)
            started, cpu_started = time.perf_counter(), time.process_time()
            with CaptureQueriesContext(connection) as captured:
                response = client.get("/search/", params, HTTP_HOST="127.0.0.1")
            times.append((time.perf_counter() - started) * 1000)
            cpu.append((time.process_time() - cpu_started) * 1000)
            sql_times.append(sum(float(q["time"]) for q in captured.captured_queries) * 1000)
            with connection.cursor() as cursor:
                read.append(_rows_read(cursor) - before)
            assert response.status_code == 200, (query, response.status_code)
        results = post_search(query=query)
        row = {
            "label": label,
            "query": query,
            "matches": results.count(),
            "approximate": results.approximate,
            "p50_ms": round(statistics.median(times), 1),
            "p99_ms": _percentile(times, 0.99),
            "sql_p50_ms": round(statistics.median(sql_times), 1),
            "sql_p99_ms": _percentile(sql_times, 0.99),
            "cpu_ms": round(statistics.median(cpu), 1),
            "rows_read": int(statistics.median(read)),
            "queries": len(captured),
        }
        rows.append(row)
        matches = ("~" if row["approximate"] else "") + f"{row['matches']:,}"
        print(
            f"{label:28} {query!r:22} {matches:>8} matches  p50 {row['p50_ms']:6.1f}"
            f"  p99 {row['p99_ms']:6.1f} ms  SQL p50 {row['sql_p50_ms']:5.1f} p99"
            f" {row['sql_p99_ms']:5.1f} ms  CPU {row['cpu_ms']:5.1f} ms"
            f"  {row['rows_read']:>6,} rows read  {row['queries']} queries",
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
        from blog.demo_bulk import seed_bulk

        started = time.perf_counter()
        seed_bulk(posts=args.posts, words="zipf", progress=lambda line: print(line, flush=True))
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
