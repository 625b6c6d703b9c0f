"""A 100,000-post site on MariaDB: p50/p99 and SQL queries of every list page, one client.

    .venv/bin/python bench/scale_bench.py                      # seeds once, then measures
    .venv/bin/python bench/scale_bench.py --reseed --posts 100000

Seeds its own database (`--database`, default cloudblog_bench100k) with
`seed_demo --mode bulk` when it has no posts (or `--reseed`), then requests each page
in this process through Django's test client, logged in as a superuser and with
PAGE_CACHE_SECONDS=0: nothing comes from the page cache, every request renders.
Columns: `cold` is the first request after the shared cache was emptied (counts,
page anchors and the sidebar's months computed again, as after any change of a post);
p50/p99 over `--requests` warm requests; `SQL ms` the median time spent in the
database per request (what grows with data, and what CPU contention from other
processes inflates least); `CPU ms` the median CPU time of this process per request
(`time.process_time`: Python, templates, the driver; what other processes' load
inflates least); `queries` on a warm request. `--profile N` prints each row's N
costliest functions (cProfile, own time) over its warm requests. The machine
(cores, CPU, load average) is printed before and after: other work on it skews
every row. Nothing else may use the Redis database (`--redis-url`) meanwhile: each
row starts by emptying it (a test run there would turn warm rows cold).
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def _machine() -> str:
    model = "unknown CPU"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} cores, {model}, {platform.system()} {platform.release()}, load {load}"


def _mariadb(sql: str, host: str) -> None:
    name, _, port = host.partition(":")
    argv = ["mariadb", "-uroot", f"-h{name}", f"-P{port or 3306}", "-e", sql]
    subprocess.run(argv, check=True, capture_output=True, text=True)


def _parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="cloudblog_bench100k")
    parser.add_argument("--db-host", default="127.0.0.1:3306")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/2")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--reseed", action="store_true", help="drop the database and seed again")
    parser.add_argument("--requests", type=int, default=60, help="timed requests per page")
    parser.add_argument("--only", default="", help="comma-separated row names")
    parser.add_argument(
        "--no-refresh", action="store_true", help="skip the refresh-sitemap job (minutes at 100k)"
    )
    parser.add_argument(
        "--profile",
        type=int,
        default=0,
        metavar="N",
        help="print the N functions with the most CPU time over each row's warm requests",
    )
    return parser.parse_args()


def _setup(args) -> None:
    os.environ["DATABASE_URL"] = f"mysql://root@{args.db_host}/{args.database}"
    os.environ["REDIS_URL"] = args.redis_url
    os.environ["PAGE_CACHE_SECONDS"] = "0"
    os.environ.setdefault("SITEMAP_REFRESH_SECONDS", "900")
    os.environ.setdefault("SITE_URL", "http://testserver")
    os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "testserver,localhost")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if args.reseed:
        _mariadb(f"DROP DATABASE IF EXISTS `{args.database}`", args.db_host)
    _mariadb(f"CREATE DATABASE IF NOT EXISTS `{args.database}` CHARACTER SET utf8mb4", args.db_host)
    import django

    django.setup()
    from django.conf import settings

    # As in production: no query log kept per request, templates without debug info
    # (DJANGO_DEBUG=false would also need collected static files and HTTPS).
    settings.DEBUG = False


def _seed(args) -> None:
    from django.core.management import call_command
    from django.db import connection

    from blog.models import Post

    call_command("migrate", verbosity=0)
    if Post.objects.exists():
        print(f"seed: {Post.objects.count():,} posts already in {args.database}")
        return
    started = time.monotonic()
    call_command("seed_demo", posts=args.posts, mode="bulk")
    print(f"seed: {args.posts:,} posts in {time.monotonic() - started:.0f} s")
    with connection.cursor() as cursor:
        for table in ("blog_post", "blog_post_categories", "blog_post_tags", "blog_comment"):
            cursor.execute(f"ANALYZE TABLE {table}")
            cursor.fetchall()


def _rows() -> list[tuple[str, str]]:
    from django.contrib.auth import get_user_model
    from django.db.models import Count
    from django.urls import reverse
    from django.utils import timezone

    from blog.models import Category, Post, Tag

    category = Category.objects.annotate(n=Count("posts")).order_by("-n").first()
    tag = Tag.objects.annotate(n=Count("posts")).order_by("-n").first()
    writer = get_user_model().objects.annotate(n=Count("posts")).order_by("-n").first()
    published = Post.objects.posts().published().order_by("-published_at")
    middle = published[min(5000, published.count() // 2)]
    when = timezone.localtime(middle.published_at)
    deep = max(
        Post.objects.posts().published().in_categories(category.subtree_ids()).count() // 20, 2
    )
    return [
        ("home", "/"),
        ("home page 500", "/?page=500"),
        ("home page 9000", "/?page=9000"),
        (f"category ({category.slug})", category.get_absolute_url()),
        (f"category page {deep}", f"{category.get_absolute_url()}?page={deep}"),
        (f"tag ({tag.slug})", tag.get_absolute_url()),
        (f"author ({writer.username})", reverse("blog:author", args=[writer.username])),
        ("month", reverse("blog:archive-month", args=[when.year, when.month])),
        ("day", reverse("blog:archive-day", args=[when.year, when.month, when.day])),
        ("feed (RSS)", reverse("blog:feed")),
        ("category feed", reverse("blog:category-feed", args=[category.slug])),
        ("comments feed", reverse("blog:comments-feed")),
        ("sitemap.xml (index)", "/sitemap.xml"),
        ("sitemap-posts.xml?p=2", "/sitemap-posts.xml?p=2"),
        ("admin post list", "/admin/blog/post/"),
        ("admin post list p=500", "/admin/blog/post/?p=500"),
        ("search common (python)", reverse("blog:search") + "?q=python"),
        ("search rare (zanzibar)", reverse("blog:search") + "?q=zanzibar"),
    ]


def _measure(client, url: str, n: int, profile: int = 0) -> dict:
    import cProfile
    import pstats

    from django.core.cache import cache
    from django.db import connection

    cache.clear()
    started = time.perf_counter()
    status = client.get(url).status_code
    cold = time.perf_counter() - started
    client.get(url)
    times, cpu, sql, counts = [], [], [], []
    profiler = cProfile.Profile() if profile else None

    def timed(execute, query, params, many, context):
        started = time.perf_counter()
        try:
            return execute(query, params, many, context)
        finally:
            spent[0] += time.perf_counter() - started
            spent[1] += 1

    for _ in range(n):
        spent = [0.0, 0]
        with connection.execute_wrapper(timed):
            if profiler:
                profiler.enable()
            started, used = time.perf_counter(), time.process_time()
            client.get(url)
            times.append(time.perf_counter() - started)
            cpu.append(time.process_time() - used)
            if profiler:
                profiler.disable()
        sql.append(spent[0])
        counts.append(spent[1])
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(profile)
    times.sort()
    p99 = times[min(len(times) - 1, round(0.99 * (len(times) - 1)))]
    return {
        "status": status,
        "cold": cold * 1000,
        "p50": statistics.median(times) * 1000,
        "p99": p99 * 1000,
        "queries": max(counts),
        "sql": statistics.median(sql) * 1000,
        "cpu": statistics.median(cpu) * 1000,
    }


def main() -> int:
    args = _parse()
    print(f"machine: {_machine()}")
    _setup(args)
    _seed(args)
    from django.contrib.auth import get_user_model
    from django.test import Client

    from blog.periodic import refresh_sitemap

    User = get_user_model()
    admin = User.objects.filter(username="bench-admin").first()
    if admin is None:
        admin = User.objects.create_superuser("bench-admin", "bench@example.com", None)
    client = Client()
    client.force_login(admin)
    if not args.no_refresh:
        started = time.monotonic()
        job = refresh_sitemap.call()
        print(f"refresh-sitemap job: {job} ({time.monotonic() - started:.1f} s)")
    only = {name.strip() for name in args.only.split(",") if name.strip()}
    heads = ("status", "cold ms", "p50 ms", "p99 ms", "SQL ms", "CPU ms", "queries")
    print(f"{'page':34} " + " ".join(f"{h:>7}" for h in heads))
    for name, url in _rows():
        if only and not any(name.startswith(o) for o in only):
            continue
        row = _measure(client, url, args.requests, args.profile)
        print(
            f"{name:34} {row['status']:>7} {row['cold']:>7.1f} {row['p50']:>7.1f} "
            f"{row['p99']:>7.1f} {row['sql']:>7.1f} {row['cpu']:>7.1f} {row['queries']:>7}",
            flush=True,
        )
    print(f"machine after: {_machine()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
