"""A load generator for the load and failure tests: simulated visitors over keep-alive HTTP.

Each visitor is a thread with its own keep-alive connection and cookie jar. One with
credentials logs in through the login form first. Then every visitor loops: a listing
page, a random post from it, now and then a comment, and (when logged in) the profile
page, which answers 302 to the login page once the session is gone. Every request is
recorded with its status, latency, `X-Served-By` (set by haproxy), `X-Cache` and the
kind of error when no response came; a failed connection is counted and reopened.

    run = Load(url, users=[User("edith", pw)] * 10 + [User()] * 10, duration=30).start()
    ...  # kill an instance
    report = run.join()
    assert report.sessions_lost == 0 and report.errors == {}

A session is lost when the profile page sends a logged-in visitor to the login page, when
a post page comes back rendered for an anonymous visitor, or when a logged-in visitor's
comment comes back so (the session vanished in flight); the visitor then logs in again.

Every comment the site acknowledged (302) is in `report.writes` with a unique marker in
its body, so a test can look each one up in the database. Use an Editor's account for
writers: their comments are approved at once; an anonymous one is held for moderation.
The per-IP comment rate limit (COMMENT_RATE_LIMIT) counts every visitor as one address.
"""

from __future__ import annotations

import http.client
import random
import re
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from urllib.parse import urlencode, urlsplit

LOGIN_PATH = "/accounts/login/"
PROFILE_PATH = "/accounts/profile/"
_POST_LINK = re.compile(r'href="(/\d{4}/\d{2}/[^"/?#]+/)"')
_PAGE_COUNT = re.compile(r"Page \d+ of (\d+)")
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_COMMENT_ACTION = re.compile(r'action="/posts/(\d+)/comments/"')


@dataclass(frozen=True)
class User:
    """One simulated visitor's credentials; `User()` is an anonymous reader."""

    username: str | None = None
    password: str | None = None


@dataclass(frozen=True)
class Sample:
    t: float  # seconds since the run started, when the request was sent
    method: str
    path: str
    status: int | None  # None: no response (see error)
    latency: float  # seconds
    served_by: str | None
    cache: str | None
    error: str | None
    # A 400 for a logged-in visitor's write, answered with the page an anonymous visitor
    # gets: the session vanished while the request was on its way. Counted as a lost
    # session (`Report.session_losses`), not among `Report.errors`.
    session_lost: bool = False


@dataclass(frozen=True)
class Write:
    """A comment the site acknowledged: `marker` is unique and is the whole body."""

    marker: str
    post_id: int
    username: str | None
    t: float
    served_by: str | None


class RequestFailed(Exception):
    """No response, or an unexpected one; the request is already recorded."""


def _stale(exc: BaseException) -> bool:
    return isinstance(exc, ConnectionResetError | BrokenPipeError | http.client.RemoteDisconnected)


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "timeout"
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if _stale(exc):
        return "disconnected"
    return type(exc).__name__


def _percentile(ordered: list[float], pct: float) -> float | None:
    if not ordered:
        return None
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


@dataclass
class Report:
    samples: list[Sample]
    writes: list[Write]
    session_losses: list[tuple[float, str | None]]  # (t, served_by of the 302)
    login_failures: int
    retries: int  # GETs resent at once after a kept-alive connection turned out closed
    elapsed: float
    requests: int = field(init=False)
    errors: Counter = field(init=False)  # kind -> count; `http_<status>` for a status >= 400
    statuses: Counter = field(init=False)
    served_by: Counter = field(init=False)
    latency_ms: dict = field(init=False)  # p50/p95/p99/max of answered requests

    def __post_init__(self):
        self.requests = len(self.samples)
        self.errors = Counter(
            s.error or f"http_{s.status}"
            for s in self.samples
            if s.error or (s.status is not None and s.status >= 400 and not s.session_lost)
        )
        self.statuses = Counter(s.status for s in self.samples if s.status is not None)
        self.served_by = Counter(s.served_by for s in self.samples if s.served_by)
        ordered = sorted(s.latency * 1000 for s in self.samples if s.status is not None)
        self.latency_ms = {f"p{p}": _percentile(ordered, p) for p in (50, 95, 99)}
        self.latency_ms["max"] = ordered[-1] if ordered else None

    @property
    def sessions_lost(self) -> int:
        return len(self.session_losses)

    @property
    def requests_per_second(self) -> float:
        return self.requests / self.elapsed if self.elapsed else 0.0

    def summary(self) -> dict:
        return {
            "requests": self.requests,
            "requests_per_second": round(self.requests_per_second, 1),
            "errors": dict(self.errors),
            "statuses": dict(self.statuses),
            "latency_ms": {k: v and round(v, 1) for k, v in self.latency_ms.items()},
            "served_by": dict(self.served_by),
            "sessions_lost": self.sessions_lost,
            "login_failures": self.login_failures,
            "retries": self.retries,
            "acknowledged_writes": len(self.writes),
        }


