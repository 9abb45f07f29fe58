"""What ``pinacle doctor`` says about a host's edge: pure, from facts read beforehand."""

from __future__ import annotations

import hashlib

from pinacle.edge.commands import EdgeTableState
from pinacle.edge.config import render_edge_table
from pinacle.edge.settings import EdgeSettings
from pinacle.edge.table import edge_pods
from pinacle.pod.observed import HostPods

REDEPLOY = "re-run the host deploy (pyinfra inventory/... deploys/vm.py); it installs and starts the edge"


def edge_health(
    edge: EdgeSettings | None, table: EdgeTableState, daemon_running: bool, pods: HostPods
) -> tuple[str, str, str]:
    """``(status, message, fix)`` of the host's edge: running, asking for credentials, its pod
    table what the host's pods are now."""
    if edge is None or not edge.enabled:
        return (
            "warn",
            "no edge on this host: pod URLs are their host ports, with no credential asked",
            ("set host data edge_enabled = True and re-run the host deploy"),
        )
    if not table.running:
        return "fail", "the edge (nginx) is not running: no pod URL answers", REDEPLOY
    if edge.forward_auth_url is None and not daemon_running:
        return "fail", "the edge's credential daemon is not running: private pod names answer 500", REDEPLOY
    served = edge_pods(pods)
    wanted = hashlib.sha512(render_edge_table(served, edge).encode()).hexdigest()
    if table.sha512 != wanted:
        return (
            "warn",
            "the edge's pod table is not what the host's pods are now",
            ("any pinacle-deploy, start, stop or delete on this host rewrites it; or re-run the host deploy"),
        )
    scheme = "HTTPS" if edge.tls else "HTTP"
    port = edge.https_port if edge.tls else edge.http_port
    check = "forward auth" if edge.forward_auth_url else "pinacle-edge-auth"
    return (
        "ok",
        f"nginx serves {len(served)} running pod(s) on {scheme} port {port}, private names checked by {check}",
        "",
    )
