"""WordPress import speed: records per second and peak memory of `manage.py wordpress_import`.

    .venv/bin/python bench/wxr_import.py                 # all cases, about 10 minutes
    .venv/bin/python bench/wxr_import.py --cases theme,theme-media --posts 2000

Each case imports into a database of its own, created fresh on DATABASE_URL's server
(default mysql://root@127.0.0.1:3306/, database cloudblog_bench_wxr), and the command runs
as a child process, so its peak RSS is the child's own (getrusage RUSAGE_CHILDREN).
Records are what the report counts: authors, terms, items (posts, pages, attachments,
menu items) and comments.

Cases:
- theme: the theme unit test export (../shared/corpora/wxr/theme-unit-test/), no media;
- theme-media: the same with --media-dir, one generated JPEG (1200x800) per attachment;
- generated: a generated export of --posts posts (default 20,000), 3 comments each,
  40 categories, 200 tags, no media;
- generated-media: the same with one image per 20 posts (featured), from --media-dir.
Images go through the upload pipeline ("full" size at once); the other sizes are queued
for the worker tier (--tasks database, as in production) or made inline (--tasks
immediate, as on a laptop without a worker).
Results go to stdout and, as JSON, to bench/results/<date>-wxr.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
THEME = (
    REPO.parent
    / "shared"
    / "corpora"
    / "wxr"
    / "theme-unit-test"
    / ("themeunittestdata.wordpress.xml")
)
CASES = ("theme", "theme-media", "generated", "generated-media")
TARGET = 300  # records per second with media from --media-dir


def _jpeg(seed: int) -> bytes:
    import io

    from PIL import Image, ImageDraw

    rng = random.Random(seed)
    image = Image.new("RGB", (1200, 800), tuple(rng.randrange(256) for _ in range(3)))
    draw = ImageDraw.Draw(image)
    for _ in range(20):
        (x0, x1), (y0, y1) = (sorted(rng.randrange(side) for _ in range(2)) for side in (1200, 800))
        draw.rectangle([x0, y0, x1, y1], fill=tuple(rng.randrange(256) for _ in range(3)))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=85)
    return out.getvalue()


def generate(path: Path, posts: int, *, media: bool, media_dir: Path | None) -> None:
    """A WXR 1.2 export of `posts` posts written like WordPress writes one."""
    rng = random.Random(20_000)
    start = datetime(2012, 1, 1, tzinfo=UTC)
    words = ("the", "storm", "came", "over", "harbour", "boats", "rain", "sun", "light", "we")
    with path.open("w", encoding="utf-8") as f:
        f.write(
            '<?xml version="1.0" encoding="UTF-8" ?>\n<rss version="2.0" '
            'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:wp="http://wordpress.org/export/1.2/">\n<channel>\n'
            "<title>Generated</title><link>https://big.example</link>"
            "<wp:wxr_version>1.2</wp:wxr_version>"
            "<wp:base_site_url>https://big.example</wp:base_site_url>\n"
        )
        for n in range(1, 4):
            f.write(
                f"<wp:author><wp:author_id>{n}</wp:author_id><wp:author_login>writer{n}"
                f"</wp:author_login><wp:author_email>writer{n}@big.example"
                "</wp:author_email></wp:author>\n"
            )
        for n in range(1, 41):
            parent = f"topic-{n - 20}" if n > 20 else ""
            f.write(
                f"<wp:category><wp:term_id>{n}</wp:term_id><wp:category_nicename>topic-{n}"
                f"</wp:category_nicename><wp:category_parent>{parent}</wp:category_parent>"
                f"<wp:cat_name>Topic {n}</wp:cat_name></wp:category>\n"
            )
        for n in range(1, 201):
            f.write(
                f"<wp:tag><wp:term_id>{100 + n}</wp:term_id><wp:tag_slug>label-{n}"
                f"</wp:tag_slug><wp:tag_name>Label {n}</wp:tag_name></wp:tag>\n"
            )
        attachment_id = posts + 1000
        for n in range(1, posts + 1):
            when = start + timedelta(hours=n * 3)
            stamp = when.strftime("%Y-%m-%d %H:%M:%S")
            paragraphs = "\n\n".join(
                " ".join(rng.choice(words) for _ in range(40)) + "\nA second line."
                for _ in range(4)
            )
            meta = ""
            if media and n % 20 == 0:
                attachment_id += 1
                rel = f"{when:%Y/%m}/photo-{n}.jpg"
                (media_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                (media_dir / rel).write_bytes(_jpeg(n))
                f.write(
                    f"<item><title>Photo {n}</title><wp:post_id>{attachment_id}</wp:post_id>"
                    f"<wp:post_type>attachment</wp:post_type><wp:status>inherit</wp:status>"
                    f"<wp:post_parent>{n}</wp:post_parent><wp:attachment_url>"
                    f"https://big.example/wp-content/uploads/{rel}</wp:attachment_url>"
                    f"<wp:postmeta><wp:meta_key>_wp_attached_file</wp:meta_key>"
                    f"<wp:meta_value>{rel}</wp:meta_value></wp:postmeta></item>\n"
                )
                meta = (
                    f"<wp:postmeta><wp:meta_key>_thumbnail_id</wp:meta_key>"
                    f"<wp:meta_value>{attachment_id}</wp:meta_value></wp:postmeta>"
                )
                paragraphs += (
                    f'\n\n<img class="wp-image-{attachment_id}" '
                    f'src="https://big.example/wp-content/uploads/{rel}">'
                )
            terms = "".join(
                f'<category domain="category" nicename="topic-{c}"><![CDATA[Topic {c}]]></category>'
                for c in rng.sample(range(1, 41), 2)
            ) + "".join(
                f'<category domain="post_tag" nicename="label-{t}"><![CDATA[Label {t}]]></category>'
                for t in rng.sample(range(1, 201), 3)
            )
            comments = "".join(
                f"<wp:comment><wp:comment_id>{n * 10 + c}</wp:comment_id><wp:comment_author>"
                f"<![CDATA[Reader {c}]]></wp:comment_author><wp:comment_author_email>"
                f"reader{c}@mail.example</wp:comment_author_email><wp:comment_date_gmt>{stamp}"
                f"</wp:comment_date_gmt><wp:comment_content><![CDATA[Nice post, number {c}.]]>"
                f"</wp:comment_content><wp:comment_approved>1</wp:comment_approved>"
                f"<wp:comment_parent>{n * 10 + c - 1 if c > 1 else 0}</wp:comment_parent>"
                "</wp:comment>"
                for c in range(1, 4)
            )
            f.write(
                f"<item><title>Post number {n}</title>"
                f"<link>https://big.example/{when:%Y/%m/%d}/post-number-{n}/</link>"
                f"<dc:creator>writer{n % 3 + 1}</dc:creator>"
                f'<guid isPermaLink="false">https://big.example/?p={n}</guid>'
                f"<content:encoded><![CDATA[{paragraphs}]]></content:encoded>"
                f"<excerpt:encoded><![CDATA[]]></excerpt:encoded><wp:post_id>{n}</wp:post_id>"
                f"<wp:post_date>{stamp}</wp:post_date><wp:post_date_gmt>{stamp}</wp:post_date_gmt>"
                "<wp:comment_status>open</wp:comment_status>"
                f"<wp:post_name>post-number-{n}</wp:post_name><wp:status>publish</wp:status>"
                "<wp:post_parent>0</wp:post_parent><wp:menu_order>0</wp:menu_order>"
                "<wp:post_type>post</wp:post_type><wp:is_sticky>0</wp:is_sticky>"
                f"{terms}{meta}{comments}</item>\n"
            )
        f.write("</channel>\n</rss>\n")


def theme_media(media_dir: Path) -> None:
    """One generated image per image attachment, where the importer will look for it."""
    sys.path.insert(0, str(REPO))
    from wordpress import wxr
    from wordpress.wxr import IMAGE_SUFFIXES, upload_path  # plain Python: no Django needed

    for n, record in enumerate(wxr.read(str(THEME))):
        if isinstance(record, wxr.Item) and record.type == "attachment":
            rel = upload_path(record)
            if Path(rel).suffix.lower() in IMAGE_SUFFIXES:
                (media_dir / rel).parent.mkdir(parents=True, exist_ok=True)
                (media_dir / rel).write_bytes(_jpeg(n))


def _database_env(name: str, tasks: str) -> dict[str, str]:
    base = os.environ.get("DATABASE_URL", "mysql://root@127.0.0.1:3306/cloudblog")
    url = re.sub(r"/[^/?]*(\?|$)", rf"/{name}\1", base.split("://", 1)[1], count=1)
    env = dict(os.environ, DATABASE_URL=base.split("://", 1)[0] + "://" + url)
    env.setdefault("REDIS_URL", "redis://127.0.0.1:6379/12")
    env["CACHE_KEY_PREFIX"] = "wxr-bench"  # apart from a test run on the same Redis
    # database: the other image sizes are queued for the worker tier, as in production;
    # immediate: made inline at each commit (a laptop without a worker).
    env["TASKS_BACKEND"] = tasks
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _manage(env, *args: str, capture: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        text=True,
        capture_output=capture,
        check=False,
    )


def _fresh_database(env) -> None:
    import MySQLdb

    sys.path.insert(0, str(REPO))
    from config.env import parse_database_url

    db = parse_database_url("DATABASE_URL", env["DATABASE_URL"], REPO)
    conn = MySQLdb.connect(
        host=db["HOST"], port=int(db["PORT"]), user=db["USER"], password=db["PASSWORD"]
    )
    cursor = conn.cursor()
    cursor.execute(f"DROP DATABASE IF EXISTS `{db['NAME']}`")
    cursor.execute(f"CREATE DATABASE `{db['NAME']}` CHARACTER SET utf8mb4")
    conn.close()
    for step in (("migrate", "--noinput", "-v0"), ("ensure_admin",)):
        done = _manage(env, *step)
        if done.returncode:
            raise SystemExit(f"{' '.join(step)} failed:\n{done.stderr}")


def run_case(name: str, file: Path, media_dir: Path | None, env) -> dict:
    _fresh_database(env)
    args = ["wordpress_import", str(file)]
    if media_dir:
        args += ["--media-dir", str(media_dir)]
    # The child reports its own peak RSS as it exits (migrate's children do not count).
    probe = (
        "import resource, runpy, sys\n"
        "sys.argv = ['manage.py', *sys.argv[1:]]\n"
        "try:\n    runpy.run_path('manage.py', run_name='__main__')\n"
        "finally:\n    u = resource.getrusage(resource.RUSAGE_SELF)\n"
        "    print('PEAK_RSS_KB', u.ru_maxrss, 'CPU_S', u.ru_utime + u.ru_stime, file=sys.stderr)\n"
    )
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", probe, *args],
        cwd=REPO,
        env=env,
        text=True,
        capture_output=True,
        check=False,
    )
    seconds = time.monotonic() - started
    peak = re.search(r"PEAK_RSS_KB (\d+) CPU_S ([\d.]+)", done.stderr)
    if done.returncode:
        print(f"{name}: exit {done.returncode}\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    records = re.search(r"^(\d+) records in", done.stdout, re.M)
    count = int(records.group(1)) if records else 0
    failed = sum(
        int(line.split()[-1])
        for line in done.stdout.splitlines()[1:]
        if re.match(r"^[\w:]+\s+\d+\s+\d+\s+\d+\s+\d+$", line)
    )
    return {
        "case": name,
        "file_mb": round(file.stat().st_size / 1e6, 1),
        "records": count,
        "seconds": round(seconds, 1),
        "records_per_s": round(count / seconds, 1) if seconds else 0,
        "peak_rss_mb": round(int(peak.group(1)) / 1024, 1) if peak else None,
        # The import process's own CPU time (not the image children's, nor the database's):
        # steadier than the wall clock on a shared machine.
        "cpu_s": round(float(peak.group(2)), 1) if peak else None,
        "exit": done.returncode,
        "failed": failed,
    }


def _machine() -> str:
    """Cores, CPU model and Python: the figures mean little without them."""
    model = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{platform.node()}: {os.cpu_count()} cores, {model}, Python {platform.python_version()}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", default=",".join(CASES))
    parser.add_argument("--posts", type=int, default=20_000)
    parser.add_argument("--database", default="cloudblog_bench_wxr")
    parser.add_argument("--out", type=Path)
    parser.add_argument(
        "--tasks",
        choices=("database", "immediate"),
        default="database",
        help="database: renditions queued for the worker (production); immediate: inline",
    )
    args = parser.parse_args()
    env = _database_env(args.database, args.tasks)
    load_before = list(os.getloadavg())
    print(f"machine: {_machine()}; load average {load_before}", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="wxr-bench-") as tmp:
        tmp = Path(tmp)
        for name in args.cases.split(","):
            media_dir = tmp / f"{name}-uploads" if name.endswith("-media") else None
            if media_dir:
                media_dir.mkdir()
            if name.startswith("theme"):
                file = THEME
                if media_dir:
                    theme_media(media_dir)
            else:
                file = tmp / f"{name}.xml"
                generate(file, args.posts, media=bool(media_dir), media_dir=media_dir)
            result = run_case(name, file, media_dir, env)
            result["load_average"] = list(os.getloadavg())
            results.append(result)
            print(json.dumps(result), flush=True)
    report = {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "commit": subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip(),
        "machine": _machine(),
        "load_average_before_after": [load_before, list(os.getloadavg())],
        "target_records_per_s_with_media": TARGET,
        "tasks_backend": args.tasks,
        "results": results,
    }
    out = args.out or REPO / "bench" / "results" / f"{datetime.now(UTC):%Y-%m-%d}-wxr.json"
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'case':16}{'MB':>6}{'records':>9}{'s':>8}{'rec/s':>8}{'RSS MB':>8}{'CPU s':>8}")
    for r in results:
        print(
            f"{r['case']:16}{r['file_mb']:>6}{r['records']:>9}{r['seconds']:>8}"
            f"{r['records_per_s']:>8}{r['peak_rss_mb'] or '?':>8}{r['cpu_s'] or '?':>8}"
        )


if __name__ == "__main__":
    main()
