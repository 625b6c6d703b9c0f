"""Process hooks for the server that runs the app: the documented entry point for gunicorn.

config/gunicorn.conf.py names `worker.lifecycle:process_exit` as a string and calls it
from gunicorn's `worker_exit`, so the server's configuration imports no app (and no
Django) when gunicorn starts. Nothing here imports Django at import time either.
"""

from __future__ import annotations


def process_exit() -> None:
    """A server process is about to exit: let the outbox sender send what it holds.

    Only when the app was loaded in this process: a worker that failed to boot has
    nothing to drain, and importing the models then would fail.
    """
    from django.apps import apps

    if not apps.ready:
        return
    from worker.outbox import drain

    drain()
