"""Loopback ports for tests that start servers, or need one that nothing answers on."""

from __future__ import annotations

import socket


def unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now (the kernel's pick)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
