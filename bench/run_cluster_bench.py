"""Benchmark a running cloudblog site: requests/s, latency and SQL queries per page.

Start the local cluster with data first (`python -m ops cluster up --seed-posts 1000`),
then run `.venv/bin/python bench/run_cluster_bench.py`. It measures, one after the
other, at `--connections` keep-alive connections for `--duration` seconds each:

  home and a post page as an anonymous reader (from the page cache, warmed first),
  the same two pages logged in (the cached page with the reader's own bits filled in,
  webtier/holes.py), and a static file through the same front door as the ceiling.

SQL queries per page are counted in-process (Django's test client under
CaptureQueriesContext, in `manage.py shell`) with the cluster's own environment: the
one ops gives its instances (from `--state-file`), or `--env-file`. The report starts
with the machine and the commit, checks the targets, and is also written as JSON
(`--out`). See bench/README.md.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import re
import shlex
import subprocess
import sys
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode, urlsplit

from load import add_load_arguments, measure, wrk_version

ROOT = Path(__file__).resolve().parent.parent
STATIC_PATH = "/static/css/site.css"
_POST_LINK = re.compile(r'href="(/\d{4}/\d{2}/[^"/?#]+/)"')
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The issues' targets, at 32 connections: (row, figure, comparison, threshold). Issue 17:
# logged-in pages at cache speed, one SQL query each on a warm cache.
TARGETS = [
    ("home-anonymous", "rps", ">=", 1500),
    ("home-anonymous", "p99_ms", "<", 50),
    ("home-logged-in", "rps", ">=", 600),
    ("home-logged-in", "p99_ms", "<=", 100),
    ("home-logged-in", "queries", "<=", 1),
    ("post-logged-in", "rps", ">=", 600),
    ("post-logged-in", "p99_ms", "<=", 100),
    ("post-logged-in", "queries", "<=", 1),
]
_COMPARE = {">=": float.__ge__, "<=": float.__le__, "<": float.__lt__}
TARGET_CONNECTIONS = 32

# Runs inside `manage.py shell -c` with the cluster's environment. Anonymous pages are
# counted rendered (page cache off) and from the cache; logged-in pages on a warm cache
# (the second view), with a session made by force_login and removed again by logout.
_QUERY_SCRIPT = """
import json, os
from contextlib import ExitStack
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

spec = json.loads(os.environ["BENCH_QUERY_SPEC"])
settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]

def count(client, path):
    with ExitStack() as stack:
        seen = [stack.enter_context(CaptureQueriesContext(connections[a])) for a in connections]
        response = client.get(path, secure=True)
    return {"status": response.status_code, "queries": sum(len(s.captured_queries) for s in seen)}

out = {path: {} for path in spec["anonymous"] + spec["logged_in"]}
cache_seconds = settings.PAGE_CACHE_SECONDS
settings.PAGE_CACHE_SECONDS = 0
for path in spec["anonymous"]:
    out[path]["render"] = count(Client(), path)
settings.PAGE_CACHE_SECONDS = cache_seconds
if cache_seconds:
    for path in spec["anonymous"]:
        count(Client(), path)
        out[path]["cached"] = count(Client(), path)
user = get_user_model().objects.filter(username=spec["username"], is_active=True).first()
if user is not None:
    client = Client()
    # The backend a password login through the form records (force_login would pick the
    # first backend with get_user: the API's application passwords).
    client.force_login(user, backend="django.contrib.auth.backends.ModelBackend")
    for path in spec["logged_in"]:
        count(client, path)
        out[path]["logged_in"] = count(client, path)
    client.logout()
