"""Boot units that start the edge (and its credential daemon) with the host's init system."""

from __future__ import annotations

from pinacle.edge.settings import EDGE_CONF, EDGE_PID

EDGE_SERVICE = "pinacle-edge"
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
