"""Production's path: pinacle-deploy and pinacle reaching a pod host over SSH.

The "remote" host is this machine behind a throwaway sshd on a loopback port, with its own host
key and an authorized client key. Every command below goes through pyinfra's SSH connector (or,
for logs and exec, the ssh client built from the same host data); the sshd log proves it.
Needs /usr/sbin/sshd (scripts/bootstrap.sh installs openssh-server on apt hosts).
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from tests.integration.conftest import REPO, SLUG_PREFIX, remove_pod_resources, run
from tests.integration.helpers import pod_at_bounds
from tests.ports import free_port

from pinacle.operations._shell import STAGING_DIR

pytestmark = pytest.mark.integration

SSHD = Path("/usr/sbin/sshd")
STAGING = Path(STAGING_DIR)


@pytest.fixture(scope="module")
def ssh_dir(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A running sshd on 127.0.0.1 that lets in root with a key of its own; its directory."""
    if not SSHD.exists():
        pytest.fail("/usr/sbin/sshd is missing: run scripts/bootstrap.sh as root (installs openssh-server)")
    directory = tmp_path_factory.mktemp("sshd")
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(directory / "host_key"))
    run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(directory / "client_key"))
    (directory / "authorized_keys").write_text((directory / "client_key.pub").read_text())
    port = free_port()
    (directory / "sshd_config").write_text(
        f"Port {port}\nListenAddress 127.0.0.1\nHostKey {directory / 'host_key'}\n"
        f"PidFile {directory / 'sshd.pid'}\nAuthorizedKeysFile {directory / 'authorized_keys'}\n"
        "PermitRootLogin prohibit-password\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n"
        "StrictModes no\nUsePAM no\nLogLevel VERBOSE\n"
    )
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    log = directory / "sshd.log"
    sshd = subprocess.Popen([str(SSHD), "-D", "-f", str(directory / "sshd_config"), "-E", str(log)])
    deadline = time.monotonic() + 15
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            break
        except OSError:
            if time.monotonic() > deadline or sshd.poll() is not None:
                raise AssertionError(f"sshd did not start:\n{log.read_text() if log.exists() else ''}") from None
            time.sleep(0.1)
    host_data = {
        "ssh_port": port,
        "ssh_user": "root",
        "ssh_key": str(directory / "client_key"),
        "ssh_known_hosts_file": str(directory / "known_hosts"),
        "ssh_strict_host_key_checking": "accept-new",
    }
    (directory / "inventory.py").write_text(f"pod_hosts = [('127.0.0.1', {host_data!r})]\n")
    try:
        yield directory
    finally:
        sshd.terminate()
        sshd.wait(timeout=10)


