"""Benchmark the REST API's posts collection on a running site: requests/s and p50/p99.

Eight rows, one after the other, at `--connections` keep-alive connections for
`--duration` seconds each: /wp-json/wp/v2/posts with per_page=10 and 100, without and
with `_embed`, each anonymous and with an application password over HTTP Basic. Both
are served from the page cache once warm: a signed-in `context=view` read of published
posts shares the anonymous entry, after its credentials are checked
(wordpress/api/shared_reads.py). `--edit-rows` adds the same reads in `context=edit`
with the application password, which are never cached: rendered every time, from the
writer.

The application password is `$BENCH_APP_PASSWORD` for `--username`, or, when the site's
environment is known (`--env-file`, or the local cluster's state), one made for the run
with `manage.py app_password create` and revoked at the end. The report starts with the
machine, its load average and the commit, and is also written as JSON (`--out`).
See bench/README.md, "The REST API".
"""

from __future__ import annotations

import argparse
import base64
import http.client
import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

from load import add_load_arguments, measure, wrk_version
from run_cluster_bench import (
    ROOT,
    add_site_arguments,
    cluster_env,
    machine,
    report_head,
    write_report,
)

COLLECTION = "/wp-json/wp/v2/posts"


def _get(url: str, headers: dict) -> tuple[int, dict, bytes]:
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=30)
    try:
        conn.request("GET", f"{parts.path}?{parts.query}", headers=headers)
        response = conn.getresponse()
        return response.status, dict(response.getheaders()), response.read()
    finally:
        conn.close()


def _manage(env: dict, *args: str) -> str:
    run = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    if run.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed: {run.stderr.strip()[-500:]}")
    return run.stdout


def make_app_password(env: dict, username: str, name: str) -> str:
    out = _manage(env, "app_password", "create", username, "--name", name)
    # The second line is the password, in groups of four.
    return out.splitlines()[1].strip()


def app_password_auth(args, purpose: str) -> tuple[dict, dict | None, str | None]:
    """HTTP Basic for `args.username`: $BENCH_APP_PASSWORD, or an application password made
    now in the site's environment. Answers (headers, that environment, the made one's name)
    so the caller can revoke it (`_manage(env, "app_password", "revoke", ...)`)."""
    secret, env, made = os.environ.get("BENCH_APP_PASSWORD"), None, None
    if not secret:
        env, source = cluster_env(args)
        if env is None:
            raise SystemExit(f"no BENCH_APP_PASSWORD and no site environment: {source}")
        made = f"{purpose} {datetime.now():%Y%m%d-%H%M%S}"
        secret = make_app_password(env, args.username, made)
    token = base64.b64encode(f"{args.username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}, env, made


def warm(url: str, headers: dict, rounds: int = 5) -> dict:
    for _ in range(rounds):
        status, got, body = _get(url, headers)
        got = {k.title(): v for k, v in got.items()}  # haproxy passes names lower-cased
        if status != 200:
            raise SystemExit(f"{url} answered {status}: {body[:300]!r}")
    return {
        "x_cache": got.get("X-Cache", ""),
        "bytes": len(body),
        "items": len(json.loads(body)),
        "total": got.get("X-WP-Total", ""),
    }


def print_report(report: dict) -> None:
    host = report["machine"]
    print(f"\n{report['label']} at {report['url']}, commit {report['commit']}")
    print(
        f"machine: {host['cpu']}, {host['cores']} cores, {host['ram']} RAM, {host['kernel']}, "
        f"Python {host['python']}; load average before: {host['load_average_before']}"
    )
    settings = report["settings"]
    print(
        f"{report['tool']}, {settings['connections']} connections, "
        f"{settings['duration']:g} s per row, {host['date']}\n"
    )
    print(f"{'row':<56} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}  X-Cache  bytes")
    for row in report["rows"].values():
        print(
            f"{row['name']:<56} {row['rps']:>8.0f} {row['p50_ms']:>8.1f} {row['p99_ms']:>8.1f} "
            f"{row['errors']:>7}  {row['x_cache'] or '-':<7}  {row['bytes']}"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.add_argument("--username", default="admin", help="whose application password")
    add_site_arguments(parser)
    parser.add_argument("--label", default="cluster", help="what was measured, for the record")
    parser.add_argument(
        "--edit-rows",
        action="store_true",
        help="also the signed-in context=edit reads (never cached: the render's cost)",
    )
    parser.add_argument("--out", type=Path, help="JSON report (default bench/results/...)")
    args = parser.parse_args(argv)
    host = machine()  # before the run, for its load average

    version = wrk_version() if args.tool != "python" else None
    if args.tool == "wrk" and not version:
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --tool python")
    tool = version or "a threaded Python client (a lower bound: install wrk)"

    auth, env, made = app_password_auth(args, "api bench")
    who = {"anonymous": {}, "app password": auth}

    people = list(who.items())
    if args.edit_rows:
        people.append(("app password, context=edit", who["app password"]))
    rows = {}
    try:
        for per_page in (10, 100):
            for embed in (False, True):
                for person, headers in people:
                    query = f"per_page={per_page}" + ("&_embed=1" if embed else "")
                    if person.endswith("context=edit"):
                        query += "&context=edit"
                    name = f"per_page={per_page}{', _embed' if embed else ''}, {person}"
                    url = f"{args.url}{COLLECTION}?{query}"
                    print(f"measuring {name}", file=sys.stderr)
                    seen = warm(url, headers)
                    options = {
                        "connections": args.connections,
                        "threads": args.threads,
                        "headers": headers,
                        "tool": args.tool,
                    }
                    if args.warmup:
                        measure(url, duration=args.warmup, **options)
                    result = measure(url, duration=args.duration, **options)
                    errors = result["non_2xx_3xx"] + result["socket_errors"]
                    rows[name] = {
                        "name": name,
                        "path": f"{COLLECTION}?{query}",
                        **seen,
                        **result,
                        "errors": errors,
                    }
                    time.sleep(0.5)
    finally:
        if made:
            # Requests wrk gave up on may still wait in the servers' queues: revoked under
            # them, each would count as a wrong password and lock the account out.
            time.sleep(10)
            _manage(env, "app_password", "revoke", args.username, "--name", made)

    report = {**report_head(args, "bench/api_bench.py", argv, host, tool), "rows": rows}
    print_report(report)
    write_report(report, args.out, "api")
    return 0


if __name__ == "__main__":
    sys.exit(main())
