"""The edge on a pod host: installed and configured by the host deploy, its pod table kept by
every rollout and day-2 command (``refresh_edge_tables``)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence

from pyinfra import host
from pyinfra.api import deploy
from pyinfra.facts.server import Which
from pyinfra.operations import apk, apt, files, openrc, systemd

from pinacle import executor
from pinacle.deploys.scripts import install_host_script
from pinacle.edge.config import render_edge_conf, render_edge_table
from pinacle.edge.settings import EDGE_STATE, EDGE_TLS_SCRIPT, EdgeSettings
from pinacle.edge.table import edge_pods
from pinacle.edge.units import EDGE_SERVICE, edge_boot_unit
from pinacle.hostspec import LOG_DIR, PackageManager
from pinacle.operations import edge as edge_ops

# What the edge needs beside Docker's packages: nginx itself, openssl for the local CA, and
# python3 for the credential daemon (one stdlib-only script).
EDGE_PACKAGES = ("nginx", "openssl", "python3")


def edge_table_inputs(edge: EdgeSettings) -> tuple[str, tuple[str, ...]]:
    """(pods.conf, certificate names) for the pods ``host`` holds now (read in one round trip)."""
    pods = edge_pods(executor.observe_pods(host)) if executor.docker_is_up(host) else []
    certificates = tuple(pod.cookie_domain for pod in pods) if edge.local_ca else ()
    return render_edge_table(pods, edge), certificates


def provision_edge(edge: EdgeSettings, packages: PackageManager, init: str) -> None:
    """Install nginx and run it as pinacle's own instance with this host's pod table.

    The distribution's own nginx service is left as the operator has it; only when this deploy is
    what installs nginx is that service (started by Debian's package) stopped and disabled, so it
    does not hold the edge's ports.
    """
    nginx_was_absent = host.get_fact(Which, command="nginx") is None
    if packages.name == "apt":
        apt.packages(
            name="Install the edge (nginx, openssl, python3)", packages=list(EDGE_PACKAGES), no_recommends=True
        )
    else:
        apk.packages(name="Install the edge (nginx, openssl, python3)", packages=list(EDGE_PACKAGES))
    if nginx_was_absent:
        edge_ops.distro_nginx_stopped(
            name="Stop the distribution's own nginx service (installed for the edge)", init=init
        )
    install_host_script("edge TLS", EDGE_TLS_SCRIPT)
    config = {**render_edge_conf(edge, packages.name, LOG_DIR), EDGE_STATE: edge.to_json()}
    edge_ops.edge_config(name="Edge config (/etc/pinacle/edge)", files=config)
    table, certificates = edge_table_inputs(edge)
    edge_ops.edge_table(name="Edge pod table", table=table, certificates=certificates)
    unit = edge_boot_unit(init)
    if unit is None:
        edge_ops.edge_started(name="Start the edge (no init system)")
        return
    path, text = unit
    files.put(name="Install the edge's boot unit", src=io.StringIO(text), dest=path, mode="755")
    if init == "systemd":
        systemd.service(name="Run the edge", service=EDGE_SERVICE, running=True, enabled=True, daemon_reload=True)
    else:
        openrc.service(name="Run the edge", service=EDGE_SERVICE, running=True, enabled=True)


def edge_off(init: str) -> None:
    """Host data ``edge_enabled = False``: no edge runs, and pod URLs are their host ports again."""
    edge_ops.edge_stopped(name="Stop the edge (edge_enabled is off)")
    files.file(name="Forget the edge's settings", path=EDGE_STATE, present=False)
    if (unit := edge_boot_unit(init)) is not None:
        files.file(name="Remove the edge's boot unit", path=unit[0], present=False)


@deploy("Refresh the edge's pod table")
def refresh_edge_tables(tables: Mapping[str, tuple[str, Sequence[str]]]) -> None:
    """+ tables: host name -> (pods.conf, certificate names) for each host with an edge"""
    if (entry := tables.get(host.name)) is not None:
        table, certificates = entry
        edge_ops.edge_table(name="Edge pod table", table=table, certificates=certificates)
