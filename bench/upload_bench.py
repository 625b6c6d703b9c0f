"""Upload speed and upload bounds through the real upload door of the embedded site.

    .venv/bin/python bench/upload_bench.py              # photos x5 each, then every hostile file
    .venv/bin/python bench/upload_bench.py --runs 8 --no-hostile
    .venv/bin/python bench/upload_bench.py --json bench/results/<date>-upload.json

It starts the site as `make run` does (`manage.py runserver --noreload`: SQLite in a
temporary CLOUDBLOG_VAR_DIR, MEDIA_BACKEND=local, TASKS_BACKEND=immediate, DEBUG on),
makes the administrator (`ensure_admin --password-file`), logs in through
/admin/login/ like a browser, and POSTs each file to the JSON upload endpoint
(/admin/media_library/mediaitem/upload/). A time is the POST as the client sees it,
from the first byte sent to the last received: validation, every rendition (the
immediate backend makes them all in the request), the writes and the row.

- Photos (issue 12): the two in ../shared/corpora/images/photos, `--runs` times each.
  The same person uploading the same bytes gets the existing item back at once, so each
  run appends a few zero bytes after the JPEG's end (ignored by every decoder).
  WordPress 6.1 with GD took 2.2-2.6 s (16.8 MP) and 2.6-3.1 s (24 MP) on this machine.
- Hostile files (issue 16): every file of ../shared/corpora/images and the bombs of
  tests/bombs.py, once each: status, seconds, and the processing child's peak memory
  (ru_maxrss, interpreter included) from the server's log. Target: each answered in
  at most 2 s and 300 MB, no 500, the photos accepted.

The machine, its load and the commit are printed first: figures from a shared, busy
machine are slower than on a quiet one; rerun when `uptime` is low.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpora" / "images"
PHOTOS = ("wood-4096x4096.jpg", "adwaita-6000x4000.jpg")
WORDPRESS = {"wood-4096x4096.jpg": "2.2-2.6", "adwaita-6000x4000.jpg": "2.6-3.1"}
UPLOAD = "/admin/media_library/mediaitem/upload/"
TARGET_SECONDS, TARGET_MB = 2.0, 300
_LOGGED = re.compile(r"image (?:processed in [\d.]+ s, peak|refused, peak) (\d+) MB")
_PROCESSED = re.compile(r"image processed in ([\d.]+) s, peak \d+ MB, CPU ([\d.]+) s")


def _machine() -> dict:
    model = "unknown"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip()
            break
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
    ).stdout.strip()
    import PIL

    return {
        "cpu": model,
        "cores": os.cpu_count(),
        "load": os.getloadavg(),
        "python": platform.python_version(),
        "pillow": PIL.__version__,
        "commit": commit,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Site:
    """The embedded site in a temporary folder, as `make run` starts it."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="cloudblog-upload-bench-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = self.dir / "server.log"
        self.env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("DATABASE_", "REDIS_", "DJANGO_", "MEDIA_", "TASKS_"))
        }
        self.env.update(CLOUDBLOG_VAR_DIR=str(self.dir), PYTHONUNBUFFERED="1")
        self.password = ""

    def manage(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "manage.py", *args], cwd=ROOT, env=self.env, check=True,
            capture_output=True,
        )  # fmt: skip

    def start(self) -> None:
        self.manage("migrate", "--noinput")
        secret = self.dir / "password"
        self.manage("ensure_admin", "--password-file", str(secret))
        self.password = secret.read_text().strip()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{self.port}"],
            cwd=ROOT, env=self.env, stdout=self.log.open("w"), stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        for _ in range(200):
            try:
                requests.get(f"{self.url}/healthz", timeout=1)
                return
            except requests.ConnectionError:
                time.sleep(0.1)
        raise SystemExit(f"the site did not start; see {self.log}")

    def stop(self, keep: bool = False) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        self.process.wait(timeout=10)
        if not keep:
            shutil.rmtree(self.dir, ignore_errors=True)

    def log_size(self) -> int:
        return self.log.stat().st_size

    def log_since(self, offset: int) -> str:
        with self.log.open() as handle:
            handle.seek(offset)
            return handle.read()


def _login(site: Site) -> requests.Session:
    session = requests.Session()
    session.get(f"{site.url}/admin/login/")
    response = session.post(
        f"{site.url}/admin/login/",
        data={
            "username": "admin",
            "password": site.password,
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "next": "/admin/",
        },
        headers={"Referer": f"{site.url}/admin/login/"},
    )
    if "sessionid" not in session.cookies:
        raise SystemExit(f"could not log in (HTTP {response.status_code})")
    return session


def _upload(site: Site, session: requests.Session, name: str, data: bytes) -> dict:
    offset = site.log_size()
    started = time.perf_counter()
    response = session.post(
        f"{site.url}{UPLOAD}",
        files={"file": (name, data, "application/octet-stream")},
        headers={"X-CSRFToken": session.cookies["csrftoken"], "Referer": f"{site.url}/admin/"},
    )
    seconds = time.perf_counter() - started
    time.sleep(0.05)  # the server's log line follows its response
    log = site.log_since(offset)
    peaks = [int(mb) for mb in _LOGGED.findall(log)]
    processing = [(float(s), float(cpu)) for s, cpu in _PROCESSED.findall(log)]
    try:
        detail = response.json().get("error") or response.json().get("status")
    except ValueError:
        detail = response.text[:80]
    return {
        "name": name,
        "status": response.status_code,
        "seconds": round(seconds, 3),
        "peak_mb": max(peaks) if peaks else None,
        "processing": processing[0][0] if processing else None,
        "cpu": processing[0][1] if processing else None,
        "detail": detail,
    }


