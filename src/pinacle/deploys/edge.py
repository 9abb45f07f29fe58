"""The edge on a pod host, as the host deploy installs and configures it. Its pod table is kept by
every pod deploy too (``operations.edge.edge_table_refreshed`` ends each of them)."""

from __future__ import annotations

import hashlib
import importlib.resources
import io

from pyinfra import host
from pyinfra.facts.server import Which
from pyinfra.operations import apk, apt, files, openrc, systemd

from pinacle.deploys.scripts import install_host_script
from pinacle.edge.config import NGINX_USERS, render_edge_conf
from pinacle.edge.settings import (
    EDGE_AUTH_SCRIPT,
    EDGE_FLEET_CONF,
    EDGE_FLEET_TRUST,
    EDGE_RELOAD_SCRIPT,
    EDGE_STATE,
    EDGE_TLS_SCRIPT,
    EdgeSettings,
)
from pinacle.edge.units import EDGE_AUTH_SERVICE, EDGE_SERVICE, edge_auth_argv, edge_auth_boot_unit, edge_boot_unit
from pinacle.hostspec import PackageManager
from pinacle.operations import edge as edge_ops

# What the edge needs beside Docker's packages: nginx itself, openssl for the local CA, and
# python3 for the credential daemon (one stdlib-only script).
EDGE_PACKAGES = ("nginx", "openssl", "python3")


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
    install_host_script("edge reload", EDGE_RELOAD_SCRIPT)
    install_host_script("edge credential daemon", EDGE_AUTH_SCRIPT)
    if edge.forward_auth_url is None:
        credential_daemon_running(NGINX_USERS[packages.name], init)
    config = {**render_edge_conf(edge, packages.name), EDGE_STATE: edge.to_json()}
    edge_ops.edge_config(name="Edge config (/etc/pinacle/edge)", files=config)
    edge_ops.edge_table_refreshed(name="Edge pod table", edge=edge)
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


def credential_daemon_running(nginx_group: str, init: str) -> None:
    """The daemon nginx asks whether a request carries a pod's credential (``pinacle-edge-auth``)."""
    unit = edge_auth_boot_unit(init, nginx_group)
    if unit is None:
        script = importlib.resources.files("pinacle").joinpath("host_scripts", "pinacle-edge-auth").read_bytes()
        edge_ops.edge_auth_started(
            name="Start the edge's credential daemon (no init system)",
            argv=edge_auth_argv(nginx_group),
            script_sha512=hashlib.sha512(script).hexdigest(),
            nginx_group=nginx_group,
        )
        return
    path, text = unit
    files.put(name="Install the credential daemon's boot unit", src=io.StringIO(text), dest=path, mode="755")
    if init == "systemd":
        systemd.service(
            name="Run the edge's credential daemon",
            service=EDGE_AUTH_SERVICE,
            running=True,
            enabled=True,
            daemon_reload=True,
        )
    else:
        openrc.service(name="Run the edge's credential daemon", service=EDGE_AUTH_SERVICE, running=True, enabled=True)


def edge_off(init: str) -> None:
    """Host data ``edge_enabled = False``: no edge runs, and pod URLs are their host ports again."""
    edge_ops.edge_stopped(name="Stop the edge (edge_enabled is off)")
    edge_ops.edge_auth_stopped(name="Stop the edge's credential daemon (edge_enabled is off)")
    files.file(name="Forget the edge's settings", path=EDGE_STATE, present=False)
    # A fleet table kept past this would route names to wherever pods were when the edge went off.
    for path in (EDGE_FLEET_CONF, EDGE_FLEET_TRUST):
        files.file(name=f"Remove {path}", path=path, present=False)
    for unit in (edge_boot_unit(init), edge_auth_boot_unit(init, "root")):
        if unit is not None:
            files.file(name=f"Remove {unit[0]}", path=unit[0], present=False)
