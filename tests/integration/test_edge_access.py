"""``pinacle token`` and ``pinacle open`` against a real pod, with the credential daemon from this
branch installed in a temporary prefix (its state there too), answering real HTTP on its socket.

The edge's nginx in front of it is the edge tests' business; here the daemon is asked exactly what
nginx asks it (``/check`` with the browser's cookie, ``/login`` with the link's token).
"""

from __future__ import annotations

import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.integration.conftest import REPO, docker, pinacle_deploy, remove_pod_resources

SCRIPT = REPO / "src" / "pinacle" / "host_scripts" / "pinacle-edge-auth"


@dataclass
class Prefix:
    """The script installed under a temporary prefix, its state directory and its running daemon."""

    script: Path
    state: Path
    socket_path: Path

    def ask(self, path: str, headers: dict[str, str]) -> http.client.HTTPResponse:
        connection = http.client.HTTPConnection("localhost", timeout=10)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(10)
        sock.connect(str(self.socket_path))
        connection.sock = sock
        connection.putrequest("GET", path, skip_host=True, skip_accept_encoding=True)
        for name, value in headers.items():
            connection.putheader(name, value)
        connection.endheaders()
        response = connection.getresponse()
        response.read()
        connection.close()
        return response

    def check(self, slug: str, cookie: str) -> int:
        return self.ask("/check", {"X-Pinacle-Pod": slug, "Cookie": cookie}).status

    def login(self, slug: str, url: str) -> http.client.HTTPResponse:
        host = url.split("://", 1)[1].split("/", 1)[0]
        headers = {
            "X-Pinacle-Pod": slug,
            "X-Pinacle-Scheme": "http",
            "X-Pinacle-Cookie-Domain": f"pod-{slug}.localhost",
        }
        assert host.endswith(f"pod-{slug}.localhost")
        return self.ask(url[url.index("/__pinacle/login") :].removeprefix("/__pinacle"), headers)


