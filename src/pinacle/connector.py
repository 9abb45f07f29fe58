"""pyinfra's ``@local`` connector, running commands with the standard library's subprocess.

pyinfra's own connector spawns through ``gevent.subprocess``, whose child watchers exist only on
gevent's default loop, in the main thread: a :class:`pinacle.PodManager` called from a web
backend's worker thread would fail there with "child watchers are only available on the default
loop". This one behaves the same (sudo/su wrapping, success codes) from any thread.
"""

from __future__ import annotations

import subprocess
from typing import TYPE_CHECKING, Any, cast

from pyinfra.api.command import StringCommand
from pyinfra.connectors.local import LocalConnector
from pyinfra.connectors.util import (
    CommandOutput,
    OutputLine,
    execute_command_with_sudo_retry,
    make_unix_command_for_host,
)

if TYPE_CHECKING:
    from pyinfra.api.arguments import ConnectorArguments

TIMEOUT_EXIT = 124  # as coreutils' timeout(1)


def _stdin_bytes(stdin: Any) -> bytes | None:
    if stdin is None or stdin == "":
        return None
    if isinstance(stdin, bytes):
        return stdin
    if isinstance(stdin, str):
        return stdin.encode()
    return "".join(f"{line}\n" if not str(line).endswith("\n") else str(line) for line in stdin).encode()


def run_local_command(command: str, stdin: Any = None, timeout: float | None = None) -> tuple[int, CommandOutput]:
    """Run ``command`` through ``sh -c``; (exit code, its lines as pyinfra's CommandOutput)."""
    data = _stdin_bytes(stdin)
    try:
        # input= or stdin=, never both (gevent's subprocess, in a patched process, refuses even None)
        feed: dict[str, Any] = {"input": data} if data is not None else {"stdin": subprocess.DEVNULL}
        done = subprocess.run(command, shell=True, capture_output=True, timeout=timeout, check=False, **feed)
        code, out, err = done.returncode, done.stdout, done.stderr
    except subprocess.TimeoutExpired as expired:
        code = TIMEOUT_EXIT
        out, err = expired.stdout or b"", (expired.stderr or b"") + f"timed out after {timeout}s\n".encode()
    lines = [OutputLine("stdout", line) for line in out.decode(errors="replace").splitlines()]
    lines += [OutputLine("stderr", line) for line in err.decode(errors="replace").splitlines()]
    return code, CommandOutput(lines)


class ThreadSafeLocalConnector(LocalConnector):
    """``@local`` for pinacle's sessions: the same commands, spawned without gevent."""

    def run_shell_command(
        self,
        command: StringCommand,
        print_output: bool = False,
        print_input: bool = False,
        **arguments: Any,
    ) -> tuple[bool, CommandOutput]:
        arguments.pop("_get_pty", False)
        timeout = arguments.pop("_timeout", None)
        stdin = arguments.pop("_stdin", None)
        success_codes = arguments.pop("_success_exit_codes", None)

        def execute() -> tuple[int, CommandOutput]:
            unix_command = make_unix_command_for_host(self.state, self.host, command, **arguments)
            return run_local_command(unix_command.get_raw_value(), stdin, timeout)

        code, output = execute_command_with_sudo_retry(self.host, cast("ConnectorArguments", arguments), execute)
        return (code in success_codes if success_codes else code == 0), output
