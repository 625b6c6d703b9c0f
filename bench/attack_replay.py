"""Replay issue 16's attacks against a running site and print a table.

    .venv/bin/python bench/attack_replay.py --url http://127.0.0.1:8000 --username admin \
        [--password-file F] [--protected-post ID] [--attempts 30] [--fuzz 400] [--seed 16]

- login brute force: `--attempts` wrong passwords for `--username` at /admin/login/ and at
  /accounts/login/ (each with its CSRF token, as a browser sends them), then the right one
  from the same address when `--password-file` is given;
- password spraying: one wrong password for each of `--attempts` made-up accounts;
- the post-password form of `--protected-post`, when given;
- URL fuzz: the archive dates of the issue, then `--fuzz` generated paths and query
  strings (fixed seed: the same cases every run) over every kind of public and admin URL;
- hostile uploads (`--uploads`, needs `--password-file`): the issue's files (the all-zero
  7000x7000 PNG, the 1x49,999,999 PNG), the 36 MP noise PNG of tests/bombs.py, then every
  file of ../shared/corpora/images/{payloads,pillow}, POSTed by the administrator to the
  JSON upload door; a row each for the crafted files, one for the corpus (the child's
  peak memory is in the site's log: bench/upload_bench.py reads it on its own site).

Each attack comes from its own client address, sent as `X-Forwarded-For`: run the site
with TRUSTED_PROXY_COUNT=1, as behind the load balancer, or every attack shares one
address (127.0.0.1). Traffic goes only to `--url`; loops are bounded by the counts above.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import random
import re
import string
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_UPLOAD = "/admin/media_library/mediaitem/upload/"

_ARCHIVES = ["/9999/", "/9999/12/", "/9999/12/31/", "/2026/00/", "/2026/01/00/", "/0000/"]
_TEMPLATES = [
    "/{yyyy}/", "/{yyyy}/{mm}/", "/{yyyy}/{mm}/{mm}/", "/{yyyy}/{mm}/{word}/",
    "/category/{word}/", "/category/{word}/feed/", "/tag/{word}/feed/atom/",
    "/author/{word}/", "/author/{word}/feed/", "/search/?q={text}&page={n}", "/?page={n}",
    "/preview/{n}/", "/posts/{n}/unlock/", "/posts/{n}/comments/", "/feed/?{word}={text}",
    "/comments/feed/atom/", "/sitemap.xml?p={n}", "/{text}/", "/{word}/{word}/",
    "/admin/blog/post/{text}/change/", "/admin/blog/post/?o={text}&p={n}",
    "/admin/{word}/", "/accounts/{word}/", "/readyz?{word}={n}", "/worker/",
]  # fmt: skip


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class Client:
    """One visitor: cookies, and the address the load balancer would report."""

    def __init__(self, base: str, address: str):
        self.base, self.address = base.rstrip("/"), address
        self.cookies = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(self.cookies), _NoRedirect()
        )

    def request(self, path: str, form: dict | None = None) -> tuple[int, dict, bytes, float]:
        headers = {"X-Forwarded-For": self.address, "Referer": self.base + path}
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        started = time.perf_counter()
        try:
            with self.opener.open(
                urllib.request.Request(self.base + path, data=data, headers=headers), timeout=30
            ) as response:
                status, head, body = response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as error:
            status, head, body = error.code, dict(error.headers), error.read()
        return status, head, body, time.perf_counter() - started

    def upload(self, name: str, data: bytes) -> tuple[int, bytes, float]:
        """POST one file to the JSON upload door, as the admin's page does."""
        token = next(c.value for c in self.cookies if c.name == "csrftoken")
        boundary = uuid.uuid4().hex
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"'
                "\r\nContent-Type: application/octet-stream\r\n\r\n"
            ).encode()
            + data
            + f"\r\n--{boundary}--\r\n".encode()
        )
        headers = {
            "X-Forwarded-For": self.address,
            "Referer": self.base + "/admin/",
            "X-CSRFToken": token,
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        }
        request = urllib.request.Request(self.base + _UPLOAD, data=body, headers=headers)
        started = time.perf_counter()
        try:
            with self.opener.open(request, timeout=60) as response:
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, answer = error.code, error.read()
        return status, answer, time.perf_counter() - started

    def login(self, path: str, username: str, password: str) -> tuple[int, dict]:
        _, _, page, _ = self.request(path)
        token = re.search(rb'name="csrfmiddlewaretoken" value="([^"]+)"', page)
        form = {"username": username, "password": password}
        if token:
            form["csrfmiddlewaretoken"] = token[1].decode()
        status, head, _, _ = self.request(path, form)
        return status, head


def _throttled_after(statuses: list[int]) -> str:
    return str(statuses.index(429)) if 429 in statuses else "never"


