"""What the integration tests share: Docker, polling, HTTP, and a client for ttyd's terminal protocol."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from websockets import ConnectionClosed, Origin, Subprotocol
from websockets.sync.client import connect

DOCKER_DIR = Path(__file__).resolve().parents[2] / "docker"


def docker(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False)
    if check and result.returncode != 0:
        raise AssertionError(f"docker {' '.join(args)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
    return result


def wait_for(what: str, probe: Callable[[], bool], timeout: float = 30, every: float = 0.25) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def http_get(url: str, timeout: float = 5) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def http_ok(url: str) -> bool:
    try:
        return http_get(url, timeout=2)[0] == 200
    except OSError:
        return False


def published(container: str, port: int) -> str:
    """host:port that Docker published container ``port`` on (IPv4 loopback)."""
    lines = docker("port", container, f"{port}/tcp").stdout.split()
    return next(a for a in lines if a.startswith("127.0.0.1:"))


def ttyd_output(
    url: str,
    line: str | None,
    expect: str,
    timeout: float = 30,
    origin: str | None = None,
    connect_to: tuple[str, int] | None = None,
) -> str:
    """Open a ttyd terminal's WebSocket, type ``line`` (if any), return its output once ``expect`` shows.

    ttyd 1.7.7's protocol (src/protocol.c, html/src/components/terminal/xterm/index.ts): subprotocol
    ``tty``; the client's first message is JSON ``{"AuthToken", "columns", "rows"}``, which spawns the
    command; input is a message "0" + bytes; the server sends "0" + output, "1" + window title and
    "2" + preferences (JSON). tmux draws a blank as "cursor forward" (ESC [ C): read as a space.

    + origin: the Origin header (a browser always sends one; the pod's router refuses other sites')
    + connect_to: where the TCP connection goes when the URL's host name is a pod's (``*.localhost``)
    """
    parts = urlsplit(url)
    sock = socket.create_connection(connect_to or (parts.hostname or "", parts.port or 80), timeout=10)
    output = b""
    with connect(
        url,
        sock=sock,
        subprotocols=[Subprotocol("tty")],
        origin=Origin(origin) if origin else None,
        open_timeout=10,
        close_timeout=2,
    ) as ws:
        assert ws.subprotocol == "tty"
        ws.send(json.dumps({"AuthToken": "", "columns": 120, "rows": 40}))
        if line is not None:
            ws.send(b"0" + line.encode())
        deadline = time.monotonic() + timeout
        while expect.encode() not in output.replace(b"\x1b[C", b" "):
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"{expect!r} never arrived; terminal output:\n{output!r}")
            try:
                message = ws.recv(timeout=remaining)
            except ConnectionClosed as exc:
                raise AssertionError(f"terminal closed before {expect!r} showed:\n{output!r}") from exc
            frame = message if isinstance(message, bytes) else message.encode()
            if frame[:1] == b"0":
                output += frame[1:]
    return output.replace(b"\x1b[C", b" ").decode(errors="replace")


def build_image(name: str, repository: str, timeout: float = 1800) -> dict[str, str]:
    """Build (or find cached) image NAME (tagged ``REPOSITORY:hash``) with ``docker/build-image.sh``,
    as CI's provisioning does.

    Returns its inputs hash, tag, image ID and the build's output.
    """
    script = [str(DOCKER_DIR / "build-image.sh"), name]
    started = time.monotonic()
    build = subprocess.run(script, capture_output=True, text=True, timeout=timeout, check=False)
    assert build.returncode == 0, f"build failed:\n{build.stdout}\n{build.stderr}"
    sys.stderr.write(f"\n{name} image build: {time.monotonic() - started:.1f}s\n{build.stdout}")
    inputs = subprocess.run([*script, "--print-hash"], capture_output=True, text=True, timeout=60, check=False)
    assert inputs.returncode == 0, inputs.stderr
    inputs_hash = inputs.stdout.strip()
    tag = f"{repository}:{inputs_hash[:12]}"
    image_id = docker("image", "inspect", "--format", "{{.Id}}", tag).stdout.strip()
    return {"hash": inputs_hash, "tag": tag, "id": image_id, "output": build.stdout}


def pod_at_bounds(slug: str) -> dict[str, object]:
    """A valid pod file at the schema's bounds: env of 32 KB (in all) full of quotes, ``$``,
    backslashes, newlines and unicode, and four app commands of 4 KB. Its rollout commands are far
    longer than the 128 KiB Linux allows one argument."""
    hostile = "'\"$`\\\n;$(x)${HOME}"
    first = (hostile * 1000)[:16000]
    second = "'" * 15800 + "ü" * 200
    ports = [
        {
            "name": f"app{i}",
            "port": 4000 + i,
            "command": f"sh -c 'exec python3 -m http.server {4000 + i} --directory /workspace' " + "p" * 3980,
        }
        for i in range(4)
    ]
    return {
        "name": f"bounds {slug}",
        "slug": slug,
        "services": ["web-terminal"],
        "env": {"FIRST": first, "SECOND": second},
        "ports": ports,
        "resources": {"memory": "1g"},
    }
