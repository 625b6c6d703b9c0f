"""What every AWS command shares: clients, the dry-run ledger, errors, tags, waiting, output.

The rules of the snapshot/restore helpers live here so that no command can forget them:
every call that changes something goes through `Session.act` (recorded, and only printed
under --dry-run), every wait has a deadline and shows progress, every resource made is
tagged the same way, and the outcome maps onto an exit code a script can test.
"""

from __future__ import annotations

import json
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

import awsenv

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_REFUSED = 3
EXIT_TIMED_OUT = 4
EXIT_VERIFY_FAILED = 5

EXIT_CODES_HELP = """exit codes:
  0  done, and the result verified
  1  AWS or other error
  2  bad usage
  3  refused: target exists, source missing or unsafe request; nothing was changed
  4  timed out waiting: what was started goes on, its ids are printed
  5  made, but verification failed"""


class OpsError(Exception):
    exit_code = EXIT_ERROR


class Refused(OpsError):
    """The request is unsafe or impossible; checked before anything was changed."""

    exit_code = EXIT_REFUSED


class TimedOut(OpsError):
    exit_code = EXIT_TIMED_OUT


class VerificationFailed(OpsError):
    exit_code = EXIT_VERIFY_FAILED


def utcnow() -> datetime:
    return datetime.now(UTC)


def stamp(moment: datetime) -> str:
    """A timestamp that is legal in every AWS identifier (letters, digits, hyphens)."""
    return moment.strftime("%Y%m%d-%H%M%S")


