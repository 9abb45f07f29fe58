"""The host script pinacle-snapshot, run for real against a stub ``docker`` (no real Docker).

The snapshot and lock directories are the test's own (``PINACLE_SNAPSHOT_DIR``,
``PINACLE_LOCK_DIR``); the real-Docker path, kills included, is covered by the integration tests.
"""

from __future__ import annotations

import fcntl
import subprocess
from pathlib import Path

import pytest
from tests.unit.conftest import StubDocker

SCRIPT = Path(__file__).parents[3] / "src" / "pinacle" / "host_scripts" / "pinacle-snapshot"
MANIFEST = b'{"spec":{"name":"rel data $HOME \\"q\\" \\\\ \\u00fc"},"version":1}\n'
STATE_QUERY = [
    "image",
    "ls",
    "--filter",
    "label=pinacle.snapshot.name=s1",
    "--format",
    "{{.Repository}}:{{.Tag}} {{.ID}}",
]
HELPER_QUERY = ["ps", "-aq", "--filter", "label=pinacle.snapshot.helper=s1"]
TMP = "pinacle-snapshot-tmp/demo:s1"
FINAL = "pinacle-snapshot/demo:s1"


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "snapshots", tmp_path / "run"


def snapshot(
    stub: StubDocker, dirs: tuple[Path, Path], *args: str, stdin: bytes = MANIFEST
) -> subprocess.CompletedProcess[bytes]:
    env = {**stub.env, "PINACLE_SNAPSHOT_DIR": str(dirs[0]), "PINACLE_LOCK_DIR": str(dirs[1])}
    argv = list(args) or ["take", "demo", "s1", "runsc", "2025-01-01T00:00:00Z"]
    return subprocess.run(
        ["sh", str(SCRIPT), *argv], input=stdin, capture_output=True, env=env, timeout=30, check=False
    )


def argvs(stub: StubDocker) -> list[list[str]]:
    return [call.argv for call in stub.calls]


def test_script_is_executable() -> None:
    assert SCRIPT.stat().st_mode & 0o111


def test_take_commits_archives_tags_and_writes_the_manifest_last_byte_for_byte(
    stub_docker: StubDocker, dirs: tuple[Path, Path]
) -> None:
    result = snapshot(stub_docker, dirs)
    assert result.returncode == 0, result.stderr
    calls = argvs(stub_docker)
    verbs = [c[0] if c[0] not in ("image", "volume") else " ".join(c[:2]) for c in calls]
    assert verbs == ["image ls", "ps", "volume inspect", "commit", "run", "tag", "rmi"]
    commit = calls[3]
    assert commit[-2:] == ["pinacle-demo", TMP]
    assert 'LABEL pinacle.snapshot.of="demo" pinacle.snapshot.name="s1"' in commit
    assert 'LABEL pinacle.snapshot.spec="" pinacle.snapshot.labels=""' in commit
    run = calls[4]
    assert "-v" not in run and run[run.index("--log-driver") + 1] == "none"
    assert run[run.index("--name") + 1] == "pinacle-snapshot.s1"
    assert run[-5:] == [TMP, "-C", "/workspace", "-cf", "-"] or run[-6:] == [TMP, "-C", "/workspace", "-cf", "-", "."]
    assert calls[5:] == [["tag", TMP, FINAL], ["rmi", TMP]]
    snapshots, locks = dirs
    assert (snapshots / "s1.json").read_bytes() == MANIFEST
    assert sorted(p.name for p in snapshots.iterdir()) == ["s1.json", "s1.tar"]
    assert (snapshots / "s1.json").stat().st_mode & 0o777 == 0o600
    assert snapshots.stat().st_mode & 0o777 == 0o700 and locks.stat().st_mode & 0o777 == 0o700
    assert list(locks.iterdir()) == []  # the lock file goes with the run


def test_take_of_a_complete_snapshot_exits_73_and_touches_nothing(
    stub_docker: StubDocker, dirs: tuple[Path, Path]
) -> None:
    dirs[0].mkdir()
    (dirs[0] / "s1.tar").write_bytes(b"archive")
    (dirs[0] / "s1.json").write_bytes(b"{}")
    stub_docker.answer("image", "ls", stdout=f"{FINAL} abc\n")
    result = snapshot(stub_docker, dirs)
    assert result.returncode == 73
    assert b"pinacle: snapshot s1 already exists" in result.stderr
    assert argvs(stub_docker) == [STATE_QUERY]
    assert (dirs[0] / "s1.json").read_bytes() == b"{}"


