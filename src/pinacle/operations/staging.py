"""Rollout commands too long for one ``sh -c`` argument, as pyinfra runs them: sent, then run.

See :data:`pinacle.operations._shell.INLINE_COMMAND_MAX`. The script travels on the standard input
of a short command (pyinfra's ``_stdin``: the SSH session it runs in anyway, no SFTP server
needed on the host) into the root-only staging directory, and runs from there without standard
input (a command in it that reads its standard input must not eat the rest of the script). The
``@local`` executor does the same with a temporary file (``pinacle.executor``).
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Iterator

from pyinfra.api import StringCommand

from pinacle.operations._shell import STAGING_DIR, fits_inline, run_staged_script, staged_script_path


def staged(commands: Iterable[str]) -> Iterator[str | StringCommand]:
    """``commands`` as they are, but each one too long for a command line sent as a script and run."""
    for command in commands:
        if fits_inline(command):
            yield command
            continue
        path = staged_script_path(command)
        receive = f"umask 077 && mkdir -p -m 0700 {STAGING_DIR} && cat > {shlex.quote(path)}"
        yield StringCommand(receive, _stdin=command)
        yield run_staged_script(path)
