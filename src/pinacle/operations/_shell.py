"""Helpers for the few shell idioms operations share. Everything dynamic is quoted here."""

from __future__ import annotations

import base64
import hashlib
import shlex

# Linux refuses one argument longer than 128 KiB (MAX_ARG_STRLEN), and the whole command a host
# runs is one: the `sh -c COMMAND` of the @local executor, of pyinfra and of sshd (each quoting it
# once more, a single quote growing to five characters). A rollout command of a pod file at its
# bounds (env values full of quotes, long app commands) is longer: it travels as a script file in
# a root-only directory instead, run by a short command that reads it from its standard input (:func:`staged_command`).
INLINE_COMMAND_MAX = 96 * 1024
STAGING_DIR = "/var/lib/pinacle/staging"


def fits_inline(command: str) -> bool:
    """Can ``command`` be run as ``sh -c COMMAND`` after two more rounds of quoting?"""
    return len(shlex.quote(shlex.quote(command)).encode()) <= INLINE_COMMAND_MAX


# A script left by a run killed while it ran (it may hold env values) is removed by the next long
# command after this long: no rollout step lasts an hour.
STALE_SCRIPT_MINUTES = 60


def staged_script_path(command: str) -> str:
    """Where ``command`` is put as a script when it does not fit inline: named by its content and,
    in the shell, the running shell's PID (``$$``), so two runs of one command never share a file."""
    return f"{STAGING_DIR}/{hashlib.sha256(command.encode()).hexdigest()[:24]}.$$.sh"


def staged_command(command: str) -> str:
    """The short command that runs ``command`` given on its standard input: it stores it as a
    root-only script, runs that without standard input (a command in it that reads its standard
    input must not eat the rest of the script), removes it, and exits as it did."""
    path = staged_script_path(command)  # no quoting needed (hex digits), and $$ must expand
    return (
        f"umask 077 && mkdir -p -m 0700 {STAGING_DIR} && "
        f"find {STAGING_DIR} -name '*.sh' -mmin +{STALE_SCRIPT_MINUTES} -delete && cat > {path} && "
        f"{{ {run_script_once(path)}; }}"
    )


def run_script_once(path: str) -> str:
    """Run the script at ``path`` (a shell word) without standard input, remove it, exit as it did."""
    return f"sh {path} </dev/null; status=$?; rm -f {path}; exit $status"


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