def test_a_name_another_process_holds_exits_73_without_asking_docker(
    stub_docker: StubDocker, dirs: tuple[Path, Path]
) -> None:
    dirs[1].mkdir()
    with (dirs[1] / "snapshot-s1.lock").open("w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        result = snapshot(stub_docker, dirs)
    assert result.returncode == 73
    assert b"snapshot s1 already exists: another pinacle process is taking or removing it now" in result.stderr
    assert argvs(stub_docker) == []


def test_take_first_removes_what_a_killed_run_left(stub_docker: StubDocker, dirs: tuple[Path, Path]) -> None:
    dirs[0].mkdir()
    (dirs[0] / "s1.tar.part").write_bytes(b"half")
    (dirs[0] / "s1.tar").write_bytes(b"archive of an image never tagged")
    stub_docker.answer("image", "ls", stdout=f"{TMP} aaa\n<none>:<none> bbb\nsomeone/else:x ccc\n")
    stub_docker.answer("ps", "-aq", stdout="c0ffee\n")
    result = snapshot(stub_docker, dirs)
    assert result.returncode == 0, result.stderr
    calls = argvs(stub_docker)
    assert calls[1:5] == [
        HELPER_QUERY,
        ["rm", "-f", "c0ffee"],
        ["rmi", TMP],
        ["rmi", "bbb"],
    ]
    assert ["rmi", "someone/else:x"] not in calls
    assert (dirs[0] / "s1.tar").read_bytes() == b""  # archived again (by the stub: empty)


def test_a_failed_take_removes_what_it_made(stub_docker: StubDocker, dirs: tuple[Path, Path]) -> None:
    stub_docker.answer("run", rc=1, stderr="tar: /workspace: Cannot open\n")
    result = snapshot(stub_docker, dirs)
    assert result.returncode == 1
    assert sorted(p.name for p in dirs[0].iterdir()) == []
    assert list(dirs[1].iterdir()) == []
    assert argvs(stub_docker)[-2:] == [STATE_QUERY, HELPER_QUERY]  # looked again at what to remove


def test_clean_keeps_a_complete_snapshot_and_removes_its_leftovers(
    stub_docker: StubDocker, dirs: tuple[Path, Path]
) -> None:
    dirs[0].mkdir()
    for name in ("s1.tar", "s1.json", "s1.tar.part"):
        (dirs[0] / name).write_bytes(b"x")
    stub_docker.answer("image", "ls", stdout=f"{FINAL} aaa\n{TMP} aaa\n<none>:<none> bbb\n")
    result = snapshot(stub_docker, dirs, "clean", "s1")
    assert result.returncode == 0, result.stderr
    assert [c for c in argvs(stub_docker) if c[0] == "rmi"] == [["rmi", TMP], ["rmi", "bbb"]]
    assert sorted(p.name for p in dirs[0].iterdir()) == ["s1.json", "s1.tar"]


def test_remove_removes_the_snapshot_whole(stub_docker: StubDocker, dirs: tuple[Path, Path]) -> None:
    dirs[0].mkdir()
    for name in ("s1.tar", "s1.json", "s1.json.part", "other.tar"):
        (dirs[0] / name).write_bytes(b"x")
    stub_docker.answer("image", "ls", stdout=f"{FINAL} aaa\n")
    result = snapshot(stub_docker, dirs, "remove", "s1")
    assert result.returncode == 0, result.stderr
    assert [c for c in argvs(stub_docker) if c[0] == "rmi"] == [["rmi", FINAL]]
    assert sorted(p.name for p in dirs[0].iterdir()) == ["other.tar"]


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("take", "demo", "s1", "runsc"),
        ("take", "de$mo", "s1", "runsc", "2025-01-01T00:00:00Z"),
        ("take", "demo", "s1", "runsc", '2025"'),
        ("remove", "../etc"),
        ("remove", "S1"),
        ("clean", "s1", "extra"),
        ("frobnicate", "s1"),
    ],
)
def test_bad_usage_exits_64_without_touching_docker(
    stub_docker: StubDocker, dirs: tuple[Path, Path], args: tuple[str, ...]
) -> None:
    result = snapshot(stub_docker, dirs, *args) if args else snapshot(stub_docker, dirs, "take")
    assert result.returncode == 64
    assert result.stderr.startswith(b"usage: pinacle-snapshot take SLUG NAME RUNTIME CREATED")
    assert argvs(stub_docker) == []