print("BENCH_QUERIES " + json.dumps(out))
"""


# --- the machine -------------------------------------------------------------


def machine() -> dict:
    cpu = platform.processor() or "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        kib = int(re.search(r"MemTotal:\s+(\d+)", Path("/proc/meminfo").read_text()).group(1))
        ram = f"{kib / 1024 / 1024:.1f} GiB"
    except (OSError, AttributeError):
        ram = "unknown"
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "ram": ram,
        "kernel": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "date": datetime.now().astimezone().isoformat(timespec="seconds"),
        # Other work on the box skews every figure: the load average says if there was any.
        "load_average_before": round(os.getloadavg()[0], 2),
    }


def report_head(args, script: str, argv, host: dict, tool: str) -> dict:
    """What every report starts with: what ran, where, on which machine and commit."""
    return {
        "label": args.label,
        "url": args.url,
        "command": " ".join([script, *(argv or sys.argv[1:])]),
        "machine": host,
        "commit": commit(),
        "tool": tool,
        "settings": {"duration": args.duration, "connections": args.connections},
    }


def write_report(report: dict, out: Path | None, kind: str) -> None:
    out = out or ROOT / "bench" / "results" / f"{datetime.now():%Y-%m-%d}-{kind}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"\nwritten to {out}")


def commit() -> str:
    def git(*args):
        out = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True)
        return out.stdout.strip() if out.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    return head + ("+uncommitted" if git("status", "--porcelain", "--untracked-files=no") else "")


# --- HTTP: a browser's worth, for logging in and warming up ----------------------------


class Browser:
    def __init__(self, base_url: str):
        parts = urlsplit(base_url)
        self.base, self.host, self.port = base_url.rstrip("/"), parts.hostname, parts.port or 80
        self.cookies: dict[str, str] = {}

    def cookie_header(self) -> str:
        return "; ".join(f"{k}={v}" for k, v in self.cookies.items())

    def request(self, method: str, path: str, form: dict | None = None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
        headers = {"User-Agent": "cloudblog-bench"}
        if self.cookies:
            headers["Cookie"] = self.cookie_header()
        body = None
        if form is not None:
            body = urlencode(form)
            headers.update(
                {"Content-Type": "application/x-www-form-urlencoded", "Origin": self.base}
            )
            headers["Referer"] = self.base + path
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            text = resp.read().decode("utf-8", "replace")
        finally:
            conn.close()
        for line in resp.msg.get_all("Set-Cookie") or []:
            jar = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel.value and morsel["max-age"] != "0":
                    self.cookies[name] = morsel.value
                else:
                    self.cookies.pop(name, None)
        return resp, text

    def log_in(self, username: str, password: str) -> None:
        _, text = self.request("GET", "/accounts/login/")
        token = _CSRF_INPUT.search(text)
        form = {"username": username, "password": password, "next": ""}
        form["csrfmiddlewaretoken"] = token.group(1) if token else ""
        resp, _ = self.request("POST", "/accounts/login/", form)
        profile, _ = self.request("GET", "/accounts/profile/")
        if resp.status != 302 or profile.status != 200:
            raise SystemExit(
                f"could not log in as {username!r} (login answered {resp.status}, profile "
                f"{profile.status}): check --username and --password-file"
            )


def find_post(browser: Browser) -> str:
    """The first post on the home page that shows its body (not a password form)."""
    resp, text = browser.request("GET", "/")
    if resp.status != 200:
        raise SystemExit(f"GET / answered {resp.status}")
    for path in dict.fromkeys(_POST_LINK.findall(text)):
        resp, page = browser.request("GET", path)
        if resp.status == 200 and 'action="/posts/' in page and "/comments/" in page:
            return path
    raise SystemExit("no readable post on the home page: seed the site, or pass --post-path")


def warm(browser: Browser, path: str, rounds: int) -> dict:
    """GET the page a few times; what the last response said, and who served them."""
    served, status, cache = {}, None, None
    for _ in range(rounds):
        resp, _ = browser.request("GET", path)
        status, cache = resp.status, resp.getheader("X-Cache")
        if by := resp.getheader("X-Served-By"):
            served[by] = served.get(by, 0) + 1
    return {"status": status, "x_cache": cache, "served_by": served}


# --- SQL queries per page ---------------------------------------------------------


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines, `export` allowed, shell quoting honoured, # comments skipped."""
    env = {}
    for line in path.read_text().splitlines():
        words = shlex.split(line, comments=True)
        for word in words[1:] if words[:1] == ["export"] else words:
            key, sep, value = word.partition("=")
            if sep:
                env[key] = value
    return env


