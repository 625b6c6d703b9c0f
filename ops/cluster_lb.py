"""haproxy, the local cluster's load balancer, and its admin socket.

Round robin without stickiness (any instance serves any request), active HTTP checks
of /healthz that notice a crashed instance in under a second, and retries that hide
the crash from GET requests. `X-Served-By` names the instance that answered.

With an edge cache (`--edge-cache SECONDS`), haproxy keeps the anonymous pages the
application marks `s-maxage` in memory and answers them itself (`X-Served-By: edge`),
as a CDN or nginx's proxy cache would in front of production: never for a request
that carries a cookie or credentials, and never for longer than the application said.
"""

from __future__ import annotations

import csv
import io
import socket
from pathlib import Path

BACKEND = "web"


class HaproxyError(Exception):
    pass


EDGE_CACHE = "pages"


def _edge_cache(seconds: int) -> tuple[str, str]:
    """The cache section and the backend rules for an edge cache of `seconds` (0: none)."""
    if seconds <= 0:
        return "", ""
    section = f"""
cache {EDGE_CACHE}
    total-max-size 64
    max-object-size 1048576
    # A cap: the application's s-maxage decides, and only what carries one is stored.
    max-age {seconds}
"""
    rules = f"""\
    # A visitor with any cookie (a session, a read-your-writes pin, a message) or
    # credentials always reaches an instance.
    acl has_cookie req.hdr(cookie) -m found
    acl has_credentials req.hdr(authorization) -m found
    http-request cache-use {EDGE_CACHE} if METH_GET !has_cookie !has_credentials
    acl edge_offered res.hdr(cache-control) -m sub s-maxage=
    # haproxy stores nothing that varies on Cookie; only cookie-less requests are ever
    # answered from this cache, so the one variant it keeps is the right one for them.
    http-response del-header Vary if edge_offered {{ res.fhdr(vary) -m str Cookie }}
    # haproxy would store a response that sets a cookie: never share one.
    http-response cache-store {EDGE_CACHE} if edge_offered !{{ res.hdr(set-cookie) -m found }}
    http-after-response set-header X-Served-By edge if {{ res.cache_hit }}
    http-after-response set-header X-Cache EDGE if {{ res.cache_hit }}
    http-after-response set-header X-Request-Id %[uuid] if {{ res.cache_hit }}
"""
    return section, rules


def render_cfg(
    *,
    host: str,
    port: int,
    admin_socket: Path,
    servers: dict[str, int],
    edge_cache_seconds: int = 0,
) -> str:
    server_lines = "\n".join(f"    server {name} {host}:{p}" for name, p in servers.items())
    cache_section, cache_rules = _edge_cache(edge_cache_seconds)
    return f"""\
# Written by `python -m ops cluster` on every start of haproxy; edits are lost.
global
    log stdout format raw local0 info
    stats socket {admin_socket} mode 600 level admin
    stats timeout 10s
    maxconn 2000

defaults
    mode http
    log global
    option httplog
    option dontlognull
    # gunicorn trusts X-Forwarded-For from 127.0.0.1 (TRUSTED_PROXY_COUNT=1).
    option forwardfor
    timeout connect 1s
    timeout client 60s
    timeout server 60s
    timeout http-request 10s
    timeout http-keep-alive 10s
    timeout check 500ms
    # A refused connection (a crashed instance) is retried on another server.
    retries 3
    option redispatch 1
    retry-on all-retryable-errors
{cache_section}
frontend www
    bind {host}:{port}
    # Resending a POST could apply it twice: only connection failures are retried for it.
    http-request disable-l7-retry if !METH_GET
    # When every check fails at once, the instances are far more likely overloaded (a
    # burst of logins keeps each thread hashing passwords past the 500 ms check timeout)
    # than all dead: like an ALB, fail open and send to every instance rather than
    # answer 503 to everyone. A dead one refuses the connection and is retried.
    use_backend {BACKEND}-all if {{ nbsrv({BACKEND}) eq 0 }}
    default_backend {BACKEND}

backend {BACKEND}
    balance roundrobin
    option httpchk
    # /healthz answers only for a Host in DJANGO_ALLOWED_HOSTS.
    http-check send meth GET uri /healthz ver HTTP/1.1 hdr Host {host}
    http-check expect status 200
    default-server check inter 500ms fastinter 200ms downinter 500ms fall 2 rise 2
    http-response set-header X-Served-By %s
{cache_rules}{server_lines}

backend {BACKEND}-all
    balance roundrobin
    http-response set-header X-Served-By %s
{server_lines}
"""


def admin(admin_socket: Path, command: str, *, timeout: float = 2.0) -> str:
    """One command on haproxy's admin socket; its whole answer."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(timeout)
        conn.connect(str(admin_socket))
        conn.sendall(command.encode() + b"\n")
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode(errors="replace")


def server_stats(admin_socket: Path) -> dict[str, dict[str, str]]:
    """`show stat` for the web backend's servers: name -> row (status, check_status, scur...)."""
    text = admin(admin_socket, "show stat").lstrip("# ")
    rows = csv.DictReader(io.StringIO(text))
    servers = {
        row["svname"]: row
        for row in rows
        if row.get("pxname") == BACKEND and row.get("svname") not in {"FRONTEND", "BACKEND"}
    }
    for row in servers.values():
        # "* L7OK": the last check passed and the next one is running right now.
        row["check_status"] = row.get("check_status", "").removeprefix("* ")
    return servers


def is_serving(row: dict[str, str] | None) -> bool:
    # haproxy marks servers UP at start before any check ran: insist on a passed check.
    return bool(row) and row["status"] == "UP" and row["check_status"] == "L7OK"


def set_server_state(admin_socket: Path, server: str, state: str) -> None:
    answer = admin(admin_socket, f"set server {BACKEND}/{server} state {state}").strip()
    if answer:
        raise HaproxyError(f"haproxy refused to set {server} {state}: {answer}")
