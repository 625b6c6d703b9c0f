"""Download an attachment from the old site (`--fetch-media`), carefully.

A WXR file names URLs that anyone could have written, so a download must not become a way
into the network the importer runs in:
- http and https only, at most MAX_REDIRECTS redirects, each followed by hand;
- every hop's host is resolved once and the connection goes to the address that was
  checked (no second lookup for DNS rebinding to slip through); an address that is not
  global (private, loopback, link-local such as the instance metadata service, reserved)
  is refused before any connection is made, except the old site itself (its scheme, host
  and port), which may well live on a private network;
- a size limit (Content-Length first, then counted while reading) and a timeout for each
  read and for the whole download.
"""

from __future__ import annotations

import http.client
import ipaddress
import socket
import ssl
import time
from urllib.parse import urljoin, urlsplit

from django.core.exceptions import ValidationError

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024


class FetchRefused(ValidationError):
    """The file could not be had; the message says why."""


def _origin(url: str) -> tuple[str, str, int]:
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return parts.scheme, (parts.hostname or "").lower(), port


def _address(host: str, port: int, *, trusted: bool) -> str:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise FetchRefused(f"{host}: the name does not resolve ({exc.strerror})") from None
    for info in infos:
        address = info[4][0]
        ip = ipaddress.ip_address(address.split("%")[0])
        if trusted or ip.is_global:
            return address
    raise FetchRefused(f"{host} is a private or loopback address: refused")


class _PinnedHTTP(http.client.HTTPConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((self._address, self.port), self.timeout)


class _PinnedHTTPS(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        sock = socket.create_connection((self._address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def _get(url: str, *, trusted: tuple[str, str, int] | None, timeout: float):
    scheme, host, port = _origin(url)
    if scheme not in ("http", "https") or not host:
        raise FetchRefused(f"{url[:200]}: only http and https URLs are fetched")
    address = _address(host, port, trusted=(scheme, host, port) == trusted)
    connection_class = _PinnedHTTPS if scheme == "https" else _PinnedHTTP
    connection = connection_class(host, port, address, timeout)
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request("GET", target, headers={"User-Agent": "cloudblog-importer/1"})
        return connection, connection.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise FetchRefused(f"{url[:200]}: {exc or type(exc).__name__}") from None


def fetch(url: str, *, max_bytes: int, timeout: float = 10.0, site_url: str = "") -> bytes:
    """The body of `url`, or FetchRefused with the reason."""
    trusted = _origin(site_url) if site_url else None
    deadline = time.monotonic() + timeout * 3
    for _ in range(MAX_REDIRECTS + 1):
        connection, response = _get(url, trusted=trusted, timeout=timeout)
        try:
            if response.status in (301, 302, 303, 307, 308):
                location = response.getheader("Location", "")
                if not location:
                    raise FetchRefused(f"{url[:200]}: a redirect with nowhere to go")
                url = urljoin(url, location)
                continue
            if response.status != 200:
                raise FetchRefused(f"{url[:200]}: HTTP {response.status}")
            length = response.getheader("Content-Length", "")
            if length.isdigit() and int(length) > max_bytes:
                raise FetchRefused(f"{url[:200]}: {int(length) / 1e6:.1f} MB is over the limit")
            chunks, size = [], 0
            while chunk := response.read(_CHUNK):
                size += len(chunk)
                if size > max_bytes:
                    raise FetchRefused(f"{url[:200]}: larger than {max_bytes / 1e6:g} MB")
                if time.monotonic() > deadline:
                    raise FetchRefused(f"{url[:200]}: took longer than {timeout * 3:g}s")
                chunks.append(chunk)
            return b"".join(chunks)
        except (OSError, http.client.HTTPException) as exc:
            raise FetchRefused(f"{url[:200]}: {exc or type(exc).__name__}") from None
        finally:
            connection.close()
    raise FetchRefused(f"{url[:200]}: more than {MAX_REDIRECTS} redirects")
