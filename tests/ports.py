"""A loopback port for the tests that start a server of their own (an sshd, an nginx, a second edge)."""

from __future__ import annotations

import socket


def free_port() -> int:
    """A port nothing listens on: the OS hands out a free one and it is closed again at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port
