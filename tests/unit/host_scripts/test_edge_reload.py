"""pinacle-edge-reload, run for real against a throwaway nginx (PINACLE_EDGE_CONF, PINACLE_EDGE_PID).

The edge's own behaviour after a reload (a stopped pod answers 421 at once) is tested through real
pods in tests/integration/edge; these tests pin the script itself on an nginx that starts in a few ms.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tests.ports import free_port

SCRIPT = Path(__file__).resolve().parents[3] / "src" / "pinacle" / "host_scripts" / "pinacle-edge-reload"


@dataclass
class ThrowawayEdge:
    """An nginx master of its own (config, pid file, error log in one directory), answering one text."""

    directory: Path
    port: int

    @property
    def conf(self) -> Path:
        return self.directory / "nginx.conf"

    @property
    def pidfile(self) -> Path:
        return self.directory / "nginx.pid"

    def write(self, answer: str, extra_listen: int | None = None) -> None:
        listen = f"listen 127.0.0.1:{self.port};" + (f" listen 127.0.0.1:{extra_listen};" if extra_listen else "")
        self.conf.write_text(
            f"pid {self.pidfile};\nerror_log {self.directory / 'error.log'};\n"
            "worker_processes 1;\nevents { worker_connections 64; }\n"
            f'http {{ access_log off; server {{ {listen} return 200 "{answer}"; }} }}\n'
        )

    def start(self) -> None:
        # Not captured: the master daemonizes with the pipes and pytest would wait for their end.
        subprocess.run(
            ["nginx", "-c", str(self.conf)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                self.answer()
                return
            except OSError:
                time.sleep(0.02)
        raise AssertionError(f"the throwaway nginx did not answer on port {self.port} within 10 s")

    def stop(self) -> None:
        # By its pid, not `nginx -s stop`: that parses the config first, and a test may have broken it.
        if not self.pidfile.exists():
            return
        os.kill(int(self.pidfile.read_text()), signal.SIGTERM)
        deadline = time.monotonic() + 10
        while self.pidfile.exists() and time.monotonic() < deadline:
            time.sleep(0.02)  # nginx removes its pid file as it exits

    def reload(self, timeout: int = 30) -> subprocess.CompletedProcess[str]:
        env = {
            **os.environ,
            "PINACLE_EDGE_CONF": str(self.conf),
            "PINACLE_EDGE_PID": str(self.pidfile),
            "PINACLE_EDGE_RELOAD_TIMEOUT": str(timeout),
        }
        return subprocess.run(["sh", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False)

    def answer(self) -> str:
        # A new connection each time, as a browser's first request after `pinacle stop` would be.
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/", timeout=5) as response:
            return str(response.read().decode())


def throwaway_edge(directory: Path) -> ThrowawayEdge:
    if shutil.which("nginx") is None:
        pytest.fail("nginx is missing: scripts/bootstrap.sh installs nginx-light")
    directory.mkdir()
    edge = ThrowawayEdge(directory, free_port())
    edge.write("v0")
    edge.start()
    return edge


@pytest.fixture
def edge(tmp_path: Path) -> Iterator[ThrowawayEdge]:
    started = throwaway_edge(tmp_path / "edge")
    yield started
    started.stop()


def test_a_request_right_after_the_reload_gets_the_new_config(edge: ThrowawayEdge) -> None:
    # A bare `nginx -s reload` returns while the old worker still accepts: some of these would be stale.
    for round_ in range(1, 21):
        edge.write(f"v{round_}")
        result = edge.reload()
        assert result.returncode == 0, result.stderr
        assert edge.answer() == f"v{round_}"


def test_another_nginx_on_the_host_does_not_hold_the_reload(edge: ThrowawayEdge, tmp_path: Path) -> None:
    # Its workers are not the edge master's children: counted as old, they would never go away.
    other = throwaway_edge(tmp_path / "other")
    try:
        edge.write("v1")
        started = time.monotonic()
        result = edge.reload(timeout=5)
        assert result.returncode == 0, result.stderr
        assert time.monotonic() - started < 4
        assert (edge.answer(), other.answer()) == ("v1", "v0")
    finally:
        other.stop()


def test_a_config_the_master_cannot_apply_fails_after_the_timeout(edge: ThrowawayEdge) -> None:
    # Valid to parse, so the signal is sent, but the port is taken: nginx keeps its old workers.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        edge.write("v1", extra_listen=taken.getsockname()[1])
        result = edge.reload(timeout=1)
    assert result.returncode == 1
    assert "did not switch to its new config within 1s" in result.stderr
    assert edge.answer() == "v0"


def test_a_config_nginx_cannot_parse_fails_at_once_and_the_old_one_serves(edge: ThrowawayEdge) -> None:
    edge.conf.write_text("this is not nginx;\n")
    result = edge.reload()
    assert result.returncode != 0
    assert "unknown directive" in result.stderr
    assert edge.answer() == "v0"
