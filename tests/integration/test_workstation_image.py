"""The workstation image: docker/build-image.sh workstation, its cache, and its services under gVisor.

Needs a Docker engine with the gVisor runtime registered (name from PINACLE_RUNTIME, default runsc).
The first run builds the image (several minutes: debootstrap of trixie, ttyd, npm ci of code-server,
Claude Code and Vibe Kanban); later runs hit the cache. Every service runs as a supervisor program
as user dev, started with the command the catalog uses, and is checked from inside the sandbox.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.helpers import build_image, docker, published, ttyd_output, wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO / "docker"
SCRIPT = DOCKER_DIR / "build-image.sh"
IMAGE = os.environ.get("PINACLE_WORKSTATION_IMAGE", "pinacle/workstation")
RUNTIME = os.environ.get("PINACLE_RUNTIME", "runsc")
LABEL = "pinacle.workstation.inputs"
SERVICES = "web-terminal,code-server,claude-code,vibe-kanban"

CODE_SERVER_VERSION = "4.100.3"
VIBE_KANBAN_VERSION = "0.0.71"
NODE_LOCK = json.loads((DOCKER_DIR / "images" / "workstation" / "node" / "package-lock.json").read_text())
CLAUDE_CODE_VERSION = NODE_LOCK["packages"]["node_modules/@anthropic-ai/claude-code"]["version"]

# name -> (port, command): the start commands of the catalog's services, run as dev.
PROGRAMS: dict[str, tuple[int, str]] = {
    "web-terminal": (7681, "ttyd --port 7681 --interface 127.0.0.1 --writable bash -l"),
    "code-server": (
        8726,
        "code-server --bind-addr 127.0.0.1:8726 --auth none --disable-telemetry --disable-update-check"
        " --disable-workspace-trust /workspace",
    ),
    "claude-code": (2528, "ttyd --port 2528 --interface 127.0.0.1 --writable tmux new -As claude claude"),
    # No browser is opened (none in the image: it logs "Failed to open browser automatically").
    "vibe-kanban": (5262, "env PORT=5262 HOST=127.0.0.1 vibe-kanban"),
}
PROGRAM_ENV = 'HOME="/home/dev",USER="dev",TERM="xterm-256color"'
# The test reaches the loopback-bound services through the pod's own router: one listen port each.
ROUTER_PORTS = {"web-terminal": 8001, "claude-code": 8002}


def run_script(*args: str, timeout: float = 1800) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SCRIPT), "workstation", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


def http_status_inside(pod: str, url: str, *headers: str) -> str:
    """HTTP status code of `url` fetched with curl inside the pod ("000" when nothing answers)."""
    args = ["exec", pod, "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "5"]
    for header in headers:
        args += ["-H", header]
    return docker(*args, url, check=False).stdout.strip()


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def workstation_image(docker_with_gvisor: None) -> dict[str, str]:
    """Builds (or finds cached) pinacle/workstation; returns its hash, tag and image id."""
    return build_image("workstation", IMAGE)


@pytest.fixture(scope="module")
def pod(workstation_image: dict[str, str]) -> Iterator[str]:
    """A workstation container under gVisor on its own bridge network, a fresh volume on /workspace."""
    name = f"imgtest-ws-{uuid.uuid4().hex[:10]}"
    docker("volume", "create", "--label", "pinacle.test=workstation-image", name)
    ports = [arg for port in ROUTER_PORTS.values() for arg in ("-p", f"127.0.0.1::{port}")]
    try:
        docker(
            "run", "-d", "--name", name, "--runtime", RUNTIME, "--label", "pinacle.test=workstation-image",
            "--memory", "3g", "-v", f"{name}:/workspace", *ports, workstation_image["tag"],
        )  # fmt: skip

        def nginx_running() -> bool:
            return "RUNNING" in docker("exec", name, "supervisorctl", "status", "nginx", check=False).stdout

        wait_for("nginx under supervisord", nginx_running, timeout=60)
        yield name
    finally:
        docker("rm", "-f", "-v", name, check=False)
        docker("volume", "rm", "-f", name, check=False)


@pytest.fixture(scope="module")
def services(pod: str) -> str:
    """All four services as supervisor programs (user dev) plus router ports for the two terminals."""
    conf = ""
    for program, (_, command) in PROGRAMS.items():
        conf += (
            f"[program:{program}]\ncommand={command}\nuser=dev\ndirectory=/workspace\n"
            f"environment={PROGRAM_ENV}\nautorestart=true\nstartsecs=1\nstopasgroup=true\nkillasgroup=true\n"
            f"stdout_logfile=/var/log/pinacle/{program}.log\nredirect_stderr=true\n\n"
        )
    router = "map $http_upgrade $connection_upgrade { default upgrade; '' close; }\n"
    router += "server { listen 80 default_server; return 404; }\n"
    for program, listen in ROUTER_PORTS.items():
        router += (
            f"server {{ listen {listen}; location / {{ proxy_pass http://127.0.0.1:{PROGRAMS[program][0]};"
            " proxy_http_version 1.1; proxy_set_header Upgrade $http_upgrade;"
            " proxy_set_header Connection $connection_upgrade; proxy_read_timeout 1h; } }\n"
        )
    docker(
        "exec", pod, "sh", "-c",
        f"cat > /etc/pinacle/supervisor/services.conf <<'EOF'\n{conf}EOF\n"
        f"cat > /etc/pinacle/router/pod.conf <<'EOF'\n{router}EOF\n"
        "pinacle-reload",
    )  # fmt: skip
    return pod


# --- the build script and its cache --------------------------------------------------------------


def test_image_carries_inputs_label(workstation_image: dict[str, str]) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", workstation_image["tag"]).stdout)
    assert config["Labels"][LABEL] == workstation_image["hash"]
    assert config["Labels"]["pinacle.workstation.flavor"] == "debian-trixie"
    assert config["Cmd"] == ["tini", "--", "supervisord", "-n", "-c", "/etc/supervisor/supervisord.conf"]
    assert config["WorkingDir"] == "/workspace"
    latest = docker("image", "inspect", "--format", "{{.Id}}", f"{IMAGE}:latest").stdout.strip()
    assert latest == workstation_image["id"]


def test_image_lists_its_services(workstation_image: dict[str, str]) -> None:
    labels = json.loads(
        docker("image", "inspect", "--format", "{{json .Config.Labels}}", workstation_image["tag"]).stdout
    )
    assert labels["pinacle.services"] == SERVICES


def test_second_run_is_a_cache_hit(workstation_image: dict[str, str]) -> None:
    started = time.monotonic()
    again = run_script(timeout=60)
    elapsed = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    assert f"workstation image up to date: {workstation_image['tag']}" in again.stdout
    assert elapsed < 3, f"cache hit took {elapsed:.2f}s"


def test_inputs_hash_differs_from_the_base_image() -> None:
    base = subprocess.run(
        [str(DOCKER_DIR / "build-base-image.sh"), "--print-hash"], capture_output=True, text=True, check=True
    )
    workstation = run_script("--print-hash")
    assert workstation.returncode == 0
    assert workstation.stdout.strip() != base.stdout.strip()


# --- contents -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("ttyd --version", "ttyd version 1.7.7"),
        ("code-server --version", CODE_SERVER_VERSION),
        ("claude --version", f"{CLAUDE_CODE_VERSION} (Claude Code)"),
        ("node --version", "v20."),
        ("rg --version", "ripgrep 14."),
    ],
)
def test_binary_at_its_pinned_version(pod: str, command: str, expected: str) -> None:
    result = docker("exec", "--user", "dev", "-e", "HOME=/home/dev", pod, "sh", "-c", command, check=False)
    assert result.returncode == 0, result.stderr
    assert expected in result.stdout


def test_vibe_kanban_is_the_pinned_package(pod: str) -> None:
    package = docker("exec", pod, "cat", "/opt/pinacle/node/node_modules/vibe-kanban/package.json").stdout
    assert json.loads(package)["version"] == VIBE_KANBAN_VERSION
    target = docker("exec", pod, "readlink", "-f", "/usr/local/bin/vibe-kanban").stdout.strip()
    assert target == "/opt/pinacle/vibe-kanban/vibe-kanban"


def test_developer_tools_are_on_path(pod: str) -> None:
    tools = "tmux vim nano git rg curl htop less ps ssh node npm code-server claude vibe-kanban ttyd"
    missing = docker("exec", pod, "sh", "-c", f"for t in {tools}; do command -v $t >/dev/null || echo $t; done")
    assert missing.stdout.strip() == ""


def test_fresh_workspace_volume_is_owned_by_dev(pod: str) -> None:
    assert docker("exec", pod, "stat", "-c", "%U:%G", "/workspace").stdout.strip() == "dev:dev"
    docker("exec", "--user", "dev", pod, "touch", "/workspace/.written-by-dev")


def test_the_image_ships_no_sudo_that_gvisor_could_not_run(pod: str) -> None:
    # gVisor ignores set-user-ID bits (issue 212): sudo could never work in a pod. Root inside a
    # pod is `pinacle exec --root`, from the host.
    assert docker("exec", pod, "sh", "-c", "command -v sudo", check=False).returncode != 0


# --- the services under gVisor, as dev ------------------------------------------------------------


def test_services_run_as_dev(services: str) -> None:
    def all_running() -> bool:
        status = docker("exec", services, "supervisorctl", "status", check=False).stdout
        return all(f"{name}" in status for name in PROGRAMS) and status.count("RUNNING") == len(PROGRAMS) + 1

    wait_for("the four services", all_running, timeout=60)
    users = docker("exec", services, "ps", "-o", "user=", "-C", "ttyd,node,vibe-kanban").stdout.split()
    assert users and set(users) == {"dev"}


def test_web_terminal_runs_a_login_shell_as_dev(services: str) -> None:
    assert http_status_inside(services, "http://127.0.0.1:7681/") == "200"
    url = f"ws://{published(services, ROUTER_PORTS['web-terminal'])}/ws"
    output = ttyd_output(url, "echo $(id -un)-$((6*7)) $TERM $HOME\r", "dev-42 xterm-256color /home/dev")
    assert "dev-42" in output


@pytest.mark.parametrize(
    ("program", "marker"),
    [("htop", "Quit"), ("top", "load average"), ("vi /tmp/imgtest.txt", "[New]")],
)
def test_web_terminal_runs_full_screen_programs(services: str, program: str, marker: str) -> None:
    url = f"ws://{published(services, ROUTER_PORTS['web-terminal'])}/ws"
    screen = ttyd_output(url, f"{program}\r", marker, timeout=30)
    assert marker in screen


def test_code_server_health(services: str) -> None:
    wait_for("code-server /healthz", lambda: http_status_inside(services, "http://127.0.0.1:8726/healthz") == "200")
    assert http_status_inside(services, "http://127.0.0.1:8726/") in ("200", "302")


@pytest.mark.parametrize(("origin", "status"), [("same", "101"), ("foreign", "403")])
def test_code_server_websocket_origin_check(services: str, origin: str, status: str) -> None:
    forwarded = "localhost-8726.pod-imgtest.localhost:30000"
    origin_url = f"http://{forwarded}" if origin == "same" else "http://evil.example:30000"
    wait_for("code-server /healthz", lambda: http_status_inside(services, "http://127.0.0.1:8726/healthz") == "200")
    got = http_status_inside(
        services,
        "http://127.0.0.1:8726/?reconnectionToken=imgtest&reconnection=false&skipWebSocketFrames=false",
        "Connection: Upgrade",
        "Upgrade: websocket",
        "Sec-WebSocket-Version: 13",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        f"X-Forwarded-Host: {forwarded}",
        f"Origin: {origin_url}",
    )
    assert got == status


def test_claude_code_shows_its_first_screen(services: str) -> None:
    wait_for("claude-code ttyd", lambda: http_status_inside(services, "http://127.0.0.1:2528/") == "200")
    url = f"ws://{published(services, ROUTER_PORTS['claude-code'])}/ws"
    # Its first screen: the welcome banner and, without a network route to its API (as here), its own
    # "Unable to connect to Anthropic services" notice; then it exits and tmux with it.
    screen = ttyd_output(url, None, "Claude Code", timeout=60)
    assert "Claude Code" in screen


def test_vibe_kanban_health_and_ui(services: str) -> None:
    wait_for(
        "vibe-kanban /api/health",
        lambda: http_status_inside(services, "http://127.0.0.1:5262/api/health") == "200",
        timeout=60,
    )
    page = docker("exec", services, "curl", "-s", "http://127.0.0.1:5262/").stdout
    assert "<html" in page.lower() and "<script" in page
