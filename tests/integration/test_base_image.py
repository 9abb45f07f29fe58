"""The pod base image: docker/build-base-image.sh, its cache, and the image running under gVisor.

Needs a Docker engine with the gVisor runtime registered (name from PINACLE_RUNTIME, default runsc).
The first run builds the image (about a minute, offline via debootstrap); later runs hit the cache.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.integration.helpers import build_image, docker, http_get, http_ok, published, ttyd_output, wait_for

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
DOCKER_DIR = REPO / "docker"
SCRIPT = DOCKER_DIR / "build-base-image.sh"
IMAGE = os.environ.get("PINACLE_BASE_IMAGE", "pinacle/base")
RUNTIME = os.environ.get("PINACLE_RUNTIME", "runsc")
LABEL = "pinacle.base.inputs"

# ttyd as the web-terminal service runs it: as dev, in /workspace, on loopback (the router forwards).
# Bound to 0.0.0.0 here only so the test can also reach it directly through a published port.
WEBTERM_PROGRAM = """\
[program:webterm]
command=ttyd --port 7681 --interface 0.0.0.0 --writable bash -l
user=dev
directory=/workspace
environment=HOME="/home/dev",USER="dev",TERM="xterm-256color"
autorestart=true
startsecs=1
stopasgroup=true
killasgroup=true
"""

# What the router component writes: complete http-context directives, WebSocket-aware.
ROUTER_CONF = """\
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
}
server {
    listen 80 default_server;
    location / {
        proxy_pass http://127.0.0.1:7681;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_buffering off;
        proxy_read_timeout 1h;
    }
}
"""


def run_script(*args: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(SCRIPT), *args], capture_output=True, text=True, timeout=timeout, check=False)


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def base_image(docker_with_gvisor: None) -> dict[str, str]:
    """Builds (or finds cached) pinacle/base; returns its hash, tag, image id and build output."""
    return build_image("base", IMAGE)


@pytest.fixture(scope="module")
def pod(base_image: dict[str, str]) -> Iterator[str]:
    """A container of the base image under gVisor, with ports 80 and 7681 published on loopback."""
    name = f"pinacle-test-{uuid.uuid4().hex[:10]}"
    docker(
        "run", "-d", "--name", name, "--runtime", RUNTIME,
        "--label", "pinacle.test=base-image",
        "-p", "127.0.0.1::80", "-p", "127.0.0.1::7681",
        base_image["tag"],
    )  # fmt: skip
    try:

        def nginx_running() -> bool:
            status = docker("exec", name, "supervisorctl", "status", "nginx", check=False)
            return "RUNNING" in status.stdout

        wait_for("nginx under supervisord", nginx_running, timeout=60)
        yield name
    finally:
        docker("rm", "-f", "-v", name, check=False)


@pytest.fixture(scope="module")
def pod_webterm(pod: str) -> str:
    """ttyd running in the pod as a supervisor program (through the include dir), as user dev."""
    docker(
        "exec", pod, "sh", "-c",
        f"cat > /etc/pinacle/supervisor/webterm.conf <<'EOF'\n{WEBTERM_PROGRAM}EOF\n"
        "pinacle-reload services",
    )  # fmt: skip
    address = published(pod, 7681)
    wait_for("ttyd /", lambda: http_ok(f"http://{address}/"))
    return address


# --- the build script and its cache --------------------------------------------------------------


def test_image_carries_inputs_label(base_image: dict[str, str]) -> None:
    config = json.loads(docker("image", "inspect", "--format", "{{json .Config}}", base_image["tag"]).stdout)
    assert config["Labels"][LABEL] == base_image["hash"]
    assert config["Labels"]["pinacle.base.flavor"] in ("debian-bookworm", "alpine-3.21")
    assert config["Cmd"] == [
        "tini",
        "--",
        "supervisord",
        "-n",
        "-c",
        "/etc/supervisor/supervisord.conf",
    ]
    assert config["WorkingDir"] == "/workspace"
    assert "80/tcp" in config["ExposedPorts"]
    latest = docker("image", "inspect", "--format", "{{.Id}}", f"{IMAGE}:latest").stdout.strip()
    assert latest == base_image["id"]
    no_temp = docker("image", "ls", "-q", f"{IMAGE}-build").stdout.strip()
    assert no_temp == "", "a temporary build tag was left behind"


def test_second_run_is_a_cache_hit(base_image: dict[str, str]) -> None:
    started = time.monotonic()
    again = run_script(timeout=60)
    elapsed = time.monotonic() - started
    assert again.returncode == 0, again.stderr
    assert f"base image up to date: {IMAGE}:{base_image['hash'][:12]}" in again.stdout
    assert "building" not in again.stdout
    assert elapsed < 3, f"cache hit took {elapsed:.2f}s"
    image_id = docker("image", "inspect", "--format", "{{.Id}}", base_image["tag"]).stdout.strip()
    assert image_id == base_image["id"], "the cached image was rebuilt"


def test_inputs_hash_covers_rootfs_files(tmp_path: Path, base_image: dict[str, str]) -> None:
    copy = tmp_path / "docker"
    shutil.copytree(DOCKER_DIR, copy, symlinks=True)
    script = copy / "build-base-image.sh"

    def inputs_hash() -> str:
        result = subprocess.run([str(script), "--print-hash"], capture_output=True, text=True, timeout=30, check=True)
        return result.stdout.strip()

    assert inputs_hash() == base_image["hash"], "hash depends on where the checkout lives"
    (copy / "rootfs" / "etc" / "pinacle" / "router" / "pod.conf").write_text("# changed\n")
    changed = inputs_hash()
    assert changed != base_image["hash"]
    (copy / "rootfs" / "etc" / "pinacle" / "extra.conf").write_text("x\n")
    assert inputs_hash() not in (changed, base_image["hash"])


# --- the image under gVisor ----------------------------------------------------------------------


def test_container_runs_under_gvisor(pod: str) -> None:
    runtime = docker("inspect", "--format", "{{.HostConfig.Runtime}}", pod).stdout.strip()
    assert runtime == RUNTIME
    dmesg = docker("exec", pod, "dmesg").stdout
    assert "gVisor" in dmesg
    pid1 = docker("exec", pod, "cat", "/proc/1/cmdline").stdout.split("\0")
    assert pid1[:2] == ["tini", "--"] and "supervisord" in pid1


def test_supervisord_runs_nginx_and_logs(pod: str) -> None:
    status = docker("exec", pod, "supervisorctl", "status").stdout
    assert "nginx" in status and "RUNNING" in status
    for log in ("supervisord.log", "nginx-error.log"):
        docker("exec", pod, "test", "-f", f"/var/log/pinacle/{log}")
    for directory in ("/etc/pinacle/supervisor", "/etc/pinacle/router", "/workspace"):
        docker("exec", pod, "test", "-d", directory)


def test_placeholder_router_answers_503(pod: str) -> None:
    inside = docker(
        "exec", pod, "curl", "-s", "-w", "\n%{http_code}", "http://127.0.0.1/"
    ).stdout.splitlines()  # fmt: skip
    assert inside[-1] == "503"
    assert "router not configured yet" in inside[0]
    status, body = http_get(f"http://{published(pod, 80)}/some/path")
    assert status == 503 and "router not configured yet" in body


def test_image_lists_its_services(base_image: dict[str, str]) -> None:
    labels = json.loads(docker("image", "inspect", "--format", "{{json .Config.Labels}}", base_image["tag"]).stdout)
    assert labels["pinacle.services"] == "web-terminal"


def test_ttyd_is_the_pinned_build(pod: str) -> None:
    version = docker("exec", pod, "ttyd", "--version").stdout
    assert version.startswith("ttyd version 1.7.7"), version
    assert docker("exec", pod, "test", "-e", "/usr/local/bin/pinacle-webterm", check=False).returncode != 0


def test_build_packages_are_purged(pod: str) -> None:
    listed = docker("exec", pod, "dpkg-query", "-W", "-f", "${Package}\\n").stdout.split()
    for build_only in ("cmake", "gcc", "libwebsockets-dev", "libjson-c-dev", "libuv1-dev", "libssl-dev"):
        assert build_only not in listed
    assert "libwebsockets-evlib-uv" in listed  # ttyd's event loop, loaded as a plugin


def test_dev_user_owns_workspace(pod: str) -> None:
    assert docker("exec", pod, "id", "dev").stdout.strip() == "uid=1000(dev) gid=1000(dev) groups=1000(dev)"
    assert docker("exec", pod, "getent", "passwd", "dev").stdout.strip().endswith(":/home/dev:/bin/bash")
    assert docker("exec", pod, "stat", "-c", "%u:%g", "/workspace").stdout.strip() == "1000:1000"


def test_the_image_ships_no_sudo_that_gvisor_could_not_run(pod: str) -> None:
    # gVisor ignores set-user-ID bits (issue 212): sudo could never work in a pod. Root inside a
    # pod is `pinacle exec --root`, from the host.
    assert docker("exec", pod, "sh", "-c", "command -v sudo", check=False).returncode != 0


def test_webterm_serves_page_and_terminal(pod_webterm: str) -> None:
    status, page = http_get(f"http://{pod_webterm}/")
    assert status == 200
    assert "<title>ttyd - Terminal</title>" in page
    assert http_get(f"http://{pod_webterm}/token") == (200, '{"token": ""}')
    output = ttyd_output(f"ws://{pod_webterm}/ws", "echo $(id -un)-$((6*7)) $TERM\r", "dev-42 xterm-256color")
    assert "dev-42" in output


def test_router_reload_proxies_http_and_websocket(pod: str, pod_webterm: str) -> None:
    docker(
        "exec", pod, "sh", "-c",
        f"cat > /etc/pinacle/router/pod.conf <<'EOF'\n{ROUTER_CONF}EOF\npinacle-reload router",
    )  # fmt: skip
    router = published(pod, 80)
    wait_for("router reload", lambda: http_ok(f"http://{router}/token"), timeout=15)
    status, page = http_get(f"http://{router}/")
    assert status == 200 and "<title>ttyd - Terminal</title>" in page
    output = ttyd_output(f"ws://{router}/ws", "echo routed-$((6*7))\r", "routed-42")
    assert "routed-42" in output


def test_invalid_router_config_is_refused(pod: str) -> None:
    broken = docker(
        "exec", pod, "sh", "-c",
        "echo 'this is not nginx;' > /etc/pinacle/router/zz-broken.conf; pinacle-reload router",
        check=False,
    )  # fmt: skip
    docker("exec", pod, "rm", "-f", "/etc/pinacle/router/zz-broken.conf")
    assert broken.returncode != 0
    status = docker("exec", pod, "supervisorctl", "status", "nginx").stdout
    assert "RUNNING" in status


# Rewrites the router 30 times, each time asking for a page right after `pinacle-reload router` returns.
# With a plain `nginx -s reload` about one request in seven still reached the old worker.
RELOAD_RACE = r"""
stale=0
for i in $(seq 1 30); do
    printf 'server { listen 80 default_server; return 200 "v%s\n"; }\n' "$i" > /etc/pinacle/router/pod.conf
    pinacle-reload router >/dev/null 2>&1
    [ "$(curl -s http://127.0.0.1/)" = "v$i" ] || stale=$((stale + 1))
done
echo "$stale"
"""


def test_router_reload_returns_only_once_the_new_config_serves(pod: str) -> None:
    stale = docker("exec", pod, "sh", "-c", RELOAD_RACE).stdout.strip()
    docker(
        "exec", pod, "sh", "-c",
        f"cat > /etc/pinacle/router/pod.conf <<'EOF'\n{ROUTER_CONF}EOF\npinacle-reload router",
    )  # fmt: skip
    assert stale == "0", f"{stale} of 30 requests right after a reload were answered by the old config"
