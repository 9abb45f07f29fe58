"""Progress lines: on a terminal for people, plain and quiet when piped (CI, scripts)."""

from __future__ import annotations

import sys

import click

from pinacle.progress import Progress, ProgressEvent


def print_event(event: ProgressEvent) -> None:
    prefix = click.style("==>", fg="cyan", bold=True) if sys.stderr.isatty() else "==>"
    click.echo(f"{prefix} {event.message} [{event.elapsed:.1f}s]", err=True)


def progress_lines(quiet: bool = False) -> Progress:
    """The progress of one command, printed to stderr as ``==> message [elapsed]`` unless quiet."""
    return Progress(None if quiet else print_event)
