"""Facts about a host's edge: the settings its host deploy recorded, its process, its pod table."""

from __future__ import annotations

import shlex
from dataclasses import dataclass

from pyinfra.api import FactBase

from pinacle.edge.settings import (
    EDGE_AUTH_PID,
    EDGE_PID,
    EDGE_POD_CERT_DIR,
    EDGE_PODS_CONF,
    EDGE_STATE,
    EDGE_STATE_DIR,
    EdgeSettings,
)


class EdgeState(FactBase[EdgeSettings | None]):
    """The edge settings the host deploy wrote (``EDGE_STATE``), or None: no edge on this host."""

    def command(self) -> str:
        path = shlex.quote(EDGE_STATE)
        return f"if [ -f {path} ]; then cat {path}; else echo absent; fi"

    def process(self, output: list[str]) -> EdgeSettings | None:
        text = "\n".join(output)
        return None if text.strip() in ("", "absent") else EdgeSettings.from_json(text)


def _edge_running() -> str:
    pid = shlex.quote(EDGE_PID)
    return f'[ -s {pid} ] && kill -0 "$(cat {pid})" 2>/dev/null'


class EdgeRunning(FactBase[bool]):
    """Whether the edge's nginx master (its pid file's process) is alive."""

    def command(self) -> str:
        return f"{_edge_running()} && echo yes || echo no"

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1].strip() == "yes"


class EdgeAuthRunning(FactBase[bool]):
    """Whether the credential daemon the host deploy started (its pid file's process) is alive."""

    def command(self) -> str:
        pid = shlex.quote(EDGE_AUTH_PID)
        return f'[ -s {pid} ] && kill -0 "$(cat {pid})" 2>/dev/null && echo yes || echo no'

    def process(self, output: list[str]) -> bool:
        return bool(output) and output[-1].strip() == "yes"


@dataclass(frozen=True)
class EdgeTableState:
    """The pod table on the host: its SHA-512 (None: absent), the pod certificates issued, the pods
    with a secret, whether the edge runs."""

    sha512: str | None
    certificates: frozenset[str]
    secrets: frozenset[str]
    running: bool


class EdgeTable(FactBase[EdgeTableState]):
    """What :func:`pinacle.operations.edge.edge_table` compares against, in one command."""

    def command(self) -> str:
        table, certs = shlex.quote(EDGE_PODS_CONF), shlex.quote(EDGE_POD_CERT_DIR)
        secrets = shlex.quote(f"{EDGE_STATE_DIR}/secrets")
        return (
            f"if [ -f {table} ]; then echo table $(sha512sum < {table}); else echo table absent; fi; "
            f'for c in {certs}/*.crt; do [ -f "$c" ] && echo cert "$(basename "$c" .crt)"; done; '
            f'for s in {secrets}/*; do [ -f "$s" ] && echo secret "$(basename "$s")"; done; '
            f"{_edge_running()} && echo running yes || echo running no"
        )

    def process(self, output: list[str]) -> EdgeTableState:
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
