"""The commands that bring a host's pod table to what its pods are: pure, from reads made before.

The operation ``pinacle.operations.edge.edge_table_refreshed`` yields them in pyinfra deploys, and
the ``@local`` rollout (``pinacle.executor.roll_out_pods``) runs the same ones directly.
"""

from __future__ import annotations

import hashlib
import shlex
from collections.abc import Sequence
from dataclasses import dataclass

from pinacle.edge.config import render_edge_table
from pinacle.edge.settings import (
    EDGE_AUTH_SCRIPT,
    EDGE_CONF,
    EDGE_DIR,
    EDGE_PODS_CONF,
    EDGE_RELOAD_SCRIPT,
    EDGE_TLS_SCRIPT,
    EdgeSettings,
)
from pinacle.edge.table import edge_pods
from pinacle.operations._shell import fail, write_file_command
from pinacle.pod.observed import HostPods

_CONF = shlex.quote(EDGE_CONF)
TEST_EDGE = f"nginx -t -q -c {_CONF}"
# Waits until the new config serves: a route just taken away or added is so when the command returns.
RELOAD_EDGE = shlex.quote(EDGE_RELOAD_SCRIPT)


@dataclass(frozen=True)
class EdgeTableState:
    """The pod table on the host: its SHA-512 (None: absent), the pod certificates issued, the pods
    with a secret, whether the edge runs (fact ``pinacle.facts.edge.EdgeTable``)."""

    sha512: str | None
    certificates: frozenset[str]
    secrets: frozenset[str]
    running: bool


def sha512(text: str) -> str:
    return hashlib.sha512(text.encode()).hexdigest()


def edge_dir_command() -> str:
    return f"mkdir -p -m 0700 {EDGE_DIR} && chmod 0700 {EDGE_DIR}"


def replace_table_command(path: str, table: str, what: str) -> str:
    """Write ``table`` to ``path``, root-only; if nginx then refuses its config, put the previous
    file back and fail (a reload never serves a broken table)."""
    table_path = shlex.quote(path)
    previous = shlex.quote(path + ".prev")
    refused = fail(f"nginx refused the new {what} (see above); the previous one is back in place")
    return (
        f"{edge_dir_command()} && {{ [ ! -f {table_path} ] || cp -p {table_path} {previous}; }} && "
        + write_file_command(path, table, mode="0600")
        + f" && if ! {TEST_EDGE}; then {{ [ ! -f {previous} ] || mv -f {previous} {table_path}; }}; {refused}; fi"
        + f"; rm -f {previous}"
    )


def table_commands(
    table: str, current: EdgeTableState, certificates: Sequence[str] = (), secrets: Sequence[str] = ()
) -> list[str]:
    """Issue missing certificates, make missing secrets, write a changed table (rolled back if nginx
    refuses it) and reload a running edge, only for what differs; [] when nothing does."""
    missing = sorted(set(certificates) - current.certificates)
    secretless = sorted(set(secrets) - current.secrets)
    rewrite = current.sha512 != sha512(table)
    commands = [f"{shlex.quote(EDGE_AUTH_SCRIPT)} ensure {shlex.quote(slug)}" for slug in secretless]
    commands += [f"{shlex.quote(EDGE_TLS_SCRIPT)} issue {shlex.quote(name)}" for name in missing]
    if rewrite:
        commands.append(replace_table_command(EDGE_PODS_CONF, table, "pod table"))
    if current.running and (rewrite or missing):
        commands.append(RELOAD_EDGE)
    return commands


def refresh_commands(edge: EdgeSettings | None, pods: HostPods | None, current: EdgeTableState) -> list[str]:
    """What :func:`table_commands` needs for the pods the host holds (``pods``; None: Docker is down);
    [] on a host without an edge, or with it off."""
    if edge is None or not edge.enabled:
        return []
    served = edge_pods(pods) if pods is not None else []
    certificates = [pod.cookie_domain for pod in served] if edge.local_ca else []
    slugs = [pod.slug for pod in served] if edge.forward_auth_url is None else []
    return table_commands(render_edge_table(served, edge), current, certificates, slugs)
