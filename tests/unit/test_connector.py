"""The thread-safe @local connector's process runner (a real ``sh``, nothing mocked)."""

from __future__ import annotations

import threading

from pinacle.connector import TIMEOUT_EXIT, run_local_command


def lines(output: object) -> list[tuple[str, str]]:
    return [(line.buffer_name, line.line) for line in output]  # type: ignore[attr-defined]


def test_exit_code_and_both_streams() -> None:
    code, output = run_local_command("echo out; echo err >&2; exit 3")
    assert code == 3 and lines(output) == [("stdout", "out"), ("stderr", "err")]


def test_stdin_is_passed_and_otherwise_empty() -> None:
    assert lines(run_local_command("cat", stdin="a\nb")[1]) == [("stdout", "a"), ("stdout", "b")]
    assert lines(run_local_command("cat", stdin=["x", "y"])[1]) == [("stdout", "x"), ("stdout", "y")]
    assert run_local_command("cat")[0] == 0  # no stdin: end of file at once, never our terminal


def test_timeout_is_exit_124_with_a_reason() -> None:
    code, output = run_local_command("sleep 5", timeout=0.2)
    assert code == TIMEOUT_EXIT and output.stderr_lines[-1] == "timed out after 0.2s"


def test_runs_from_a_worker_thread() -> None:
    results: list[int] = []
    worker = threading.Thread(target=lambda: results.append(run_local_command("true")[0]))
    worker.start()
    worker.join()
    assert results == [0]
