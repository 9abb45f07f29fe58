"""Commands too long for one argument: sent as a script and run from the staging directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pyinfra.api import StringCommand

from pinacle.executor import _run_shell
from pinacle.operations._shell import INLINE_COMMAND_MAX, fits_inline, staged_command, staged_script_path
from pinacle.operations.pod_commands import IN_POD_SCRIPT_MAX, _in_pod
from pinacle.operations.staging import staged

LONG = "printf %s " + "x" * 200_000 + " | wc -c"


def test_a_command_that_fits_is_run_as_it_is() -> None:
    assert list(staged(["echo hi"])) == ["echo hi"]


def test_single_quotes_count_as_the_five_characters_two_more_quotings_make_them() -> None:
    assert fits_inline("x" * (INLINE_COMMAND_MAX - 16))
    assert not fits_inline("'" * (INLINE_COMMAND_MAX // 10))  # far shorter, but it grows 13-fold


def test_a_long_command_is_sent_on_standard_input_then_run_from_its_file() -> None:
    (command,) = staged([LONG])
    path = staged_script_path(LONG)
    assert isinstance(command, StringCommand)
    assert command.connector_arguments == {"_stdin": LONG}
    assert str(command) == (
        "umask 077 && mkdir -p -m 0700 /var/lib/pinacle/staging && "
        "find /var/lib/pinacle/staging -name '*.sh' -mmin +60 -delete && "
        f"cat > {path} && {{ sh {path} </dev/null; status=$?; rm -f {path}; exit $status; }}"
    )


def test_a_staged_script_runs_without_standard_input_removes_itself_and_keeps_its_status(tmp_path: Path) -> None:
    script = "read -r line || echo no-stdin; exit 3"
    staging = tmp_path / "staging"
    command = staged_command(script).replace("/var/lib/pinacle/staging", str(staging))
    done = subprocess.run(["sh", "-c", command], input=script.encode(), capture_output=True, check=False)
    assert (done.returncode, done.stdout, list(staging.iterdir())) == (3, b"no-stdin\n", [])
    assert staging.stat().st_mode & 0o777 == 0o700


def test_scripts_a_killed_run_left_are_removed_after_an_hour(tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    staging.mkdir()
    (staging / "old.sh").write_text("secret")
    (staging / "recent.sh").write_text("in use")
    subprocess.run(["touch", "-d", "2 hours ago", str(staging / "old.sh")], check=True)
    command = staged_command("true").replace("/var/lib/pinacle/staging", str(staging))
    subprocess.run(["sh", "-c", command], input=b"true", check=True)
    assert [p.name for p in staging.iterdir()] == ["recent.sh"]


def test_the_local_executor_runs_a_long_command_from_a_file() -> None:
    done = _run_shell(LONG)
    assert (done.returncode, done.stdout.strip()) == (0, b"200000")


def test_a_short_in_pod_script_is_one_exec_argument() -> None:
    assert _in_pod("pinacle-demo", "echo hi") == "docker exec pinacle-demo sh -c 'echo hi'"


def test_a_long_in_pod_script_is_piped_into_the_pod() -> None:
    command = _in_pod("pinacle-demo", "x" * (IN_POD_SCRIPT_MAX + 1))
    assert command.startswith("printf %s ")
    assert command.endswith(
        " | base64 -d | docker exec -i pinacle-demo sh -c "
        '\'f=$(mktemp) && cat >"$f" && sh "$f" </dev/null; status=$?; rm -f "$f"; exit $status\''
    )
