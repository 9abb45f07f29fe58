"""The host script pinacle-pod-create, run for real against a stub ``docker`` (no real Docker).

It claims a port under the host-wide lock (/run/pinacle/ports.lock: the test creates that directory
and lock file, nothing else), then creates, configures and starts the pod container. The real-Docker
path is covered by the integration tests.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from tests.unit.conftest import StubDocker

from pinacle.pod.ports import CLAIM_LOST_MESSAGE
from pinacle.pod.restoring import RESTORE_DIR, RestoreMarker

SCRIPT = Path(__file__).parents[3] / "src" / "pinacle" / "host_scripts" / "pinacle-pod-create"
FILES_TAR = b"a tar of the router and supervisor files\x00\x01"
CREATE_ARGS = ["--name=pinacle-demo", "--label=pinacle.pod=demo", "pinacle/base:latest"]
HOLDER_QUERY = ["ps", "-a", "--filter", "label=pinacle.port=30000", "--format", '{{.Label "pinacle.pod"}}']
LEFTOVERS_QUERY = ["ps", "-aq", "--filter", "label=pinacle.pod=demo"]
CREATE = ["create", "--label", "pinacle.port=30000", "--publish", "127.0.0.1:30000:80", *CREATE_ARGS]


@pytest.fixture(autouse=True)
def restore_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The restore markers the script reads: a directory of the test's own, empty to begin with."""
    path = tmp_path / "restores"
    path.mkdir()
    monkeypatch.setenv("PINACLE_RESTORE_DIR", str(path))
    return path


def pod_create(stub: StubDocker, *args: str) -> subprocess.CompletedProcess[bytes]:
    argv = list(args) or ["demo", "30000", "127.0.0.1", "--", *CREATE_ARGS]
    return stub.run(["sh", str(SCRIPT), *argv], stdin=FILES_TAR)


def argvs(stub: StubDocker) -> list[list[str]]:
    return [call.argv for call in stub.calls]


def test_script_is_executable() -> None:
    assert SCRIPT.stat().st_mode & 0o111


def test_free_port_is_claimed_then_the_container_is_created_configured_and_started(
    stub_docker: StubDocker,
) -> None:
    result = pod_create(stub_docker)
    assert result.returncode == 0, result.stderr
    assert argvs(stub_docker) == [
        HOLDER_QUERY,
        LEFTOVERS_QUERY,
        CREATE,
        ["cp", "-", "pinacle-demo:/"],
        ["start", "pinacle-demo"],
    ]


def test_the_files_on_stdin_are_copied_into_the_container_unchanged(stub_docker: StubDocker) -> None:
    pod_create(stub_docker)
    copied = [call.stdin for call in stub_docker.calls if call.argv[0] == "cp"]
    assert copied == [FILES_TAR]


def test_a_port_another_pod_claimed_meanwhile_exits_75_and_creates_nothing(stub_docker: StubDocker) -> None:
    stub_docker.answer("ps", "label=pinacle.port=30000", stdout="other\n")
    result = pod_create(stub_docker)
    assert result.returncode == 75
    assert b"host port 30000 was claimed by pod other meanwhile" in result.stderr
    assert CLAIM_LOST_MESSAGE.encode() in result.stderr
    assert argvs(stub_docker) == [HOLDER_QUERY]


def test_the_port_held_by_the_pods_own_old_container_is_no_lost_claim(stub_docker: StubDocker) -> None:
    stub_docker.answer("ps", "label=pinacle.port=30000", stdout="demo\n")
    result = pod_create(stub_docker)
    assert result.returncode == 0, result.stderr
    assert CREATE in argvs(stub_docker)


def test_leftover_containers_of_the_pod_are_removed_before_the_create(stub_docker: StubDocker) -> None:
    stub_docker.answer("ps", "-aq", "label=pinacle.pod=demo", stdout="c0ffee\nbadf00d\n")
    assert pod_create(stub_docker).returncode == 0
    calls = argvs(stub_docker)
    assert calls[2:4] == [["rm", "-f", "c0ffee", "badf00d"], CREATE]


def test_a_container_that_fails_to_start_is_removed_again(stub_docker: StubDocker) -> None:
    stub_docker.answer("start", rc=1, stderr="Error response from daemon: runsc failed\n")
    result = pod_create(stub_docker)
    assert result.returncode == 1
    assert b"pinacle: pod demo did not start on host port 30000" in result.stderr
    assert argvs(stub_docker)[-2:] == [["start", "pinacle-demo"], ["rm", "-f", "pinacle-demo"]]


def test_a_container_whose_files_cannot_be_copied_is_removed_and_not_started(stub_docker: StubDocker) -> None:
    stub_docker.answer("cp", rc=1)
    assert pod_create(stub_docker).returncode == 1
    calls = argvs(stub_docker)
    assert calls[-1] == ["rm", "-f", "pinacle-demo"]
    assert ["start", "pinacle-demo"] not in calls


def test_a_failed_create_stops_before_anything_is_copied(stub_docker: StubDocker) -> None:
    stub_docker.answer("create", rc=125, stderr="Error response from daemon: Conflict\n")
    assert pod_create(stub_docker).returncode != 0
    assert argvs(stub_docker)[-1][0] == "create"


@pytest.mark.parametrize(
    "args",
    [
        (),
        ("demo", "30000", "127.0.0.1", "--"),
        ("demo", "30000", "127.0.0.1", "pinacle/base:latest", "--name=x"),
    ],
    ids=["no_arguments", "no_create_arguments", "no_separator"],
)
def test_bad_usage_exits_64_without_touching_docker(stub_docker: StubDocker, args: tuple[str, ...]) -> None:
    result = stub_docker.run(["sh", str(SCRIPT), *args])
    assert result.returncode == 64
    assert result.stderr.startswith(b"usage: pinacle-pod-create SLUG PORT PUBLISH_ADDRESS --")
    assert stub_docker.calls == []


def test_the_script_reads_the_restore_markers_where_pinacle_writes_them() -> None:
    assert f"restore_dir=${{PINACLE_RESTORE_DIR:-{RESTORE_DIR}}}" in SCRIPT.read_text()


def test_a_port_another_pods_unfinished_restore_keeps_exits_75_and_creates_nothing(
    stub_docker: StubDocker, restore_dir: Path
) -> None:
    (restore_dir / "other.json").write_text(RestoreMarker("other", "snap-1", 30000).to_json())
    result = pod_create(stub_docker)
    assert result.returncode == 75
    assert b"host port 30000 is kept by the unfinished restore of pod other" in result.stderr
    assert argvs(stub_docker) == [HOLDER_QUERY]


def test_a_restore_keeping_another_port_leaves_this_one_free(stub_docker: StubDocker, restore_dir: Path) -> None:
    (restore_dir / "other.json").write_text(RestoreMarker("other", "snap-1", 300001).to_json())
    (restore_dir / "third.json").write_text(RestoreMarker("third", "snap-1", None).to_json())
    assert pod_create(stub_docker).returncode == 0
    assert CREATE in argvs(stub_docker)


def test_the_pods_own_unfinished_restore_may_take_the_port_it_keeps(stub_docker: StubDocker, restore_dir: Path) -> None:
    (restore_dir / "demo.json").write_text(RestoreMarker("demo", "snap-1", 30000).to_json())
    assert pod_create(stub_docker).returncode == 0
    assert CREATE in argvs(stub_docker)
