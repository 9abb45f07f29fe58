"""Boot units that start the edge (and its credential daemon) with the host's init system."""

from __future__ import annotations

from pinacle.edge.settings import (
    EDGE_AUTH_SCRIPT,
    EDGE_AUTH_SOCKET,
    EDGE_CONF,
    EDGE_PID,
    EDGE_SOCKET_DIR,
    EDGE_STATE_DIR,
)

EDGE_SERVICE = "pinacle-edge"
EDGE_AUTH_SERVICE = "pinacle-edge-auth"
EDGE_SYSTEMD_UNIT = f"/etc/systemd/system/{EDGE_SERVICE}.service"
EDGE_OPENRC_SCRIPT = f"/etc/init.d/{EDGE_SERVICE}"
NGINX = "/usr/sbin/nginx"


def edge_boot_unit(init: str) -> tuple[str, str] | None:
    """(path, text) of the unit that runs the edge's nginx; None without an init system (the host
    deploy then starts it, detached, as it starts dockerd)."""
    conf = f"-c {EDGE_CONF}"
    if init == "systemd":
        return EDGE_SYSTEMD_UNIT, (
            "[Unit]\nDescription=pinacle edge (nginx in front of the host's pods)\n"
            "After=network-online.target docker.service\nWants=network-online.target\n\n"
            f"[Service]\nType=forking\nPIDFile={EDGE_PID}\n"
            "ExecStartPre=/bin/mkdir -p -m 0700 /run/pinacle\n"
            f"ExecStartPre={NGINX} -t -q {conf}\nExecStart={NGINX} {conf}\n"
            f"ExecReload={NGINX} -s reload {conf}\nExecStop={NGINX} -s quit {conf}\n"
            "KillMode=mixed\nRestart=on-failure\n\n"
            "[Install]\nWantedBy=multi-user.target\n"
        )
    if init == "openrc":
        return EDGE_OPENRC_SCRIPT, (
            '#!/sbin/openrc-run\ndescription="pinacle edge (nginx in front of the host\'s pods)"\n'
            f'command={NGINX}\ncommand_args="{conf}"\npidfile={EDGE_PID}\n'
            'extra_started_commands="reload"\n\n'
            "depend() {\n    need net\n    after docker\n}\n\n"
            f"start_pre() {{\n    checkpath -d -m 0700 /run/pinacle\n    {NGINX} -t -q {conf}\n}}\n\n"
            f'reload() {{\n    ebegin "Reloading the pinacle edge"\n    {NGINX} -s reload {conf}\n    eend $?\n}}\n'
        )
    return None


def socket_dir_command(nginx_group: str) -> str:
    """Make the daemon's socket directory: root's, and traversable by nginx's workers only."""
    return (
        f"mkdir -p -m 0700 /run/pinacle {EDGE_SOCKET_DIR} && chown root:{nginx_group} {EDGE_SOCKET_DIR} "
        f"&& chmod 0750 {EDGE_SOCKET_DIR}"
    )


def edge_auth_argv(nginx_group: str) -> tuple[str, ...]:
    """The credential daemon's command line: its socket only nginx's workers (and root) may use."""
    return (
        EDGE_AUTH_SCRIPT,
        "serve",
        "--socket",
        EDGE_AUTH_SOCKET,
        "--state",
        EDGE_STATE_DIR,
        "--socket-mode",
        "0660",
        "--socket-group",
        nginx_group,
    )


def edge_auth_boot_unit(init: str, nginx_group: str) -> tuple[str, str] | None:
    """(path, text) of the unit that runs the credential daemon; None without an init system."""
    argv = " ".join(edge_auth_argv(nginx_group))
    if init == "systemd":
        return f"/etc/systemd/system/{EDGE_AUTH_SERVICE}.service", (
            "[Unit]\nDescription=pinacle edge credential daemon\nBefore=pinacle-edge.service\n\n"
            f"[Service]\nExecStartPre=/bin/sh -c '{socket_dir_command(nginx_group)}'\nExecStart={argv}\n"
            "Restart=always\nRestartSec=1\n\n[Install]\nWantedBy=multi-user.target\n"
        )
    if init == "openrc":
        command, _, args = argv.partition(" ")
        return f"/etc/init.d/{EDGE_AUTH_SERVICE}", (
            '#!/sbin/openrc-run\ndescription="pinacle edge credential daemon"\n'
            f'command={command}\ncommand_args="{args}"\ncommand_background=yes\n'
            "pidfile=/run/pinacle/edge-auth.pid\n\n"
            "depend() {\n    before pinacle-edge\n}\n\n"
            f"start_pre() {{\n    checkpath -d -m 0750 -o root:{nginx_group} {EDGE_SOCKET_DIR}\n"
            "    checkpath -d -m 0700 /run/pinacle\n}\n"
        )
    return None