@pytest.fixture(scope="module")
def prefix(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Prefix]:
    """``make install PREFIX=tmp``: the script with its default state directory under the prefix."""
    tmp_path = tmp_path_factory.mktemp("auth-prefix")
    lib, state = tmp_path / "lib" / "pinacle", tmp_path / "var" / "lib" / "pinacle" / "edge"
    lib.mkdir(parents=True)
    installed = lib / "pinacle-edge-auth"
    source = SCRIPT.read_text()
    assert source.count('DEFAULT_STATE = "/var/lib/pinacle/edge"') == 1
    installed.write_text(source.replace('DEFAULT_STATE = "/var/lib/pinacle/edge"', f'DEFAULT_STATE = "{state}"'))
    installed.chmod(0o755)
    socket_path = tmp_path / "run" / "edge-auth.sock"
    daemon = subprocess.Popen(
        [str(installed), "serve", "--socket", str(socket_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 15
    while not socket_path.exists():
        assert daemon.poll() is None and time.monotonic() < deadline, "the daemon did not start"
        time.sleep(0.05)
    yield Prefix(installed, state, socket_path)
    daemon.terminate()
    daemon.communicate(timeout=15)


def pinacle(prefix: Prefix, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PINACLE_INVENTORY": "@local", "PINACLE_EDGE_AUTH_SCRIPT": str(prefix.script)}
    return subprocess.run(
        [sys.executable, "-m", "pinacle.cli.main", *args], capture_output=True, text=True, timeout=300, env=env
    )


def _deploy(directory: Path, **fields: Any) -> dict[str, Any]:
    slug = f"auth-{uuid.uuid4().hex[:8]}"
    data = {"name": f"auth {slug}", "slug": slug, "image": "pinacle/base:latest", "services": ["web-terminal"]}
    data.update(fields)
    path = directory / f"{slug}.yaml"
    path.write_text(yaml.safe_dump(data))
    pinacle_deploy(str(path))
    return data


@pytest.fixture(scope="module")
def pod(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One pod for the tests that only read or rotate its credential (a deploy costs seconds)."""
    data = _deploy(tmp_path_factory.mktemp("auth-pod"))
    yield data
    remove_pod_resources(data["slug"])


@pytest.fixture
def own_pod(tmp_path: Path) -> Iterator[dict[str, Any]]:
    data = _deploy(tmp_path)
    yield data
    remove_pod_resources(data["slug"])


def cookie_from(response: http.client.HTTPResponse) -> str:
    assert response.status == 302, response.status
    return response.headers["Set-Cookie"].split(";")[0]


def test_token_prints_the_pods_secret_from_the_host(prefix: Prefix, pod: dict[str, Any]) -> None:
    result = pinacle(prefix, "token", pod["slug"])
    assert result.returncode == 0, result.stderr
    secret = result.stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{64}", secret)
    assert (prefix.state / "secrets" / pod["slug"]).read_text() == secret + "\n"
    assert pinacle(prefix, "token", pod["slug"]).stdout.strip() == secret


def test_open_gives_a_link_that_logs_in_once(prefix: Prefix, pod: dict[str, Any]) -> None:
    slug = pod["slug"]
    result = pinacle(prefix, "open", slug, "web-terminal")
    assert result.returncode == 0, result.stderr
    url = result.stdout.strip()
    assert re.match(rf"https?://localhost-7681\.pod-{slug}\.localhost(:[0-9]+)?/__pinacle/login\?t=v1\.", url)
    cookie = cookie_from(prefix.login(slug, url))
    assert prefix.check(slug, cookie) == 204
    assert prefix.login(slug, url).status == 403
    main = pinacle(prefix, "open", slug).stdout.strip()
    assert re.match(rf"https?://pod-{slug}\.localhost(:[0-9]+)?/__pinacle/login\?t=v1\.", main)


def test_rotation_changes_the_secret_and_refuses_the_old_cookie_and_links(prefix: Prefix, pod: dict[str, Any]) -> None:
    slug = pod["slug"]
    before = pinacle(prefix, "token", slug).stdout.strip()
    cookie = cookie_from(prefix.login(slug, pinacle(prefix, "open", slug).stdout.strip()))
    unused = pinacle(prefix, "open", slug).stdout.strip()
    rotated = pinacle(prefix, "token", slug, "--rotate")
    assert rotated.returncode == 0, rotated.stderr
    assert re.fullmatch(r"[0-9a-f]{64}\n", rotated.stdout) and rotated.stdout.strip() != before
    assert prefix.check(slug, cookie) == 401
    assert prefix.login(slug, unused).status == 403
    assert prefix.check(slug, cookie_from(prefix.login(slug, pinacle(prefix, "open", slug).stdout.strip()))) == 204


def test_the_secret_is_in_no_label_and_no_other_output(prefix: Prefix, pod: dict[str, Any]) -> None:
    slug = pod["slug"]
    secret = pinacle(prefix, "token", slug).stdout.strip()
    outputs = [docker("inspect", f"pinacle-{slug}")]
    for args in (("status", slug, "--json"), ("list", "--json"), ("open", slug)):
        result = pinacle(prefix, *args)
        outputs += [result.stdout, result.stderr]
    assert json.loads(outputs[1])["pods"][0]["slug"] == slug
    assert all(secret not in output for output in outputs)


def test_an_unknown_pod_or_service_is_refused_like_other_commands(prefix: Prefix, pod: dict[str, Any]) -> None:
    missing = pinacle(prefix, "open", "auth-no-such-pod")
    assert (missing.returncode, missing.stderr.strip()) == (
        7,
        "error: no pod auth-no-such-pod on @local; see `pinacle list`",
    )
    assert pinacle(prefix, "token", "auth-no-such-pod").returncode == 7
    unknown = pinacle(prefix, "open", pod["slug"], "code-server")
    assert unknown.returncode == 64 and "its services: web-terminal" in unknown.stderr


def test_delete_purge_forgets_the_secret(prefix: Prefix, own_pod: dict[str, Any]) -> None:
    slug = own_pod["slug"]
    assert pinacle(prefix, "token", slug).returncode == 0
    deleted = pinacle(prefix, "delete", slug, "--purge")
    assert deleted.returncode == 0, deleted.stderr
    assert not (prefix.state / "secrets" / slug).exists()


def test_open_on_a_public_name_prints_the_plain_url_and_mints_no_token(prefix: Prefix, tmp_path: Path) -> None:
    data = _deploy(tmp_path, visibility={"web-terminal": "public"})
    try:
        result = pinacle(prefix, "open", data["slug"], "web-terminal")
        assert result.returncode == 0, result.stderr
        assert re.fullmatch(rf"https?://localhost-7681\.pod-{data['slug']}\.localhost(:[0-9]+)?/\n", result.stdout)
        assert "public: no login needed" in result.stderr
        assert not (prefix.state / "secrets" / data["slug"]).exists()
    finally:
        remove_pod_resources(data["slug"])