class Visitor:
    """One simulated browser: a keep-alive connection, a cookie jar, its own random stream."""

    def __init__(self, load: Load, user: User, index: int):
        self.load, self.user, self.index = load, user, index
        self.cookies: dict[str, str] = {}
        self.rng = random.Random(f"{load.run_id}-{index}")
        self.logged_in = False
        self._conn: http.client.HTTPConnection | None = None
        self._writes = 0

    def request(
        self,
        method: str,
        path: str,
        form: dict | None = None,
        expect=(200,),
        *,
        as_logged_in: bool = False,
    ):
        """One request; returns (response, text), or raises RequestFailed (recorded).

        `as_logged_in`: a write only a logged-in visitor makes this way. A 400 that comes
        back rendered for an anonymous visitor (no CSRF token: only a logged-in visitor's
        forms carry one) means the session vanished in flight: a lost session, returned.
        """
        load = self.load
        headers = {"User-Agent": "cloudblog-loadgen", **load.headers}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers.update(Origin=load.origin, Referer=load.origin + path)
        started = time.perf_counter()
        resp = error = None
        for attempt in (1, 2):
            reused = self._conn is not None
            try:
                if self._conn is None:
                    self._conn = http.client.HTTPConnection(load.host, load.port, load.timeout)
                self._conn.request(method, path, body=body, headers=headers)
                resp = self._conn.getresponse()
                text = resp.read().decode("utf-8", "replace")
                break
            except (OSError, http.client.HTTPException) as exc:
                self.close()  # a fresh connection next time: this one may lead to a dead server
                resp, error = None, exc
                # A kept-alive connection the server closed while idle: a browser resends a
                # GET at once on a new one, and so do we (a dead server fails again).
                if not (attempt == 1 and reused and method == "GET" and _stale(exc)):
                    break
                load.add("retries", path)
        head, latency = (started - load.started, method, path), time.perf_counter() - started
        if resp is None:
            load.add("samples", Sample(*head, None, latency, None, None, _error_kind(error)))
            raise RequestFailed(f"{method} {path}: {error!r}")
        self._store_cookies(resp.msg.get_all("Set-Cookie") or [])
        served_by, cache = resp.getheader("X-Served-By"), resp.getheader("X-Cache")
        lost = as_logged_in and resp.status == 400 and _CSRF_INPUT.search(text) is None
        load.add("samples", Sample(*head, resp.status, latency, served_by, cache, None, lost))
        if lost:
            self._lose_session(served_by)
            return resp, text
        if resp.status not in expect:
            raise RequestFailed(f"{method} {path}: {resp.status}")
        return resp, text

    def _store_cookies(self, lines: list[str]) -> None:
        for line in lines:
            jar = SimpleCookie()
            jar.load(line)
            for name, morsel in jar.items():
                if morsel.value == "" or morsel["max-age"] == "0":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    def log_in(self) -> None:
        self.cookies.pop("sessionid", None)
        _, text = self.request("GET", LOGIN_PATH)
        token = _CSRF_INPUT.search(text)
        form = {"username": self.user.username, "password": self.user.password, "next": ""}
        form["csrfmiddlewaretoken"] = token.group(1) if token else ""
        try:
            resp, _ = self.request("POST", LOGIN_PATH, form, expect=(302,))
        except RequestFailed:
            self.load.add("logins", self.user.username)
            raise
        self.request("GET", urlsplit(resp.getheader("Location", PROFILE_PATH)).path)
        self.logged_in = True

    def _lose_session(self, served_by: str | None) -> None:
        when = time.perf_counter() - self.load.started
        self.load.add("losses", (when, served_by))
        self.logged_in = False

    def check_session(self) -> None:
        resp, _ = self.request("GET", PROFILE_PATH, expect=(200, 302))
        if resp.status == 302 and LOGIN_PATH in resp.getheader("Location", ""):
            self._lose_session(resp.getheader("X-Served-By"))

    def comment(self, post_page: str, served_by: str | None = None) -> None:
        """Comment on the post page just fetched (`served_by` answered it), as a person
        would with the form that page shows."""
        action = _COMMENT_ACTION.search(post_page)
        if action is None:  # comments closed on this post
            return
        token = _CSRF_INPUT.search(post_page)
        if self.logged_in and token is None:
            # The page was rendered for an anonymous visitor (only a logged-in one gets a
            # CSRF token in the comment form): the session is gone. Posting the logged-in
            # form (no name, no email) would be a 400 for the visitor's mistake, not the
            # site's; a person would see the name and email fields and notice instead.
            self._lose_session(served_by)
            return
        self._writes += 1
        marker = f"lg-{self.load.run_id}-{self.index}-{self._writes}"
        form = {"body": marker, "parent": "", "homepage": ""}
        if self.logged_in:
            form["csrfmiddlewaretoken"] = token.group(1)
        else:
            form.update(name=f"Load visitor {self.index}", email=f"lg{self.index}@example.com")
        path = f"/posts/{action.group(1)}/comments/"
        resp, _ = self.request("POST", path, form, expect=(302,), as_logged_in=self.logged_in)
        if resp.status != 302:  # the session was lost on the way: nothing acknowledged
            return
        when = time.perf_counter() - self.load.started
        served_by = resp.getheader("X-Served-By")
        write = Write(marker, int(action.group(1)), self.user.username, when, served_by)
        self.load.add("writes", write)