def brute_force(args, password: str | None) -> list[tuple]:
    rows = []
    for n, door in enumerate(["/admin/login/", "/accounts/login/"]):
        attacker = Client(args.url, f"203.0.113.{10 + n}")
        answers = [attacker.login(door, args.username, f"wrong-{i}") for i in range(args.attempts)]
        statuses = [status for status, _ in answers]
        retry = next((h.get("Retry-After") for s, h in answers if s == 429), "-")
        then = attacker.login(door, args.username, password)[0] if password else "-"
        rows.append((f"brute force {door}", args.attempts, _throttled_after(statuses), retry, then))
    sprayer = Client(args.url, "203.0.113.30")
    statuses = [
        sprayer.login("/accounts/login/", f"user{i}", "Winter2026!")[0]
        for i in range(args.attempts)
    ]
    rows.append(("spraying /accounts/login/", args.attempts, _throttled_after(statuses), "", ""))
    owner = Client(args.url, "198.51.100.20")
    if password:
        rows.append(("owner, other address, right password", 1, "", "", owner.login(
            "/admin/login/", args.username, password)[0]))  # fmt: skip
    if args.protected_post:
        guesser = Client(args.url, "203.0.113.40")
        unlock = f"/posts/{args.protected_post}/unlock/"
        statuses = [
            guesser.request(unlock, {"password": f"wrong-{i}"})[0] for i in range(args.attempts)
        ]
        rows.append((f"post password {unlock}", args.attempts, _throttled_after(statuses), "", ""))
    return rows


def _fill(template: str, rng: random.Random) -> str:
    def word() -> str:
        return "".join(
            rng.choice(string.ascii_lowercase + "-_.") for _ in range(rng.randint(1, 12))
        )

    def text() -> str:
        alphabet = string.printable + "éü日本\u202e\x00"
        raw = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 24)))
        return urllib.parse.quote(raw, safe="")

    values = {
        "yyyy": lambda: f"{rng.choice([0, 1, 1970, 2026, 9998, 9999, rng.randint(0, 9999)]):04d}",
        "mm": lambda: f"{rng.choice([0, 1, 2, 12, 13, 31, 99, rng.randint(0, 99)]):02d}",
        "word": word,
        "text": text,
        "n": lambda: str(rng.choice([-1, 0, 1, 2, 10**20, rng.randint(0, 10**6)])),
    }
    return re.sub(r"\{(\w+)\}", lambda m: values[m[1]](), template)


def fuzz(args) -> list[tuple]:
    rng = random.Random(args.seed)
    client = Client(args.url, "203.0.113.50")
    cases = _ARCHIVES + [_fill(rng.choice(_TEMPLATES), rng) for _ in range(args.fuzz)]
    errors, slowest, statuses = [], 0.0, {}
    for path in cases:
        status, _, _, seconds = client.request(path)
        statuses[status] = statuses.get(status, 0) + 1
        slowest = max(slowest, seconds)
        if status >= 500 and status != 503:
            errors.append(path)
    seen = ", ".join(f"{code}x{count}" for code, count in sorted(statuses.items()))
    rows = [("URL fuzz (GET)", len(cases), f"{len(errors)} x 500", f"{slowest:.2f} s", seen)]
    rows += [("  500 at", 1, path, "", "") for path in errors[:20]]
    return rows


def uploads(args, password: str) -> list[tuple]:
    import json
    import sys

    sys.path.insert(0, str(ROOT))
    from tests.bombs import BOMBS, heavy_png

    author = Client(args.url, "198.51.100.60")
    author.login("/admin/login/", args.username, password)
    rows = []
    crafted = [
        ("zero-7000x7000.png", BOMBS["zero-7000x7000.png"][0]()),
        ("tall-1x49999999.png", BOMBS["tall-1x49999999.png"][0]()),
        ("noise-6000x6000.png", heavy_png()),
    ]
    for name, data in crafted:
        status, answer, seconds = author.upload(name, data)
        try:
            detail = json.loads(answer).get("error") or "accepted"
        except ValueError:
            detail = answer[:40].decode(errors="replace")
        rows.append(
            (f"upload {name} ({len(data):,} B)", 1, status, f"{seconds:.2f} s", detail[:60])
        )
    corpus = ROOT.parent / "shared" / "corpora" / "images"
    files = sorted(p for sub in ("payloads", "pillow") for p in (corpus / sub).glob("*"))
    statuses, slowest = {}, (0.0, "")
    for path in files:
        status, _, seconds = author.upload(path.name, path.read_bytes())
        statuses[status] = statuses.get(status, 0) + 1
        slowest = max(slowest, (seconds, path.name))
    seen = ", ".join(f"{code}x{count}" for code, count in sorted(statuses.items()))
    rows.append(
        ("upload corpus payloads+pillow", len(files), seen, f"{slowest[0]:.2f} s", slowest[1])
    )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--username", default="admin")
    parser.add_argument("--password-file", type=Path)
    parser.add_argument("--protected-post", type=int)
    parser.add_argument("--attempts", type=int, default=30)
    parser.add_argument("--fuzz", type=int, default=400)
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--uploads", action="store_true", help="hostile uploads too")
    args = parser.parse_args()
    password = args.password_file.read_text().strip() if args.password_file else None

    rows = brute_force(args, password) + fuzz(args)
    if args.uploads and password:
        rows += uploads(args, password)
    header = ("attack", "attempts", "throttled after / 500s", "Retry-After / slowest", "then")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        print("| " + " | ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)) + " |")


if __name__ == "__main__":
    main()
