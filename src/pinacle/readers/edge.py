"""Reads of a host's edge: the settings its host deploy recorded, its processes, its pod table.

Pure: no pyinfra import (``pinacle.facts.edge`` wraps these as pyinfra facts).
"""

from __future__ import annotations

import shlex
from collections.abc import Sequence

from pinacle.edge.commands import EdgeTableState
from pinacle.edge.settings import (
    EDGE_AUTH_PID,
    EDGE_PID,
    EDGE_POD_CERT_DIR,
    EDGE_PODS_CONF,
    EDGE_STATE,
    EDGE_STATE_DIR,
    EdgeSettings,
)
from pinacle.readers import Read

EDGE_STATE_COMMAND = f"if [ -f {shlex.quote(EDGE_STATE)} ]; then cat {shlex.quote(EDGE_STATE)}; else echo absent; fi"


def parse_edge_state(output: Sequence[str]) -> EdgeSettings | None:
    text = "\n".join(output)
    return None if text.strip() in ("", "absent") else EdgeSettings.from_json(text)


def edge_state() -> Read[EdgeSettings | None]:
    """The edge settings the host deploy wrote (``EDGE_STATE``), or None: no edge on this host."""
    return Read(EDGE_STATE_COMMAND, parse_edge_state, lambda: None)


def alive_command(pid_file: str) -> str:
    pid = shlex.quote(pid_file)
    return f'[ -s {pid} ] && kill -0 "$(cat {pid})" 2>/dev/null'


def running_command(pid_file: str) -> str:
    return f"{alive_command(pid_file)} && echo yes || echo no"


def parse_running(output: Sequence[str]) -> bool:
    return bool(output) and output[-1].strip() == "yes"


def edge_running() -> Read[bool]:
    """Whether the edge's nginx master (its pid file's process) is alive."""
    return Read(running_command(EDGE_PID), parse_running, lambda: False)


def edge_auth_running() -> Read[bool]:
    """Whether the credential daemon the host deploy started (its pid file's process) is alive."""
    return Read(running_command(EDGE_AUTH_PID), parse_running, lambda: False)


EDGE_TABLE_COMMAND = (
    f"if [ -f {shlex.quote(EDGE_PODS_CONF)} ]; then echo table $(sha512sum < {shlex.quote(EDGE_PODS_CONF)}); "
    "else echo table absent; fi; "
    f'for c in {shlex.quote(EDGE_POD_CERT_DIR)}/*.crt; do [ -f "$c" ] && echo cert "$(basename "$c" .crt)"; done; '
    f'for s in {shlex.quote(EDGE_STATE_DIR + "/secrets")}/*; do [ -f "$s" ] && echo secret "$(basename "$s")"; done; '
    f"{alive_command(EDGE_PID)} && echo running yes || echo running no"
)


def parse_edge_table(output: Sequence[str]) -> EdgeTableState:
    sha: str | None = None
    certs: set[str] = set()
    secrets: set[str] = set()
    running = False
    for line in output:
        key, _, value = line.strip().partition(" ")
        if key == "table":
            digest = value.split()[0] if value else "absent"
            sha = None if digest == "absent" else digest
        elif key == "cert":
            certs.add(value)
        elif key == "secret":
            secrets.add(value)
        elif key == "running":
            running = value == "yes"
    return EdgeTableState(sha, frozenset(certs), frozenset(secrets), running)


def edge_table() -> Read[EdgeTableState]:
    """The pod table's SHA-512, the certificates and secrets pods have, whether the edge runs."""
    return Read(EDGE_TABLE_COMMAND, parse_edge_table, lambda: EdgeTableState(None, frozenset(), frozenset(), False))