def _ops_env(cluster_dir: Path) -> dict:
    # The cluster gives its web instances and manage.py runs one environment; ask ops
    # for the same (it is plain Python in this repository, see ops/cluster_run.py).
    sys.path.insert(0, str(ROOT))
    from ops import cluster_run, cluster_state

    cluster = cluster_state.load(cluster_dir)
    secrets = json.loads((cluster_dir / cluster_state.SECRETS_FILE).read_text())
    return cluster_run.app_env(cluster, secrets)


def add_site_arguments(parser) -> None:
    """Where the site's environment comes from: an env file, or the local cluster's state."""
    parser.add_argument("--env-file", type=Path, help="the site's environment (KEY=VALUE)")
    parser.add_argument(
        "--state-file",
        type=Path,
        default=ROOT / "var" / "cluster" / "state.json",
        help="the cluster's state: its environment comes from ops (default: %(default)s)",
    )


def cluster_env(args) -> tuple[dict | None, str]:
    if args.env_file:
        return read_env_file(args.env_file), f"env file {args.env_file}"
    if not args.state_file.is_file():
        return None, f"no {args.state_file} (is the cluster up?) and no --env-file"
    try:
        return _ops_env(args.state_file.parent), f"cluster's environment ({args.state_file})"
    except Exception as exc:  # say why and still print the throughput figures
        return None, f"could not get the cluster's environment from ops: {exc!r}"


def count_queries(env: dict, anonymous: list[str], logged_in: list[str], username: str):
    spec = {"anonymous": anonymous, "logged_in": logged_in, "username": username}
    full_env = {**os.environ, **env, "BENCH_QUERY_SPEC": json.dumps(spec)}
    command = [sys.executable, "manage.py", "shell", "-c", _QUERY_SCRIPT]
    out = subprocess.run(command, cwd=ROOT, env=full_env, capture_output=True, text=True)
    for line in out.stdout.splitlines():
        if line.startswith("BENCH_QUERIES "):
            return json.loads(line.removeprefix("BENCH_QUERIES ")), None
    return None, f"manage.py shell failed: {(out.stderr.strip().splitlines() or ['?'])[-1]}"


# --- the report ---------------------------------------------------------------------


def _queries_cell(row: dict) -> str:
    q = row.get("queries")
    if not q:
        return "n/a"

    def cell(figures):
        status = figures["status"]
        return f"{figures['queries']}" + ("" if status == 200 else f" (HTTP {status})")

    if "logged_in" in q:
        return cell(q["logged_in"])
    return ", ".join(f"{name} {cell(figures)}" for name, figures in q.items())


def check_targets(rows: dict, connections: int) -> list[dict]:
    results = []
    for key, figure, op, threshold in TARGETS:
        row = rows.get(key, {})
        if figure == "queries":  # counted in-process, not under load
            value = row.get("queries", {}).get("logged_in", {}).get("queries")
        else:
            value = row.get(figure)
        if value is None or (connections != TARGET_CONNECTIONS and figure != "queries"):
            verdict = "n/a"
        else:
            verdict = "PASS" if _COMPARE[op](float(value), threshold) else "FAIL"
        label = f"{row.get('name', key)}: {figure} {op} {threshold:,}"
        results.append({"target": label, "measured": value, "verdict": verdict})
    return results