def pinacle(ssh_dir: Path, *args: str, check: bool = True, **kwargs: object) -> subprocess.CompletedProcess[str]:
    """``pinacle ARGS -i <the SSH inventory>``, run as a user would (no PINACLE_INVENTORY)."""
    env = {k: v for k, v in os.environ.items() if k != "PINACLE_INVENTORY"}
    command, *rest = args
    module = "pinacle.cli.deploy" if command == "deploy" else "pinacle.cli.main"
    inventory = ["-i", str(ssh_dir / "inventory.py")]  # before the args: exec takes all after SLUG
    argv = [sys.executable, "-m", module, *([] if command == "deploy" else [command]), *inventory, *rest]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=600, cwd=REPO, env=env, **kwargs)  # type: ignore[call-overload]
    if check and result.returncode != 0:
        raise AssertionError(f"{argv} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def ssh_pod(ssh_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    """A pod deployed over SSH: its slug, file and deploy JSON."""
    slug = f"{SLUG_PREFIX}ssh-{os.urandom(4).hex()}"
    path = tmp_path_factory.mktemp("ssh-pod") / "pod.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "name": f"ssh pod {slug}",
                "slug": slug,
                "services": ["web-terminal"],
                "ports": [
                    {"name": "app", "port": 3000, "command": "python3 -m http.server 3000 --directory /workspace"}
                ],
                "resources": {"memory": "512m"},
            }
        )
    )
    try:
        result = json.loads(pinacle(ssh_dir, "deploy", str(path), "--json").stdout)
        yield {"slug": slug, "path": path, "deploy": result}
    finally:
        remove_pod_resources(slug)


def test_deploy_over_ssh_brings_the_pod_up_behind_its_router(ssh_pod: dict[str, object]) -> None:
    pod = ssh_pod["deploy"]["pods"][0]  # type: ignore[index]
    assert pod["host"] == "127.0.0.1"
    request = urllib.request.Request(
        f"http://127.0.0.1:{pod['host_port']}/", headers={"Host": f"localhost-7681.pod-{ssh_pod['slug']}.localhost"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200 and "<title>ttyd" in response.read().decode()


def test_commands_reached_the_host_through_sshd(ssh_dir: Path, ssh_pod: dict[str, object]) -> None:
    assert "Accepted publickey for root" in (ssh_dir / "sshd.log").read_text()


def test_reapply_over_ssh_reports_no_changes(ssh_dir: Path, ssh_pod: dict[str, object]) -> None:
    again = json.loads(pinacle(ssh_dir, "deploy", str(ssh_pod["path"]), "--json").stdout)
    assert again["changes"] == 0


def test_list_over_ssh_reports_the_pod_healthy(ssh_dir: Path, ssh_pod: dict[str, object]) -> None:
    pods = {p["slug"]: p for p in json.loads(pinacle(ssh_dir, "list", "--json").stdout)["pods"]}
    assert pods[ssh_pod["slug"]]["healthy"] is True
    assert pods[ssh_pod["slug"]]["host"] == "127.0.0.1"


def test_exec_over_ssh_passes_stdin_output_and_exit_code(ssh_dir: Path, ssh_pod: dict[str, object]) -> None:
    slug = str(ssh_pod["slug"])
    result = pinacle(ssh_dir, "exec", slug, "--", "sh", check=False, input="echo from-stdin; exit 4\n")
    assert (result.returncode, result.stdout) == (4, "from-stdin\n")


def test_exec_over_ssh_gets_a_tty_on_a_terminal(ssh_dir: Path, ssh_pod: dict[str, object]) -> None:
    # script(1) gives pinacle a terminal, as a user's shell would.
    env = {k: v for k, v in os.environ.items() if k != "PINACLE_INVENTORY"}
    inner = shlex.join(
        [sys.executable, "-m", "pinacle.cli.main", "exec", "-i", str(ssh_dir / "inventory.py"), str(ssh_pod["slug"]),
         "--", "sh", "-c", "test -t 0 && echo has-a-tty"]
    )  # fmt: skip
    result = run("script", "-qec", inner, "/dev/null", check=False, cwd=REPO, env=env, stdin=subprocess.DEVNULL)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "has-a-tty" in result.stdout


def test_logs_over_ssh_print_the_service_log(ssh_dir: Path, ssh_pod: dict[str, object]) -> None:
    # The deploy's health checks went through the router to the app: its log has them.
    result = pinacle(ssh_dir, "logs", str(ssh_pod["slug"]), "app", "-n", "5")
    assert '"GET / HTTP/1.1" 200' in result.stdout


def test_python_api_over_ssh_from_a_worker_thread(ssh_dir: Path, ssh_pod: dict[str, object]) -> None:
    """The public API with an inventory of SSH hosts, called off the main thread as a web backend would."""
    from concurrent.futures import ThreadPoolExecutor

    from pinacle import PodManager

    slug = str(ssh_pod["slug"])
    manager = PodManager(str(ssh_dir / "inventory.py"))

    def use() -> tuple[object, ...]:
        status = manager.status(slug)
        result = manager.exec(slug, ["sh", "-c", "cat; id -un; exit 2"], stdin="over-ssh\n")
        lines = list(manager.logs(slug, "app", lines=5))
        return status.host, status.healthy, result.exit_code, result.stdout, any("GET / HTTP/1.1" in x for x in lines)

    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(use).result() == ("127.0.0.1", True, 2, "over-ssh\ndev\n", True)


def test_delete_over_ssh_leaves_nothing(ssh_dir: Path, ssh_pod: dict[str, object]) -> None:
    slug = str(ssh_pod["slug"])
    pinacle(ssh_dir, "delete", slug, "--purge")
    label = f"label=pinacle.pod={slug}"
    leftovers = [
        run("docker", *kind, "--filter", label, "-q").stdout.split()
        for kind in (["ps", "-a"], ["network", "ls"], ["volume", "ls"])
    ]
    assert leftovers == [[], [], []]


def test_a_pod_at_the_bounds_rolls_out_over_ssh_through_staged_scripts(ssh_dir: Path, tmp_path: Path) -> None:
    # Its container, config and record commands are past one argument's 128 KiB: pyinfra uploads
    # each as a script into the root-only staging directory, runs it and removes it.
    slug = f"{SLUG_PREFIX}ssh-bounds-{os.urandom(4).hex()}"
    data = pod_at_bounds(slug)
    path = tmp_path / "pod.yaml"
    path.write_text(json.dumps(data))
    try:
        pinacle(ssh_dir, "deploy", str(path))
        (status,) = json.loads(pinacle(ssh_dir, "status", slug, "--json").stdout)["pods"]
        assert status["healthy"] is True and status["host"] == "127.0.0.1"
        env = data["env"]
        assert isinstance(env, dict)
        printed = pinacle(ssh_dir, "exec", slug, "--", "printenv", "FIRST").stdout
        assert printed == env["FIRST"] + "\n"
        assert list(STAGING.iterdir()) == []
        assert json.loads(pinacle(ssh_dir, "deploy", str(path), "--json").stdout)["changes"] == 0
    finally:
        remove_pod_resources(slug)
