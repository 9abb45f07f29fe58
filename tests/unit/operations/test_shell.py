"""pinacle.operations._shell: the shared shell idioms, run for real in a temporary directory."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pinacle.operations._shell import fail, wait_until, write_file_command


def sh(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["sh", "-c", command], capture_output=True, text=True, timeout=10)


def test_fail_prints_the_message_on_stderr_and_exits_1() -> None:
    result = sh(fail("it's $(broken); fix `it`"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "pinacle: it's $(broken); fix `it`\n"


def test_write_file_command_writes_any_text_exactly(tmp_path: Path) -> None:
    target = tmp_path / "new dir" / "it's.conf"
    content = "a'b\"c $(id) `id` %s\n\\n\nlast"
    assert sh(write_file_command(str(target), content)).returncode == 0
    assert target.read_text() == content


def test_write_file_command_sets_the_mode(tmp_path: Path) -> None:
    target = tmp_path / "secret"
    assert sh(write_file_command(str(target), "x", mode="0600")).returncode == 0
    assert target.stat().st_mode & 0o777 == 0o600


def test_write_file_command_leaves_no_temporary_file(tmp_path: Path) -> None:
    assert sh(write_file_command(str(tmp_path / "f"), "x")).returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == ["f"]


def test_wait_until_returns_once_the_check_passes() -> None:
    assert sh(wait_until("true", "thing", 1, "/dev/null")).returncode == 0


def test_wait_until_names_what_and_the_log_in_its_failure() -> None:
    command = wait_until("false", "dockerd", 60, "/var/log/pinacle/dockerd.log")
    assert "dockerd did not come up within 60s; see /var/log/pinacle/dockerd.log" in command
    assert "-gt 300" in command  # 60 s of 0.2 s polls


def test_a_failed_step_before_a_wait_fails_the_command() -> None:
    assert sh("false && " + wait_until("true", "thing", 1, "/dev/null")).returncode != 0


def test_write_file_command_edits_the_file_behind_a_link(tmp_path: Path) -> None:
    real = tmp_path / "config" / "daemon.json"
    real.parent.mkdir()
    real.write_text("{}\n")
    link = tmp_path / "daemon.json"
    link.symlink_to(real)
    subprocess.run(["sh", "-c", write_file_command(str(link), '{"a": 1}\n', follow_symlinks=True)], check=True)
    assert link.is_symlink() and real.read_text() == '{"a": 1}\n'


def test_write_file_command_writes_a_new_file_when_following_links(tmp_path: Path) -> None:
    target = tmp_path / "new.json"
    subprocess.run(["sh", "-c", write_file_command(str(target), "x\n", follow_symlinks=True)], check=True)
    assert target.read_text() == "x\n" and not target.is_symlink()
