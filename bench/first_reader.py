"""The first anonymous reader after a publish: how long they wait, and was the page cached?

Each trial publishes a new post through the REST API (an application password, as a
writing client would), waits `--delay` seconds, then GETs the new post's page and the
home page once each as an anonymous reader (no cookie, a fresh connection), timing each
and noting its X-Cache. With the write-through (PAGE_CACHE_WRITE_THROUGH, the default)
a task has rendered both into the page cache by then; without it the first reader of
each renders it. The publishing request's own time is reported too: the write-through
must cost it nothing. The trials' posts are deleted at the end.

    .venv/bin/python -m ops cluster up --seed-posts 1000
    .venv/bin/python bench/first_reader.py --delays 0,0.5,2 --trials 10

The application password is `$BENCH_APP_PASSWORD` for `--username`, or one made for the
run with `manage.py app_password create` in the site's environment (the local cluster's
state, or `--env-file`) and revoked at the end. See bench/README.md, "The first reader
after a publish".
"""

from __future__ import annotations

import argparse
import http.client
import json
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from api_bench import _manage, app_password_auth
from run_cluster_bench import add_site_arguments, machine, report_head, write_report

POSTS = "/wp-json/wp/v2/posts"


def _request(base: str, method: str, path: str, headers=None, body=None):
    """One request on a fresh connection: (status, headers, body, milliseconds); the headers
    are read without regard to case (haproxy sends them in lower case)."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
    started = time.perf_counter()
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        data = response.read()
    finally:
        conn.close()
    return response.status, response.msg, data, (time.perf_counter() - started) * 1e3


def _read(base: str, path: str) -> dict:
    status, headers, _, ms = _request(base, "GET", path)
    return {"status": status, "ms": round(ms, 1), "x_cache": headers.get("X-Cache", "")}


def trial(base: str, auth: dict, delay: float, n: int) -> dict:
    body = json.dumps(
        {
            "title": f"First reader {datetime.now():%H%M%S} {n}",
            "content": "Published by bench/first_reader.py.\n\nA second paragraph.",
            "status": "publish",
        }
    )
    headers = {**auth, "Content-Type": "application/json"}
    status, _, data, publish_ms = _request(base, "POST", POSTS, headers, body)
    if status != 201:
        raise SystemExit(f"publishing answered {status}: {data[:300]!r}")
    post = json.loads(data)
    time.sleep(delay)
    path = urlsplit(post["link"]).path
    return {
        "id": post["id"],
        "publish_ms": round(publish_ms, 1),
        "post": _read(base, path),
        "home": _read(base, "/"),
    }


def summarize(trials: list[dict]) -> dict:
    out = {"publish_ms": statistics.median(t["publish_ms"] for t in trials)}
    for page in ("post", "home"):
        times = sorted(t[page]["ms"] for t in trials)
        out[page] = {
            "median_ms": statistics.median(times),
            "max_ms": times[-1],
            "hits": sum(t[page]["x_cache"] == "HIT" for t in trials),
            "errors": sum(t[page]["status"] != 200 for t in trials),
        }
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="the site")
    parser.add_argument("--username", default="admin", help="who publishes")
    parser.add_argument("--trials", type=int, default=10, help="publishes per delay")
    parser.add_argument(
        "--delays", default="0,0.5,2", help="seconds between publish and first read (list)"
    )
    parser.add_argument("--pause", type=float, default=3.0, help="seconds between trials")
    add_site_arguments(parser)
    parser.add_argument("--label", default="cluster", help="what was measured, for the record")
    parser.add_argument("--out", type=Path, help="JSON report (default bench/results/...)")
    args = parser.parse_args(argv)
    host = machine()
    base = args.url.rstrip("/")
    delays = [float(d) for d in args.delays.split(",")]

    auth, env, made = app_password_auth(args, "first reader bench")

    _read(base, "/")  # the site has had a reader
    rows, made_ids = {}, []
    try:
        for delay in delays:
            trials = []
            for n in range(args.trials):
                print(f"delay {delay:g} s, trial {n + 1}/{args.trials}", file=sys.stderr)
                trials.append(trial(base, auth, delay, n))
                made_ids.append(trials[-1]["id"])
                time.sleep(args.pause)  # the previous write-through is done
            rows[f"{delay:g}"] = {"delay_s": delay, **summarize(trials), "trials": trials}
    finally:
        for pk in made_ids:
            _request(base, "DELETE", f"{POSTS}/{pk}?force=true", auth)
        if made:
            _manage(env, "app_password", "revoke", args.username, "--name", made)

    args.duration = args.connections = None  # one reader at a time: no load settings
    report = {**report_head(args, "bench/first_reader.py", argv, host, "http.client"), "rows": rows}
    print(f"\n{args.label} at {base}, commit {report['commit']}, load average before: "
          f"{host['load_average_before']}; {args.trials} trials per delay")  # fmt: skip
    print(f"{'delay':>6} {'publish ms':>11} {'post ms (median/max)':>22} {'post HITs':>10} "
          f"{'home ms (median/max)':>22} {'home HITs':>10}")  # fmt: skip
    for row in rows.values():
        cells = [f"{row['delay_s']:>5g}s {row['publish_ms']:>11.1f}"]
        for page in (row["post"], row["home"]):
            cells.append(f"{page['median_ms']:>12.1f} / {page['max_ms']:>7.1f}")
            cells.append(f"{page['hits']:>6}/{args.trials:<3}")
        print(" ".join(cells))
    write_report(report, args.out, "first-reader")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
