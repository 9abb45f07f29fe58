"""A lock held on a host across several commands: taken, waited for, and freed however its holder ends."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from pinacle import executor
from pinacle.errors import ConflictError
from pinacle.pod.names import lock_path

pytestmark = pytest.mark.integration


@pytest.fixture
def path() -> Iterator[str]:
    lock = lock_path("test", uuid.uuid4().hex[:12])
    yield lock
    Path(lock).unlink(missing_ok=True)


def holder(path: str) -> subprocess.Popen[str]:
    """Another process that takes the lock, says so, and keeps it until it is killed."""
    script = textwrap.dedent(f"""
        import time
        from pinacle import executor
        with executor.host_lock(executor.LocalHost(), {path!r}, "the test lock"):
            print("holding", flush=True)
            time.sleep(600)
    """)
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline() == "holding\n"
    return process


def test_a_held_lock_makes_the_next_run_wait_then_refuse_as_a_conflict(path: str) -> None:
    process = holder(path)
    try:
        begin = time.monotonic()
        with (
            pytest.raises(ConflictError, match="the test lock is busy"),
            executor.host_lock(executor.LocalHost(), path, "the test lock", wait=2),
        ):
            pass
        assert time.monotonic() - begin >= 2
    finally:
        process.kill()
        process.wait()


def test_a_holder_killed_with_sigkill_frees_the_lock(path: str) -> None:
    process = holder(path)
    process.kill()  # SIGKILL to the holder alone: the process on the host keeping the lock sees its pipe close
    process.wait()
    with executor.host_lock(executor.LocalHost(), path, "the test lock", wait=10):
        pass


def test_the_lock_is_free_again_when_its_block_ends(path: str) -> None:
    with executor.host_lock(executor.LocalHost(), path, "the test lock"):
        taken = subprocess.run(["flock", "-n", path, "true"], check=False)
        assert taken.returncode == 1
    assert subprocess.run(["flock", "-w", "5", path, "true"], check=False).returncode == 0