def print_report(report: dict) -> None:
    m = report["machine"]
    print(f"cloudblog bench  {m['date']}  commit {report['commit']}  {report['url']}")
    print(f"machine: {m['cpu']}, {m['cores']} cores, {m['ram']} RAM, {m['kernel']},")
    print(f"         Python {m['python']}; load generated on the same host by {report['tool']}")
    print(f"         load average before the run: {m['load_average_before']}")
    s = report["settings"]
    print(f"label: {report['label']}; {s['connections']} connections, {s['duration']} s per row")
    print(f"served by: {report['served_by'] or 'no X-Served-By header'}")
    print()
    header = f"{'page':<30} {'req/s':>7} {'p50 ms':>8} {'p99 ms':>8} {'errors':>6} "
    print(header + f"{'X-Cache':<7} SQL queries")
    for row in report["rows"].values():
        errors = row["non_2xx_3xx"] + row["socket_errors"]
        p50, p99 = (f"{v:.1f}" if v is not None else "-" for v in (row["p50_ms"], row["p99_ms"]))
        cells = [f"{row['name']:<30}", f"{row['rps']:>7.0f}", f"{p50:>8}", f"{p99:>8}"]
        cells += [f"{errors:>6}", f"{row['x_cache'] or '-':<7}"]
        print(" ".join(cells), _queries_cell(row))
    if report["queries_note"]:
        print(f"SQL queries: {report['queries_note']}")
    print()
    for target in report["targets"]:
        print(f"  {target['verdict']:<5} {target['target']} (measured {target['measured']})")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    add_load_arguments(parser)
    parser.add_argument("--username", default="admin", help="for the logged-in rows")
    parser.add_argument(
        "--password-file",
        type=Path,
        help="else $BENCH_PASSWORD, else admin-password beside the state file",
    )
    parser.add_argument("--post-path", help="the post page to use (default: found on /)")
    add_site_arguments(parser)
    parser.add_argument("--no-queries", action="store_true", help="skip the SQL counts")
    parser.add_argument("--label", default="cluster", help="what was measured, for the record")
    parser.add_argument("--out", type=Path, help="JSON report (default bench/results/...)")
    args = parser.parse_args(argv)
    host = machine()  # before the run, for its load average

    browser = Browser(args.url)
    try:
        health, _ = browser.request("GET", "/healthz")
    except OSError as exc:
        raise SystemExit(f"nothing answers at {args.url} ({exc}): is the cluster up?") from None
    if health.status != 200:
        raise SystemExit(f"{args.url}/healthz answered {health.status}")
    post = args.post_path or find_post(Browser(args.url))
    password = os.environ.get("BENCH_PASSWORD")
    password_file = args.password_file or args.state_file.parent / "admin-password"
    if args.password_file or (not password and password_file.is_file()):
        password = password_file.read_text().strip()
    user = None
    if password:
        user = Browser(args.url)
        user.log_in(args.username, password)
    else:
        print("no password (--password-file, BENCH_PASSWORD): skipping the logged-in rows")

    plan = [
        ("home-anonymous", "home, anonymous (cached)", "/", None),
        ("post-anonymous", "post, anonymous (cached)", post, None),
        ("home-logged-in", "home, logged in", "/", user),
        ("post-logged-in", "post, logged in", post, user),
        ("static", "static file (ceiling)", STATIC_PATH, None),
    ]
    version = wrk_version() if args.tool != "python" else None
    if args.tool == "wrk" and not version:
        raise SystemExit("wrk is not installed (apt-get install wrk), or use --tool python")
    tool = version or "a threaded Python client (a lower bound: install wrk)"
    rows, served_by = {}, {}
    for key, name, path, who in plan:
        if key.endswith("logged-in") and who is None:
            continue
        print(f"measuring {name}: {path}", file=sys.stderr)
        seen = warm(who or Browser(args.url), path, rounds=6)
        for by, n in seen["served_by"].items():
            served_by[by] = served_by.get(by, 0) + n
        headers = {"Cookie": who.cookie_header()} if who else {}
        options = {"connections": args.connections, "threads": args.threads, "headers": headers}
        if args.warmup:
            measure(args.url + path, duration=args.warmup, tool=args.tool, **options)
        result = measure(args.url + path, duration=args.duration, tool=args.tool, **options)
        rows[key] = {
            "name": name,
            "path": path,
            **seen,
            **result,
        }

    queries_note = "skipped (--no-queries)" if args.no_queries else ""
    if not args.no_queries:
        env, source = cluster_env(args)
        if env is None:
            queries_note = f"n/a: {source}"
        else:
            anon = [rows[k]["path"] for k in ("home-anonymous", "post-anonymous", "static")]
            counted, error = count_queries(env, anon, ["/", post], args.username)
            queries_note = error or f"counted in-process with the {source}"
            for key, row in rows.items():
                row["queries"] = {}
                for kind, figures in (counted or {}).get(row["path"], {}).items():
                    if (kind == "logged_in") == key.endswith("logged-in"):
                        row["queries"][kind] = figures

    report = {
        **report_head(args, "bench/run_cluster_bench.py", argv, host, tool),
        "served_by": served_by,
        "rows": rows,
        "queries_note": queries_note,
        "targets": check_targets(rows, args.connections),
    }
    print_report(report)
    write_report(report, args.out, "cluster")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
