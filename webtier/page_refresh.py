"""Write-through: render pages into the page cache after a change, off the request.

After a publish, an edit, a trash or a moderated comment every cached page is stale
(webtier/page_cache.py); the app's task (blog/tasks.py `refresh_pages`) names the pages
that change and calls `refresh_pages` here, which renders each one as an anonymous GET
through the site's own middleware and keeps it, whole and cut at its holes, so the first
reader after the change finds it in the cache. Such a request reads from the writer and
carries a mark in its WSGI environ (no client can send one) that tells the page cache
to render and store whatever it holds; the store is versioned, so a render that started
earlier (a reader's, or an older refresh) never replaces this one, nor this one a later.

The pages are rendered for every address the site is read at (`page_cache.origins()`:
SITE_URL, else the few lately seen), since the host is part of the cache key.
"""

from __future__ import annotations

import io
import logging
import sys
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes, urlsplit

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest

from webtier import page_cache
from webtier.routing import WRITER_ONLY_ENVIRON

logger = logging.getLogger(__name__)

_handler: WSGIHandler | None = None


def _get_handler() -> WSGIHandler:
    global _handler
    if _handler is None:
        _handler = WSGIHandler()  # the middleware chain, loaded once per process
    return _handler


def _environ(origin: str, path: str) -> dict:
    site = urlsplit(origin)
    path, _, query = path.partition("?")
    secure = site.scheme == "https"
    environ = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        # WSGI's convention: the path decoded, as latin-1 text of its UTF-8 bytes.
        "PATH_INFO": unquote_to_bytes(path).decode("iso-8859-1"),
        "QUERY_STRING": query,
        "SERVER_NAME": site.hostname or "localhost",
        "SERVER_PORT": str(site.port or (443 if secure else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": site.netloc,
        "REMOTE_ADDR": "127.0.0.1",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": site.scheme,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
        page_cache.REFRESH_ENVIRON: True,
        WRITER_ONLY_ENVIRON: True,
    }
    if settings.SECURE_PROXY_SSL_HEADER:  # behind the load balancer: say what it would
        header, https = settings.SECURE_PROXY_SSL_HEADER
        environ[header] = https if secure else "http"
    return environ


def refresh_pages(paths: Iterable[str]) -> dict[str, int]:
    """Render `paths` into the page cache for each address the site is read at.

    Answers the status of each page by its URL. Nothing happens with the page cache or its
    write-through off, or before any reader came (no address to render for, and nothing
    cached to keep warm).
    """
    if not page_cache.write_through():
        return {}
    statuses = {}
    handler = _get_handler()
    for origin in page_cache.origins():
        for path in dict.fromkeys(paths):
            response = handler.get_response(WSGIRequest(_environ(origin, path)))
            statuses[origin + path] = response.status_code
            if response.status_code >= 500:
                logger.warning("write-through of %s%s answered %s", origin, path,
                               response.status_code)  # fmt: skip
    return statuses