def _photos(site, session, runs: int) -> list[dict]:
    rows = []
    for name in PHOTOS:
        data = (CORPUS / "photos" / name).read_bytes()
        results = [_upload(site, session, name, data + b"\0" * (run + 1)) for run in range(runs)]
        times = [r["seconds"] for r in results]
        rows.append(
            {
                "name": name,
                "statuses": sorted({r["status"] for r in results}),
                "median": round(statistics.median(times), 2),
                "min": round(min(times), 2),
                "max": round(max(times), 2),
                "peak_mb": max((r["peak_mb"] or 0) for r in results),
                "processing_median": round(
                    statistics.median(r["processing"] or 0 for r in results), 2
                ),
                "cpu_median": round(statistics.median(r["cpu"] or 0 for r in results), 2),
                "wordpress": WORDPRESS[name],
            }
        )
        print(
            f"{name:28} {rows[-1]['statuses']} median {rows[-1]['median']:.2f} s "
            f"(min {rows[-1]['min']:.2f}, max {rows[-1]['max']:.2f}), "
            f"of which processing {rows[-1]['processing_median']:.2f} s "
            f"(CPU {rows[-1]['cpu_median']:.2f} s); "
            f"peak {rows[-1]['peak_mb']} MB; WordPress {WORDPRESS[name]} s",
            flush=True,
        )
    return rows


def _hostile(site, session) -> list[dict]:
    sys.path.insert(0, str(ROOT))
    from tests.bombs import BOMBS, heavy_png, noise_png

    files = [
        (f"{p.parent.name}/{p.name}", p.read_bytes())
        for p in sorted(CORPUS.rglob("*"))
        if p.is_file()
    ]
    files = [(name, data) for name, data in files if not name.startswith("photos/COPY")]
    files += [(f"crafted/{name}", make()) for name, (make, _words) in BOMBS.items()]
    files.append(("crafted/heavy-6000x6000.png", heavy_png()))
    files.append(("crafted/noise-rgb-2560x2560.png", noise_png()))
    rows = []
    for name, data in files:
        row = _upload(site, session, name.rsplit("/", 1)[-1], data)
        row["name"] = name
        rows.append(row)
        over = row["seconds"] > TARGET_SECONDS or (row["peak_mb"] or 0) > TARGET_MB
        print(
            f"{name:60} {row['status']} {row['seconds']:6.2f} s "
            f"{row['peak_mb'] if row['peak_mb'] is not None else '-':>5} MB "
            f"CPU {row['cpu'] if row['cpu'] is not None else '-':>5} s"
            f"{'  OVER TARGET' if over else ''}",
            flush=True,
        )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="uploads of each photo")
    parser.add_argument("--no-hostile", action="store_true", help="photos only")
    parser.add_argument("--json", type=Path, help="write the figures here too")
    parser.add_argument("--keep", action="store_true", help="keep the site's folder and log")
    args = parser.parse_args(argv)
    machine = _machine()
    print(
        f"machine: {machine['cpu']}, {machine['cores']} cores, load "
        f"{' '.join(f'{x:.2f}' for x in machine['load'])}; Python {machine['python']}, "
        f"Pillow {machine['pillow']}; commit {machine['commit']}",
        flush=True,
    )
    site = Site()
    site.start()
    try:
        session = _login(site)
        photos = _photos(site, session, args.runs)
        hostile = [] if args.no_hostile else _hostile(site, session)
    finally:
        site.stop(keep=args.keep)
        if args.keep:
            print(f"site folder and server log: {site.dir}")
    machine["load_after"] = os.getloadavg()
    slow = [r for r in hostile if r["seconds"] > TARGET_SECONDS]
    heavy = [r for r in hostile if (r["peak_mb"] or 0) > TARGET_MB]
    errors = [r for r in hostile if r["status"] >= 500 and r["status"] != 503]
    if hostile:
        print(
            f"hostile: {len(hostile)} files, "
            f"{sum(r['status'] == 400 for r in hostile)} refused, "
            f"{sum(r['status'] == 201 for r in hostile)} accepted, {len(errors)} 5xx; "
            f"slowest {max(r['seconds'] for r in hostile):.2f} s, highest peak "
            f"{max((r['peak_mb'] or 0) for r in hostile)} MB; over {TARGET_SECONDS:g} s: "
            f"{len(slow)}, over {TARGET_MB} MB: {len(heavy)}"
        )
    print(f"load after: {' '.join(f'{x:.2f}' for x in machine['load_after'])}")
    if args.json:
        args.json.write_text(
            json.dumps({"machine": machine, "photos": photos, "hostile": hostile}, indent=1)
        )
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
