"""Helpers for the few shell idioms operations share. Everything dynamic is quoted here."""

from __future__ import annotations

import base64
import shlex


def fail(message: str) -> str:
    """A command that fails the operation with ``message`` on stderr (what to fix, in words)."""
    return f"echo {shlex.quote('pinacle: ' + message)} >&2; exit 1"


def write_file_command(path: str, content: str, mode: str = "0644", follow_symlinks: bool = False) -> str:
    """Write ``content`` to ``path`` atomically; base64 keeps any byte out of the shell's reach.

    With ``follow_symlinks`` a link at ``path`` stays a link and the file it points to is written.
    """
    encoded = base64.b64encode(content.encode()).decode()
    if follow_symlinks:
        return (
            f't=$(readlink -f {shlex.quote(path)}) && mkdir -p "$(dirname "$t")" && '
            f'printf %s {encoded} | base64 -d > "$t.pinacle-tmp" && chmod {mode} "$t.pinacle-tmp" '
            '&& mv -f "$t.pinacle-tmp" "$t"'
        )
    target = shlex.quote(path)
    tmp = shlex.quote(path + ".pinacle-tmp")
    return (
        f'mkdir -p "$(dirname {target})" && printf %s {encoded} | base64 -d > {tmp} '
        f"&& chmod {mode} {tmp} && mv -f {tmp} {target}"
    )


def pod_supervisor_ready(container: str) -> str:
    """Wait until the pod's supervisor runs Nginx: only then can the router be configured."""
    return wait_until(
        f"docker exec {shlex.quote(container)} supervisorctl status nginx | grep -q RUNNING",
        f"the supervisor in {container}",
        60,
        f"docker logs {container}",
    )


def wait_until(check: str, what: str, seconds: int, log: str) -> str:
    """Poll ``check`` every 0.2 s; fail naming the log to read when it never passes."""
    tries = seconds * 5
    message = shlex.quote(f"pinacle: {what} did not come up within {seconds}s; see {log}")
    # Braced so that ``x && wait_until(...)`` guards the whole loop, not just ``i=0``.
    return (
        f"{{ i=0; until {check} >/dev/null 2>&1; do i=$((i+1)); "
        f"if [ $i -gt {tries} ]; then echo {message} >&2; exit 1; fi; sleep 0.2; done; }}"
    )
