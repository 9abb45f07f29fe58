"""Helpers for the browser tests: the pod under test, commands inside it, and reading terminals.

The browser reaches a pod the way a developer does: through its router on the host port, by
host name (``localhost-{PORT}.pod-{SLUG}.localhost``; Chromium resolves ``*.localhost`` to
loopback by itself). Everything here that runs inside the pod goes through ``docker exec`` on the
pod's container, so the tests check the pod from outside the browser too.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from playwright.sync_api import Page, Response

REPO = Path(__file__).resolve().parents[2]
# The image under test; another tag of it can be tried with PINACLE_WORKSTATION_IMAGE.
WORKSTATION_IMAGE = os.environ.get("PINACLE_WORKSTATION_IMAGE") or "pinacle/workstation:latest"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
DOCS_SCREENSHOTS = REPO / "docs" / "screenshots"

# The workstation pod's services: catalog name -> (port inside the pod, health path).
SERVICES: dict[str, tuple[int, str]] = {
    "code-server": (8726, "/healthz"),
    "web-terminal": (7681, "/"),
    "claude-code": (2528, "/"),
    "vibe-kanban": (5262, "/api/health"),
}


def run(*args: str, check: bool = True, timeout: float = 120, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(args, capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(
            f"{shlex.join(args)} failed ({result.returncode}):\nstdout: {result.stdout}\nstderr: {result.stderr}"
        )
    return result


def artifacts_dir() -> Path:
    """Where screenshots go: ``$PINACLE_ARTIFACTS``, or build/artifacts/screenshots (gitignored)."""
    path = Path(os.environ.get("PINACLE_ARTIFACTS") or REPO / "build" / "artifacts" / "screenshots")
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_screenshot(page: Page, name: str, *, docs: str | None = None) -> Path:
    """Save what the browser shows as ``NAME.png`` in the artifacts directory.

    With ``PINACLE_DOCS_SCREENSHOTS=1``, a picture given a DOCS name is also copied to
    docs/screenshots/DOCS.png, the ones the README shows (opt-in, so an ordinary test run leaves
    the work tree alone).
    """
    path = artifacts_dir() / f"{name}.png"
    page.screenshot(path=str(path))
    if docs is not None and os.environ.get("PINACLE_DOCS_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS_SCREENSHOTS / f"{docs}.png")
    return path


@dataclass(frozen=True)
class Pod:
    """A deployed pod as the deploy reported it."""

    slug: str
    host_port: int
    urls: dict[str, str]

    @property
    def container(self) -> str:
        return f"pinacle-{self.slug}"

    def host(self, port: int) -> str:
        return f"localhost-{port}.pod-{self.slug}.localhost"

    def url(self, service: str, path: str = "/") -> str:
        port, _ = SERVICES[service]
        return f"http://{self.host(port)}:{self.host_port}{path}"

    def sh(self, script: str, *, user: str = "dev", check: bool = True, timeout: float = 60) -> str:
        """Run ``sh -c SCRIPT`` in the pod (as ``dev`` by default, in /workspace); its stdout."""
        command = ["docker", "exec", "-u", user, "-w", "/workspace", self.container, "sh", "-c", script]
        return run(*command, check=check, timeout=timeout).stdout

    def write_file(self, path: str, text: str, *, user: str = "dev") -> None:
        """Write TEXT to PATH inside the pod as USER, from outside the browser."""
        script = f"mkdir -p {shlex.quote(str(Path(path).parent))} && cat > {shlex.quote(path)}"
        command = ["docker", "exec", "-i", "-u", user, self.container, "sh", "-c", script]
        run(*command, input=text)

    def read_file(self, path: str) -> str:
        return run("docker", "exec", self.container, "cat", path).stdout

    def diagnostics(self) -> str:
        """Supervisor status and the tail of each service log: attached to failures."""
        logs = " ".join(f"/var/log/pinacle/{name}.log" for name in SERVICES)
        script = f'supervisorctl status; for f in {logs}; do echo "== $f"; tail -n 30 "$f"; done'
        return run("docker", "exec", self.container, "sh", "-c", script, check=False).stdout


def new_slug() -> str:
    return f"bt-{uuid.uuid4().hex[:8]}"


def workstation_pod_file(directory: Path, slug: str) -> Path:
    """The workstation pod (pods/workstation.yaml), under a slug of the test's own."""
    data = {
        "name": f"Workstation (browser test {slug})",
        "slug": slug,
        "image": WORKSTATION_IMAGE,
        "services": list(SERVICES),
        "resources": {"cpus": 2, "memory": "4g"},
    }
    path = directory / f"{slug}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def deploy(path: Path) -> Pod:
    """``pinacle-deploy PATH --json`` against this machine; the pod it reports."""
    result = run(
        sys.executable,
        "-m",
        "pinacle.cli.deploy",
        str(path),
        "--json",
        timeout=600,
        cwd=REPO,
        env={**os.environ, "PINACLE_INVENTORY": "@local"},
    )
    payload = json.loads(result.stdout)
    (pod,) = payload["pods"]
    return Pod(slug=pod["slug"], host_port=int(pod["host_port"]), urls=dict(pod["urls"]))


def delete(slug: str) -> None:
    """``pinacle delete SLUG --purge``; the caller also removes leftovers by label."""
    run(
        sys.executable,
        "-m",
        "pinacle.cli.main",
        "delete",
        slug,
        "--purge",
        check=False,
        timeout=300,
        cwd=REPO,
        env={**os.environ, "PINACLE_INVENTORY": "@local"},
    )


