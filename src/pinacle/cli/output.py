"""Progress lines: on a terminal for people, plain and quiet when piped (CI, scripts)."""

from __future__ import annotations

import sys
import time

import click


class Progress:
    def __init__(self, quiet: bool = False) -> None:
        self.start = time.monotonic()
        self.interactive = sys.stderr.isatty()
        self.quiet = quiet

    def step(self, message: str) -> None:
        if self.quiet:
            return
        elapsed = time.monotonic() - self.start
        prefix = click.style("==>", fg="cyan", bold=True) if self.interactive else "==>"
        click.echo(f"{prefix} {message} [{elapsed:.1f}s]", err=True)