def error_code(exc: ClientError) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def _elapsed(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """Status and elapsed time while waiting: one rewritten line on a terminal, else lines.

    It always writes to stderr, so `--json` leaves stdout to the result alone.
    """

    # Without a terminal, repeat an unchanged status this often so a log shows life.
    HEARTBEAT_SECONDS = 30.0

    def __init__(self, stream: IO[str] | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.live = self.stream.isatty()
        self._last: tuple[str, str] | None = None
        self._last_at = 0.0

    def say(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def update(self, label: str, status: str, elapsed: float) -> None:
        line = f"waiting for {label}: {status} ({_elapsed(elapsed)})"
        if self.live:
            self.stream.write("\r\x1b[2K" + line)
            self.stream.flush()
            return
        if (label, status) != self._last or elapsed - self._last_at >= self.HEARTBEAT_SECONDS:
            self.say(line)
            self._last, self._last_at = (label, status), elapsed

    def done(self, label: str, status: str, elapsed: float) -> None:
        if self.live:
            self.stream.write("\r\x1b[2K")
        self.say(f"{label}: {status} after {_elapsed(elapsed)}")
        self._last = None


class Session:
    """Lazily made boto3 clients plus the ledger of changing calls for one command.

    Reads (describe/list/get) always run, also under --dry-run: the refusals and lookups
    must be real for the printed plan to be the exact one. Changes go through `act`.
    """

    def __init__(
        self,
        *,
        dry_run: bool = False,
        ticket: str | None = None,
        region: str | None = None,
        progress: Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        poll_seconds: float = 10.0,
        clients: dict[str, Any] | None = None,
    ) -> None:
        self.dry_run = dry_run
        self.ticket = ticket
        self.region = awsenv.region(region)
        self.progress = progress or Progress()
        self.clock = clock
        self.sleep = sleep
        self.poll_seconds = poll_seconds
        self.started = utcnow()
        self.calls: list[dict[str, Any]] = []
        # Prepared clients (e.g. with a botocore Stubber) take the place of made ones.
        self._clients: dict[str, Any] = dict(clients or {})
        self._secrets: set[str] = set()

    def secret(self, value: str) -> None:
        """Never print this value: calls are shown and recorded with it masked."""
        if value:
            self._secrets.add(value)

    def _masked(self, params: dict[str, Any]) -> dict[str, Any]:
        # Uploaded bodies (a template) are shown by size, not spelled out.
        params = {k: f"<{len(v)} bytes>" if isinstance(v, bytes) else v for k, v in params.items()}
        text = json.dumps(params, sort_keys=True, default=str)
        for value in sorted(self._secrets, key=len, reverse=True):
            text = text.replace(json.dumps(value)[1:-1], "****")
        return json.loads(text)

    def client(self, service: str) -> Any:
        if service not in self._clients:
            options = awsenv.client_options(region_name=self.region)
            self._clients[service] = boto3.client(service, **options)
        return self._clients[service]

    def read(self, service: str, operation: str, **params: Any) -> dict[str, Any]:
        assert operation.startswith(("describe_", "list_", "get_")), operation
        return getattr(self.client(service), operation)(**params)

    def act(self, service: str, operation: str, **params: Any) -> dict[str, Any] | None:
        """Make one changing call, or under --dry-run only record and print it."""
        shown = self._masked(params)
        self.calls.append({"service": service, "operation": operation, "params": shown})
        rendered = f"{service}.{operation}({json.dumps(shown, sort_keys=True)})"
        if self.dry_run:
            self.progress.say(f"dry run, would call: {rendered}")
            return None
        self.progress.say(f"calling {rendered}")
        return getattr(self.client(service), operation)(**params)

    def say(self, message: str) -> None:
        self.progress.say(message)

    def tags(self, source: str, **extra: str) -> list[dict[str, str]]:
        """The tags on everything a command makes: where it came from, when, and why."""
        values = {
            "restored-from": source,
            "restored-at": self.started.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "made-by": "cloudblog-ops",
            **extra,
        }
        if self.ticket:
            values["ticket"] = self.ticket
        return [{"Key": key, "Value": value} for key, value in values.items()]

    def wait_for(
        self,
        label: str,
        probe: Callable[[], str | None],
        *,
        ready: Collection[str],
        failed: Collection[str] = (),
        timeout: float,
    ) -> str:
        """Poll `probe` (a status, None while not visible yet) until ready, failed or late."""
        if self.dry_run:
            self.progress.say(f"dry run, would wait up to {timeout:g}s for {label}")
            return "dry-run"
        start = self.clock()
        # Short timeouts poll faster, so a 1-second test timeout still sees several polls.
        interval = min(self.poll_seconds, max(0.01, timeout / 20))
        while True:
            status = probe() or "not visible yet"
            elapsed = self.clock() - start
            if status in ready:
                self.progress.done(label, status, elapsed)
                return status
            if status in failed:
                self.progress.done(label, status, elapsed)
                raise OpsError(f"{label} is {status}")
            if elapsed >= timeout:
                self.progress.done(label, f"still {status}", elapsed)
                raise TimedOut(f"gave up waiting for {label} after {timeout:g}s (status {status})")
            self.progress.update(label, status, elapsed)
            self.sleep(interval)


def usable_kms_key(session: Session, key: str) -> str:
    """The ARN of `key` (an id, ARN or alias) when it can encrypt a restore, else Refused.

    A disabled key or a typo would otherwise surface only after the restore was started,
    as a resource stuck in `inaccessible-encryption-credentials`.
    """
    try:
        found = session.read("kms", "describe_key", KeyId=key)["KeyMetadata"]
    except ClientError as exc:
        if error_code(exc) in ("NotFoundException", "InvalidArnException"):
            raise Refused(f"--kms-key {key}: no such KMS key in this account and region") from None
        raise
    if found.get("KeyState") != "Enabled":
        raise Refused(f"--kms-key {key} is {found.get('KeyState')}: it cannot encrypt anything")
    return found["Arn"]


@contextmanager
def reporting(result: dict[str, Any]) -> Iterator[dict[str, Any]]:
    """Whatever fails half-way still reports what was already made (ids to clean up)."""
    try:
        yield result
    except OpsError as exc:
        exc.result = result  # type: ignore[attr-defined]
        raise
    except ClientError as exc:
        error = OpsError(f"AWS said {error_code(exc)}: {exc}")
        error.result = result  # type: ignore[attr-defined]
        raise error from exc


def check_ready(url: str, *, timeout: float = 10.0) -> str:
    """GET the application's /readyz (appended when the URL has another path)."""
    if not url.startswith(("http://", "https://")):
        raise Refused(f"--check-url must be an http(s) URL, got {url!r}")
    if not url.rstrip("/").endswith("/readyz"):
        url = url.rstrip("/") + "/readyz"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (checked above)
            return f"{url} answered {response.status}"
    except urllib.error.HTTPError as exc:
        raise VerificationFailed(f"{url} answered {exc.code}: the site is not ready") from None
    except (urllib.error.URLError, OSError) as exc:
        raise VerificationFailed(f"{url} could not be reached: {exc}") from None


def emit(result: dict[str, Any], *, as_json: bool, stream: IO[str] | None = None) -> None:
    """The command's result on stdout: JSON for scripts, `key: value` lines for people."""
    stream = stream if stream is not None else sys.stdout
    if as_json:
        print(json.dumps(result, indent=2, sort_keys=True, default=str), file=stream)
        return
    for key, value in result.items():
        if key == "calls":
            continue
        if isinstance(value, list | dict):
            value = json.dumps(value, default=str)
        print(f"{key}: {value}", file=stream)


def run_command(
    action: Callable[[Session], dict[str, Any]], *, session: Session, as_json: bool
) -> int:
    """Run one command, print its result or its error, and return the exit code."""
    try:
        result = action(session)
        status, code, message = "ok", EXIT_OK, None
    except OpsError as exc:
        result = getattr(exc, "result", None) or {}
        status, code, message = type(exc).__name__.lower(), exc.exit_code, str(exc)
    except ClientError as exc:
        result, status, code = {}, "aws-error", EXIT_ERROR
        message = f"AWS said {error_code(exc)}: {exc}"
    except BotoCoreError as exc:
        result, status, code, message = {}, "aws-error", EXIT_ERROR, str(exc)
    except KeyboardInterrupt:
        # Whatever was started keeps going in AWS: the ledger below says what that was.
        result, status, code, message = {}, "interrupted", 130, "interrupted"
    result = {"status": status, **result}
    if message:
        result["error"] = message
    if session.dry_run:
        result["dry_run"] = True
    result["calls"] = session.calls
    emit(result, as_json=as_json)
    if message:
        session.say(f"{status}: {message}")
    return code