def http_status(pod: Pod, service: str, path: str | None = None) -> int | None:
    """Status of GET PATH (default: the service's health path) through the router; None if unreachable."""
    port, health = SERVICES[service]
    connection = http.client.HTTPConnection("127.0.0.1", pod.host_port, timeout=10)
    try:
        connection.request("GET", path or health, headers={"Host": f"{pod.host(port)}:{pod.host_port}"})
        return connection.getresponse().status
    except OSError:
        return None
    finally:
        connection.close()


def wait_until_serving(pod: Pod, timeout: float = 180) -> None:
    """Every service answers its health path with 2xx through the router, or fail with the pod's logs."""
    deadline = time.monotonic() + timeout
    waiting = dict.fromkeys(SERVICES)
    while waiting and time.monotonic() < deadline:
        for service in list(waiting):
            status = http_status(pod, service)
            if status is not None and 200 <= status < 300:
                del waiting[service]
        if waiting:
            time.sleep(1)
    if waiting:
        raise AssertionError(
            f"pod {pod.slug}: {', '.join(waiting)} not serving through the router after {timeout:.0f}s\n"
            + pod.diagnostics()
        )


def wait_for(probe: Callable[[], str], pattern: str, *, timeout: float = 20, what: str = "text") -> re.Match[str]:
    """Poll PROBE until its text matches PATTERN (a regex); fail showing the last text seen."""
    deadline = time.monotonic() + timeout
    seen = ""
    while True:
        seen = probe()
        match = re.search(pattern, seen)
        if match:
            return match
        if time.monotonic() > deadline:
            last = seen.rstrip()
            raise AssertionError(f"{what}: {pattern!r} did not appear within {timeout:.0f}s; last seen:\n{last}")
        time.sleep(0.25)


# xterm.js keeps the terminal's contents in a buffer whatever renders it (WebGL, canvas or DOM).
# ttyd 1.7.7 exposes its Terminal as window.term (html/src/components/terminal/xterm/index.ts).
_XTERM_TEXT = """(which) => {
    const term = window.term;
    if (!term || !term.buffer) return null;
    const buffer = term.buffer.active;
    const first = which === 'screen' ? buffer.viewportY : 0;
    const last = which === 'screen' ? buffer.viewportY + term.rows : buffer.length;
    const lines = [];
    for (let i = first; i < last; i++) {
        const line = buffer.getLine(i);
        const next = buffer.getLine(i + 1);
        const text = line ? line.translateToString(!(next && next.isWrapped)) : '';
        // A row that continues the one above (a long line wrapped) is joined back to it.
        if (line && line.isWrapped && lines.length) lines[lines.length - 1] += text;
        else lines.push(text);
    }
    return lines.join('\\n');
}"""


class TtydTerminal:
    """A ttyd page in the browser: type into it like a user, read what its terminal shows."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.prompt = ""

    def open(self, url: str) -> Response | None:
        """Load the ttyd page at URL; returns once its terminal is connected and shows something."""
        response = self.page.goto(url)
        self.page.wait_for_function("() => window.term && window.term.buffer", timeout=30_000)
        # Connected and the program drew something: the shell's prompt, a TUI's first screen.
        wait_for(self.screen, r"\S", timeout=30, what="first output of the terminal")
        self.page.locator(".xterm").click()
        return response

    def screen(self) -> str:
        """The visible rows, as text."""
        text = self.page.evaluate(_XTERM_TEXT, "screen")
        return text if isinstance(text, str) else ""

    def scrollback(self) -> str:
        """Every row of the active buffer, scrollback included."""
        text = self.page.evaluate(_XTERM_TEXT, "all")
        return text if isinstance(text, str) else ""

    def buffer_type(self) -> str:
        """``normal``, or ``alternate`` while a full-screen program (vi, top) owns the screen."""
        return str(self.page.evaluate("() => window.term.buffer.active.type"))

    def type(self, text: str, *, enter: bool = False) -> None:
        self.page.keyboard.type(text)
        if enter:
            self.page.keyboard.press("Enter")

    def wait_for_prompt(self, *, timeout: float = 30) -> str:
        """Wait until the shell shows a prompt (a last line ending in ``$`` or ``#``); that prompt."""
        match = wait_for(self.screen, r"(?m)^(.*[$#])\s*\Z", timeout=timeout, what="the shell's prompt")
        self.prompt = match.group(1).rstrip()
        return self.prompt

    def run(self, command: str, *, timeout: float = 20) -> str:
        """Type COMMAND and Enter, as a user would; once the prompt is back, what the command printed.

        The shell is done when a line that is exactly the prompt follows the line the command
        was typed on (call ``wait_for_prompt`` first: the prompt has to be known).
        """
        typed = f"{self.prompt} {command}"
        self.type(command, enter=True)

        def after_command() -> str:
            lines = self.scrollback().rstrip("\n").split("\n")
            starts = [i for i, line in enumerate(lines) if line.rstrip() == typed]
            return "\n".join(lines[starts[-1] + 1 :]) if starts else ""

        output = wait_for(
            after_command, rf"(?s)^(.*?)\n?{re.escape(self.prompt)}\s*\Z", timeout=timeout, what=f"end of {command!r}"
        )
        return output.group(1)
