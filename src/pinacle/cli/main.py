"""``pinacle``: day-2 commands for pods on a target."""

from __future__ import annotations

import click

from pinacle.cli.doctor import doctor
from pinacle.cli.pods import delete, exec_command, list_command, logs, start, status, stop
from pinacle.cli.snapshot import restore, snapshot


@click.group()
@click.version_option(package_name="pinacle")
def main() -> None:
    """Operate pinacle pods: list, status, stop, start, delete, logs, exec, snapshot, restore,
    doctor."""


main.add_command(list_command, "list")
main.add_command(status)
main.add_command(stop)
main.add_command(start)
main.add_command(delete)
main.add_command(logs)
main.add_command(exec_command, "exec")
main.add_command(snapshot)
main.add_command(restore)
main.add_command(doctor)


if __name__ == "__main__":
    main()
