"""Throughput and latency of one URL at a fixed number of keep-alive connections.

`measure()` uses wrk (`apt-get install wrk`) when it is on PATH: it is written in C and
keeps 32 connections busy with a fraction of a core. Without it a threaded Python client
does the same job, but it needs far more CPU per request and, on the machine under test,
takes that CPU from the server: its figures are a lower bound. The result says which
tool measured it.

    python bench/load.py http://127.0.0.1:8080/ --duration 5 --cookie 'sessionid=...'
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import subprocess
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

# wrk calls done() once at the end: print what we need as one JSON line, in exact
# figures (microseconds), rather than parsing its rounded, unit-suffixed text.
_WRK_SCRIPT = """
wrk.method = "GET"
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'WRK_JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "connect": %%d, '
    .. '"read": %%d, "write": %%d, "status": %%d, "timeout": %%d, '
    .. '"p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, "mean_us": %%.1f}\\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
"""


def wrk_version() -> str | None:
    if not shutil.which("wrk"):
        return None
    out = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    # "wrk debian/4.1.0-3+b2 [epoll] Copyright ..." -> "wrk 4.1.0"
    found = re.search(r"wrk (?:\S*/)?(\d+(?:\.\d+)+)", out.stdout + out.stderr)
    return f"wrk {found.group(1)}" if found else "wrk"


def _lua_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _run_wrk(url: str, headers: dict, duration: float, connections: int, threads: int) -> dict:
    lines = "\n".join(
        f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(_WRK_SCRIPT % {"headers": lines})
    try:
        command = ["wrk", f"-t{min(threads, connections)}", f"-c{connections}"]
        command += [f"-d{max(1, round(duration))}s", "--timeout", "5s", "-s", script.name, url]
        out = subprocess.run(command, capture_output=True, text=True, check=False)
    finally:
        Path(script.name).unlink()
    found = [line for line in out.stdout.splitlines() if line.startswith("WRK_JSON ")]
    if out.returncode or not found:
        raise RuntimeError(f"wrk failed ({out.returncode}): {out.stderr.strip() or out.stdout}")
    raw = json.loads(found[-1].removeprefix("WRK_JSON "))
    seconds = raw["duration_us"] / 1e6
    socket_errors = sum(raw[k] for k in ("connect", "read", "write", "timeout"))
    return {
        "tool": "wrk",
        "requests": raw["requests"],
        "seconds": round(seconds, 3),
        "rps": round(raw["requests"] / seconds, 1) if seconds else 0.0,
        "p50_ms": raw["p50_us"] / 1000,
        "p90_ms": raw["p90_us"] / 1000,
        "p99_ms": raw["p99_us"] / 1000,
        "max_ms": raw["max_us"] / 1000,
        "non_2xx_3xx": raw["status"],
        "socket_errors": socket_errors,
        "socket_errors_by_kind": {k: raw[k] for k in ("connect", "read", "write", "timeout")},
        "mb_per_s": round(raw["bytes"] / seconds / 1e6, 2) if seconds else 0.0,
    }


def _run_python(url: str, headers: dict, duration: float, connections: int) -> dict:
    parts = urlsplit(url)
    path = parts.path + (f"?{parts.query}" if parts.query else "") or "/"
    lock = threading.Lock()
    latencies: list[float] = []
    counts = {"non_2xx_3xx": 0, "socket_errors": 0, "bytes": 0}
    start = time.perf_counter()
    deadline = start + duration

    def worker():
        conn, mine, bad, failed, size = None, [], 0, 0, 0
        while time.perf_counter() < deadline:
            began = time.perf_counter()
            try:
                conn = conn or http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
                conn.request("GET", path, headers=headers)
                resp = conn.getresponse()
                size += len(resp.read())
            except (OSError, http.client.HTTPException):
                failed += 1
                if conn is not None:
                    conn.close()
                conn = None  # reconnect on the next round
                continue
            mine.append(time.perf_counter() - began)
            bad += not 200 <= resp.status < 400
        with lock:
            latencies.extend(mine)
            counts["non_2xx_3xx"] += bad
            counts["socket_errors"] += failed
            counts["bytes"] += size

    workers = [threading.Thread(target=worker, daemon=True) for _ in range(connections)]
    for thread in workers:
        thread.start()
    for thread in workers:
        thread.join()
    seconds = time.perf_counter() - start
    latencies.sort()

    def pct(p):
        return round(latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000, 3)

    return {
        "tool": "python",
        "requests": len(latencies),
        "seconds": round(seconds, 3),
        "rps": round(len(latencies) / seconds, 1),
        "p50_ms": pct(50) if latencies else None,
        "p90_ms": pct(90) if latencies else None,
        "p99_ms": pct(99) if latencies else None,
        "max_ms": round(latencies[-1] * 1000, 3) if latencies else None,
        "non_2xx_3xx": counts["non_2xx_3xx"],
        "socket_errors": counts["socket_errors"],
        "mb_per_s": round(counts["bytes"] / seconds / 1e6, 2),
    }


def measure(
    url: str,
    *,
    duration: float = 10,
    connections: int = 32,
    threads: int = 2,
    headers: dict | None = None,
    tool: str = "auto",
) -> dict:
    """GET `url` over `connections` keep-alive connections for `duration` seconds."""
    headers = {"User-Agent": "cloudblog-bench", **(headers or {})}
    if tool == "wrk" or (tool == "auto" and shutil.which("wrk")):
        return _run_wrk(url, headers, duration, connections, threads)
    return _run_python(url, headers, duration, connections)


def add_load_arguments(parser) -> None:
    """The options every bench shares: where, how long, how many connections, which tool."""
    parser.add_argument("--url", default="http://127.0.0.1:8080", help="default %(default)s")
    parser.add_argument("--duration", type=float, default=10, help="seconds per row (10)")
    parser.add_argument("--connections", type=int, default=32, help="default 32")
    parser.add_argument(
        "--threads", type=int, default=min(4, os.cpu_count() or 1), help="wrk threads (cores)"
    )
    parser.add_argument("--warmup", type=float, default=2, help="seconds of load first (2)")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("url")
    parser.add_argument("--duration", type=float, default=10, help="seconds (default 10)")
    parser.add_argument("--connections", type=int, default=32, help="default 32")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--cookie", help="a Cookie header to send, e.g. 'sessionid=...'")
    parser.add_argument("--tool", choices=["auto", "wrk", "python"], default="auto")
    args = parser.parse_args(argv)
    headers = {"Cookie": args.cookie} if args.cookie else {}
    result = measure(
        args.url,
        duration=args.duration,
        connections=args.connections,
        threads=args.threads,
        headers=headers,
        tool=args.tool,
    )
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
