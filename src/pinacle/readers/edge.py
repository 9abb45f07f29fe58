"""Reads of a host's edge: the settings its host deploy recorded, its processes, its pod table.

Pure: no pyinfra import (``pinacle.facts.edge`` wraps these as pyinfra facts).
"""

from __future__ import annotations

import base64
import binascii
import shlex
from collections.abc import Sequence

from pinacle.edge.commands import EdgeTableState
from pinacle.edge.fleet import FleetTableState
from pinacle.edge.settings import (
    EDGE_AUTH_PID,
    EDGE_CA_CERT,
    EDGE_FLEET_CONF,
    EDGE_FLEET_TRUST,
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


def _sha_line(key: str, path: str) -> str:
    quoted = shlex.quote(path)
    return f"if [ -f {quoted} ]; then echo {key} $(sha512sum < {quoted}); else echo {key} absent; fi; "


_CA = shlex.quote(EDGE_CA_CERT)
FLEET_TABLE_COMMAND = (
    _sha_line("table", EDGE_FLEET_CONF)
    + _sha_line("trust", EDGE_FLEET_TRUST)
    + f'for c in {shlex.quote(EDGE_POD_CERT_DIR)}/*.crt; do [ -f "$c" ] && echo cert "$(basename "$c" .crt)"; done; '
    # One line: the PEM of the host's local CA (public; peers verify this edge against it).
    + f"[ ! -f {_CA} ] || echo ca $(base64 < {_CA} | tr -d '\\n'); "
    + f"{alive_command(EDGE_PID)} && echo running yes || echo running no"
)


def parse_fleet_table(output: Sequence[str]) -> FleetTableState:
    digests: dict[str, str | None] = {"table": None, "trust": None}
    certs: set[str] = set()
    ca: str | None = None
    running = False
    for line in output:
        key, _, value = line.strip().partition(" ")
        if key in digests:
            digest = value.split()[0] if value else "absent"
            digests[key] = None if digest == "absent" else digest
        elif key == "cert":
            certs.add(value)
        elif key == "ca":
            try:
                ca = base64.b64decode(value, validate=True).decode("ascii")
            except (binascii.Error, UnicodeDecodeError):
                ca = None  # no certificate a hop could verify against: no peer forwards to this edge
        elif key == "running":
            running = value == "yes"
    return FleetTableState(digests["table"], digests["trust"], frozenset(certs), running, ca)


def fleet_table() -> Read[FleetTableState]:
    """The fleet table's and its trust file's SHA-512, the pod certificates, whether the edge runs,
    its local CA's certificate."""
    return Read(FLEET_TABLE_COMMAND, parse_fleet_table, lambda: FleetTableState(None, None, frozenset(), False))
