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
    "move": ("pinacle.cli.move", "move", "Carry a pod to another host of its fleet: move SLUG --to HOST."),
    "drain": ("pinacle.cli.move", "drain", "Move every pod off a fleet host; place no new pod there."),
    "undrain": ("pinacle.cli.move", "undrain", "Let a drained fleet host take new pods again."),
    "routes": ("pinacle.cli.routes", "routes", "Bring every fleet edge's table in step with where pods run."),
    "doctor": ("pinacle.cli.doctor", "doctor", "Check Docker, gVisor, pools, ports, images and every pod."),
    "export": ("pinacle.cli.export", "export", "Render a pod file for another platform: export k8s POD_FILE."),
    "token": ("pinacle.cli.access", "token", "Print (or --rotate) the pod's secret at its host's edge."),
    "open": ("pinacle.cli.access", "open_command", "A one-time login link for a pod's service (--browser opens it)."),
}


# Commands whose first act is to read every pod of the host: on @local that read starts before
# their modules (pydantic and the planner among them) are imported, and overlaps with it.
READS_PODS_FIRST = frozenset({"list", "status", "doctor"})


def target_of(args: list[str]) -> str | None:
    """The ``-i``/``--inventory`` value among a subcommand's arguments, if it is given."""
    for i, arg in enumerate(args):
        if arg in ("-i", "--inventory") and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--inventory="):
            return arg.partition("=")[2]
        if arg.startswith("-i") and len(arg) > 2 and not arg.startswith("--"):
            return arg[2:]
    return None


class LazyGroup(click.Group):
    """A group whose commands are imported only when one of them is asked for."""

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        if args and args[0] in READS_PODS_FIRST and not {"--help", "-h"} & set(args):
            from pinacle import executor
            from pinacle.readers.host import docker_server
            from pinacle.readers.pod import pod_states

            executor.read_ahead(target_of(args[1:]) or executor.default_target(), docker_server(), pod_states())
        return super().resolve_command(ctx, args)

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
    doctor, token, open; export them for Kubernetes."""


if __name__ == "__main__":
    main()
