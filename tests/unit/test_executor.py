"""The executor's ``@local`` reads: one ``sh -c`` each, no pyinfra; failures fail loudly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pinacle import executor
from pinacle.errors import HostError
from pinacle.readers import Read
from tests.unit.conftest import StubDocker

REPO = Path(__file__).resolve().parents[2]


def test_a_local_read_runs_its_command_and_parses_its_lines() -> None:
    host = executor.LocalHost()
    assert host.name == "@local"
    assert executor.read(host, Read("printf 'a\\nb\\n'", list, list)) == ["a", "b"]
    assert executor.read(host, Read("true", list, lambda: ["default"])) == ["default"]


def test_a_local_read_that_fails_says_what_failed() -> None:
    with pytest.raises(HostError, match="@local: reading the host failed: it broke"):
        executor.read(executor.LocalHost(), Read("echo it broke >&2; exit 3", list, list))


def test_local_is_local_and_its_session_has_no_pyinfra_state_until_a_deploy() -> None:
    code = (
        "import sys\n"
        "from pinacle import executor\n"
        "with executor.session('@local') as s:\n"
        "    [host] = s.hosts\n"
        "    assert executor.is_local(host)\n"
        "    assert s.read(host, executor.Read('echo 1', list, list)) == ['1']\n"
        "assert not any(m.split('.')[0] in ('pyinfra', 'paramiko', 'gevent') for m in sys.modules), 'pyinfra loaded'\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr


def test_a_session_reads_a_pyinfra_fact_class_on_local_with_its_own_command_and_parser() -> None:
    from pinacle.facts.host import PathExists

    session = executor.Session("@local")
    [host] = session.hosts
    assert session.fact(host, PathExists, path="/") is True
    assert session.fact(host, PathExists, path="/no/such/path") is False


def test_the_use_cases_import_their_deploys_only_when_they_apply_one() -> None:
    code = (
        "import sys\n"
        "import pinacle.app.doctor, pinacle.app.pods, pinacle.app.rollout, pinacle.app.snapshots\n"
        "import pinacle.cli.deploy, pinacle.cli.doctor, pinacle.cli.pods, pinacle.cli.snapshot\n"
        "assert 'pyinfra' not in sys.modules, 'pyinfra loaded'\n"
        "from pinacle.app import pods\n"
        "assert callable(pods.deploys.stop_pod) and 'pyinfra' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=False)
    assert done.returncode == 0, done.stderr


def test_pinacle_list_with_docker_down_exits_4_naming_it(stub_docker: StubDocker) -> None:
    stub_docker.answer(rc=1, stderr="Cannot connect to the Docker daemon at unix:///var/run/docker.sock\n")
    result = stub_docker.run([sys.executable, "-m", "pinacle.cli.main", "list", "-i", "@local"])
    assert result.returncode == 4, result.stderr
    assert b"Docker is not running" in result.stderr


def test_pinacle_deploy_with_docker_refusing_exits_4_with_dockers_message(
    stub_docker: StubDocker, tmp_path: Path
) -> None:
    stub_docker.answer(rc=1, stderr="permission denied while trying to connect to the Docker daemon socket\n")
    pod = tmp_path / "pod.yaml"
    pod.write_text("name: x\nslug: perf-unit-x\nservices: [web-terminal]\n")
    result = stub_docker.run([sys.executable, "-m", "pinacle.cli.deploy", "-i", "@local", str(pod)])
    assert result.returncode == 4, result.stderr
    assert b"Docker failed while pinacle read the host" in result.stderr
    assert b"permission denied" in result.stderr


def test_a_read_ahead_is_taken_by_the_next_read_of_the_same_command(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    command = f"echo once >> {marker}; cat {marker}"
    executor.read_ahead("@local", Read(command, list, list))
    executor.read_ahead("@local", Read(command, list, list))  # already under way: not started twice
    host = executor.LocalHost()
    assert executor.read(host, Read(command, list, list)) == ["once"]
    assert executor.read(host, Read(command, list, list)) == ["once", "once"]  # taken once, then read anew


def test_a_read_ahead_the_block_did_not_take_is_not_taken_after_it(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    command = f"echo once >> {marker}; cat {marker}"
    with executor.reading_ahead("@local", Read(command, list, list)):
        pass  # nothing in the block read it
    assert marker.read_text() == "once\n"  # it ran, and was waited for
    assert executor.read(executor.LocalHost(), Read(command, list, list)) == ["once", "once"]  # read anew


def test_a_block_reading_ahead_takes_what_it_started(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    command = f"echo once >> {marker}; cat {marker}"
    with executor.reading_ahead("@local", Read(command, list, list)):
        assert executor.read(executor.LocalHost(), Read(command, list, list)) == ["once"]
    assert marker.read_text() == "once\n"


def test_nothing_is_read_ahead_on_other_targets(tmp_path: Path) -> None:
    marker = tmp_path / "ran"
    executor.read_ahead("@ssh/elsewhere", Read(f"touch {marker}", list, list))
    executor.read_ahead("inventory/dev.py", Read(f"touch {marker}", list, list))
    assert not marker.exists()
