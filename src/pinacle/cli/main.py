"""``pinacle``: day-2 commands for pods on a target."""

from __future__ import annotations

import click


@click.group()
@click.version_option(package_name="pinacle")
def main() -> None:
    """Operate pinacle pods: list, status, stop, start, delete, logs, exec, doctor."""