def browse(visitor: Visitor) -> None:
    """The default scenario: one round of a reader's visit."""
    load, rng = visitor.load, visitor.rng
    if visitor.user.username and not visitor.logged_in:
        visitor.log_in()
    pages = load.page_count
    path = f"/?page={rng.randint(2, pages)}" if pages > 1 and rng.random() < 0.5 else "/"
    _, text = visitor.request("GET", path)
    if path == "/" and (found := _PAGE_COUNT.search(text)):
        load.page_count = int(found.group(1))
    links = _POST_LINK.findall(text)
    if links:
        post_path = rng.choice(links)
        resp, page = visitor.request("GET", post_path)
        if rng.random() < load.comment_ratio:
            visitor.comment(page, resp.getheader("X-Served-By"))
    if visitor.logged_in:
        visitor.check_session()


class Load:
    """Visitors hammering `base_url` for `duration` seconds (or until stopped)."""

    def __init__(
        self,
        base_url: str,
        users: int | list[User] = 10,
        duration: float = 30,
        scenario=browse,
        comment_ratio: float = 0.1,
        think_time: float = 0.0,
        ramp_up: float = 0.0,
        timeout: float = 10.0,
        headers: dict | None = None,
        stop_event: threading.Event | None = None,
    ):
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"an http:// URL is needed, got {base_url!r}")
        self.host, self.port = parts.hostname, parts.port or 80
        self.origin = f"http://{parts.netloc}"
        self.users = [User()] * users if isinstance(users, int) else list(users)
        self.duration, self.scenario, self.comment_ratio = duration, scenario, comment_ratio
        self.think_time, self.timeout, self.headers = think_time, timeout, headers or {}
        self.ramp_up = ramp_up
        self.stop_event = stop_event or threading.Event()
        self.run_id = uuid.uuid4().hex[:10]
        self.page_count = 1
        self.started = self.ended = 0.0
        self.started_wall = 0.0  # time.time() at `started`
        self._lock = threading.Lock()
        self._got: dict[str, list] = {
            k: [] for k in ("samples", "writes", "losses", "logins", "retries")
        }
        self._threads: list[threading.Thread] = []

    def add(self, kind: str, item) -> None:
        with self._lock:
            self._got[kind].append(item)

    def _visit(self, index: int, user: User) -> None:
        visitor = Visitor(self, user, index)
        deadline = self.started + self.duration
        # Visitors arrive over `ramp_up` seconds, as people do, not in one instant.
        self.stop_event.wait(self.ramp_up * index / len(self.users))
        try:
            while not self.stop_event.is_set() and time.perf_counter() < deadline:
                try:
                    self.scenario(visitor)
                except RequestFailed:
                    self.stop_event.wait(0.05)  # recorded already; don't spin on a dead server
                if self.think_time:
                    self.stop_event.wait(visitor.rng.uniform(0, 2 * self.think_time))
        finally:
            visitor.close()

    def start(self) -> Load:
        self.started, self.started_wall = time.perf_counter(), time.time()
        for index, user in enumerate(self.users):
            thread = threading.Thread(
                target=self._visit, args=(index, user), daemon=True, name=f"loadgen-{index}"
            )
            thread.start()
            self._threads.append(thread)
        return self

    def clock(self, wall_time: float) -> float:
        """A moment another process reported as Unix time, on this run's clock (`Sample.t`)."""
        return wall_time - self.started_wall

    def report(self) -> Report:
        """The figures so far; callable while the run goes on."""
        with self._lock:
            elapsed = (self.ended or time.perf_counter()) - self.started
            got = {kind: list(items) for kind, items in self._got.items()}
        return Report(
            got["samples"],
            got["writes"],
            got["losses"],
            len(got["logins"]),
            len(got["retries"]),
            elapsed,
        )

    def join(self, timeout: float | None = None) -> Report:
        """Wait for the run to end by itself (its duration), then report."""
        end = time.perf_counter() + (timeout if timeout is not None else self.duration + 60)
        for thread in self._threads:
            thread.join(max(0.0, end - time.perf_counter()))
        self.ended = self.ended or time.perf_counter()
        return self.report()

    def stop(self) -> Report:
        self.stop_event.set()
        return self.join(self.timeout + 5)

    def run(self) -> Report:
        return self.start().join()
