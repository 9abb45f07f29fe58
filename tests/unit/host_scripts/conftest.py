"""Fixtures for the host scripts' tests: the real pinacle-edge-auth daemon on a temporary unix socket."""

from __future__ import annotations

import http.client
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

EDGE_AUTH = Path(__file__).parents[3] / "src" / "pinacle" / "host_scripts" / "pinacle-edge-auth"


class UnixHTTPConnection(http.client.HTTPConnection):
    """http.client over a unix socket: what nginx's `proxy_pass http://unix:PATH:` does."""

    def __init__(self, path: Path, timeout: float = 10) -> None:
        super().__init__("localhost", timeout=timeout)
        self.socket_path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(str(self.socket_path))


@dataclass
class EdgeAuth:
    """A running daemon and the commands of the same script, both on one state directory."""

    state: Path
    socket_path: Path
    process: subprocess.Popen[bytes] | None = None
    outputs: list[bytes] = field(default_factory=list)

    def command(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [sys.executable, str(EDGE_AUTH), *args, "--state", str(self.state)],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
        self.outputs += [result.stdout.encode(), result.stderr.encode()]
        if check:
            assert result.returncode == 0, result.stderr
        return result

    def secret(self, slug: str) -> str:
        return self.command("token", slug).stdout.strip()

    def login_url(self, slug: str, base: str = "", ttl: int | None = None) -> str:
        base = base or f"http://pod-{slug}.localhost"
        extra = ["--ttl", str(ttl)] if ttl is not None else []
        return self.command("login-url", slug, base, *extra).stdout.strip()

    def start(self, *extra: str) -> None:
        argv = [sys.executable, str(EDGE_AUTH), "serve", "--socket", str(self.socket_path), "--state", str(self.state)]
        self.process = subprocess.Popen([*argv, *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.process.stderr.read() if self.process.stderr else ""
            probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                probe.connect(str(self.socket_path))
                return
            except OSError:
                time.sleep(0.05)
            finally:
                probe.close()
        raise AssertionError("pinacle-edge-auth serve did not listen within 15 s")

    def stop(self) -> bytes:
        """Stop the daemon (SIGTERM) and return everything it wrote."""
        if self.process is None:
            return b""
        self.process.terminate()
        out, err = self.process.communicate(timeout=15)
        self.process = None
        self.outputs += [out, err]
        return out + err

    def request(
        self, path: str, headers: dict[str, str] | list[tuple[str, str]], method: str = "GET"
    ) -> http.client.HTTPResponse:
        connection = UnixHTTPConnection(self.socket_path)
        connection.putrequest(method, path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    def raw(self, data: bytes, timeout: float = 10) -> bytes:
        """Send bytes as they are and return whatever comes back until the daemon closes."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.socket_path))
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
            chunks = []
            while chunk := sock.recv(65536):
                chunks.append(chunk)
            return b"".join(chunks)

    def check(self, slug: str, cookie: str | None) -> int:
        headers = {"X-Pinacle-Pod": slug}
        if cookie is not None:
            headers["Cookie"] = cookie
        return self.request("/check", headers).status

    def login(self, slug: str, url: str, scheme: str = "http") -> http.client.HTTPResponse:
        path = url[url.index("/__pinacle/login") :].removeprefix("/__pinacle")
        headers = {
            "X-Pinacle-Pod": slug,
            "X-Pinacle-Cookie-Domain": f"pod-{slug}.localhost",
            "X-Pinacle-Scheme": scheme,
        }
        return self.request(path, headers)

    def cookie_of(self, slug: str) -> str:
        """A fresh session cookie for the pod, as a browser would send it back."""
        response = self.login(slug, self.login_url(slug))
        assert response.status == 302
        return response.headers["Set-Cookie"].split(";")[0]


@pytest.fixture
def edge_auth(tmp_path: Path) -> Iterator[EdgeAuth]:
    daemon = EdgeAuth(state=tmp_path / "state", socket_path=tmp_path / "run" / "edge-auth.sock")
    daemon.start()
    yield daemon
    daemon.stop()
