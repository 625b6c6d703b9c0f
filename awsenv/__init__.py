"""Where boto3 clients point: the one place that reads the AWS endpoint and region.

Plain Python, imports nothing of ours, so the Django apps, `media_store`, `ops` and the
boot-time `userdata` all use it. Values come from the environment as the AWS tools read
them: `AWS_ENDPOINT_URL` (tests point it at moto on 127.0.0.1; unset in production) and
`AWS_REGION`, else `AWS_DEFAULT_REGION` (user-data writes both from IMDS). Read at each
call, not at import, so a test or a command that sets them first is obeyed.
"""

from __future__ import annotations

import os
import threading
from typing import Any

_clients: dict[tuple, Any] = {}
_lock = threading.Lock()


def endpoint_url() -> str | None:
    return os.environ.get("AWS_ENDPOINT_URL") or None


def region(default: str | None = None) -> str | None:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or default


def client_options(*, region_name: str | None = None) -> dict[str, str | None]:
    """Keyword arguments for `boto3.client(service, ...)`: endpoint and region."""
    return {"endpoint_url": endpoint_url(), "region_name": region_name or region()}


def client(service: str, **config: Any):
    """This process's boto3 client for `service`, made once per endpoint and region.

    boto3 clients are thread-safe to use but slow (tens of ms) and not thread-safe to
    make. `config` are botocore Config options (timeouts, retries), part of the key.
    """
    import boto3
    from botocore.config import Config

    options = client_options()
    key = (service, options["endpoint_url"], options["region_name"], repr(sorted(config.items())))
    made = _clients.get(key)
    if made is None:
        with _lock:
            made = _clients.get(key)
            if made is None:
                made = _clients[key] = boto3.client(service, config=Config(**config), **options)
    return made
