"""Rollout commands too long for one ``sh -c`` argument, as pyinfra runs them.

See :data:`pinacle.operations._shell.INLINE_COMMAND_MAX`. Such a command travels on the standard
input of :func:`~pinacle.operations._shell.staged_command` (pyinfra's ``_stdin``: through the SSH
session it runs in anyway, no SFTP server needed on the host). The ``@local`` executor runs the
same short command with the same input (``pinacle.executor``).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from pyinfra.api import StringCommand

from pinacle.operations._shell import fits_inline, staged_command


def staged(commands: Iterable[str]) -> Iterator[str | StringCommand]:
    """``commands`` as they are, but each one too long for a command line run from a staged script."""
    for command in commands:
        yield command if fits_inline(command) else StringCommand(staged_command(command), _stdin=command)
