"""``pinacle``: day-2 commands for pods on a target.

Subcommands are imported when they run, not at start-up: ``pinacle --help`` and a typo answer
without loading pyinfra or pydantic.
"""

from __future__ import annotations

import importlib

import click

# name -> (module, attribute, one line of help for ``pinacle --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "list": ("pinacle.cli.pods", "list_command", "Every pod on the target: state, port, services, image, age."),
    "status": ("pinacle.cli.pods", "status", "One pod in detail: state, restarts, each service's health and URL."),
    "stop": ("pinacle.cli.pods", "stop", "Stop a pod; its port, network, volume and config are kept."),
    "start": ("pinacle.cli.pods", "start", "Start a stopped pod on the same port; wait until it is healthy."),
    "delete": ("pinacle.cli.pods", "delete", "Remove a pod's container and network (and volume with --purge)."),
    "logs": ("pinacle.cli.pods", "logs", "The pod's log, or one service's log."),
    "exec": ("pinacle.cli.pods", "exec_command", "Run a command in the pod (as its user, or --root)."),
    "snapshot": ("pinacle.cli.snapshot", "snapshot", "Snapshot a pod; list, delete and prune snapshots."),
    "restore": ("pinacle.cli.snapshot", "restore", "Create a pod from a snapshot (or roll one back, --replace)."),
    "doctor": ("pinacle.cli.doctor", "doctor", "Check Docker, gVisor, pools, ports, images and every pod."),
    "token": ("pinacle.cli.access", "token", "Print (or --rotate) the pod's secret at its host's edge."),
    "open": ("pinacle.cli.access", "open_command", "A one-time login link for a pod's service (--browser opens it)."),
}


class LazyGroup(click.Group):
    """A group whose commands are imported only when one of them is asked for."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute, _help = COMMANDS[cmd_name]
        command: click.Command = getattr(importlib.import_module(module), attribute)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_text) for name, (_m, _a, help_text) in COMMANDS.items()])


@click.group(cls=LazyGroup)
@click.version_option(package_name="pinacle")
def main() -> None:
    """Operate pinacle pods: list, status, stop, start, delete, logs, exec, snapshot, restore,
    doctor, token, open."""


if __name__ == "__main__":
    main()
