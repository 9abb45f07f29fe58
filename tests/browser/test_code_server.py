"""code-server (port 8726) in a real browser: the editor, its explorer and its integrated terminal."""

from __future__ import annotations

import json
import re
import time
import uuid

import pytest
from playwright.sync_api import Page, expect
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

from tests.browser.helpers import Pod, save_screenshot, wait_for

pytestmark = pytest.mark.browser

# The developer's own VS Code settings, written before the first page load. The terminal's DOM
# renderer (no GPU acceleration) puts its text in .xterm-rows, where the test reads it; local echo
# is off so that every character seen on screen came back from the pty over the WebSocket.
USER_SETTINGS = {
    "terminal.integrated.gpuAcceleration": "off",
    "terminal.integrated.localEchoEnabled": "off",
    # Every page load starts with no terminal, rather than reviving the previous test's.
    "terminal.integrated.enablePersistentSessions": False,
    "security.workspace.trust.enabled": False,
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
}
SETTINGS_PATH = "/home/dev/.local/share/code-server/User/settings.json"


@pytest.fixture(scope="module")
def code_server(workstation: Pod) -> Pod:
    workstation.write_file(SETTINGS_PATH, json.dumps(USER_SETTINGS, indent=2) + "\n")
    return workstation


def open_workbench(page: Page, pod: Pod) -> None:
    page.goto(pod.url("code-server"))
    expect(page.locator(".monaco-workbench")).to_be_visible(timeout=60_000)
    expect(page.locator(".explorer-folders-view")).to_be_visible(timeout=30_000)


def terminal_text(page: Page) -> str:
    """The integrated terminal's rows as the DOM renderer draws them."""
    return page.locator(".terminal-wrapper.active .xterm-rows").inner_text().replace("\u00a0", " ")


def open_terminal(page: Page) -> None:
    """Terminal: Create New Terminal (Ctrl+Shift+`); returns once the new shell has drawn a prompt."""
    view = page.locator(".part.panel .integrated-terminal")
    wrappers = page.locator(".terminal-wrapper")
    before = wrappers.count()
    # The workbench shows before its keybindings work: a key pressed that early is dropped. One that
    # is taken opens the terminal view at once, while the shell itself may take a while to start
    # under load, so press again only until the view opens (never twice into a working workbench).
    deadline = time.monotonic() + 45
    while not view.is_visible():
        assert time.monotonic() < deadline, "the terminal view did not open for Ctrl+Shift+`"
        page.keyboard.press("Control+Shift+Backquote")
        try:
            view.wait_for(state="visible", timeout=3_000)
        except PlaywrightTimeoutError:
            continue
    wrappers.nth(before).wait_for(state="attached", timeout=45_000)
    expect(page.locator(".terminal-wrapper.active .xterm-rows")).to_be_visible()
    wait_for(lambda: terminal_text(page), r"[$#]\s*$", timeout=30, what="the shell prompt in the terminal")
    expect(page.locator(".terminal-wrapper.active .xterm-helper-textarea")).to_be_focused()


def type_into_terminal(page: Page, text: str) -> None:
    """Type TEXT at the prompt and return once the pty has echoed all of it back.

    code-server's new terminal can drop the first keys typed right after its first prompt (its
    shell integration is still being set up); a person would see that and type again, and so do we:
    clear the line (Ctrl+U) and retype, at most three times.
    """
    for attempt in range(1, 4):
        page.keyboard.type(text)
        try:
            wait_for(lambda: terminal_text(page), re.escape(text) + r"\s*$", timeout=10, what="the typed keys")
            return
        except AssertionError:
            if attempt == 3:
                raise
            page.keyboard.press("Control+U")


def test_workbench_loads(code_server: Pod, page: Page) -> None:
    open_workbench(page, code_server)

    # The folder code-server was started on is the one open in the explorer.
    expect(page).to_have_title(re.compile(r"^workspace - code-server$"))
    expect(page.locator(".part.sidebar .pane-header").first).to_have_text(re.compile("^workspace$", re.IGNORECASE))
    expect(page.locator(".part.statusbar")).to_be_visible()
    save_screenshot(page, "code-server-workbench")


def test_file_written_from_outside_opens_in_the_editor(code_server: Pod, page: Page) -> None:
    token = uuid.uuid4().hex[:8]
    name = f"bt-notes-{token}.txt"
    code_server.write_file(f"/workspace/{name}", f"hello-from-outside-{token}\nsecond line\n")
    open_workbench(page, code_server)

    row = page.locator(".explorer-folders-view .monaco-list-row", has_text=name)
    expect(row).to_be_visible()
    row.click()

    expect(page.locator(".tabs-container .tab", has_text=name)).to_be_visible()
    expect(page.locator(".editor-instance .monaco-editor .view-lines")).to_contain_text(f"hello-from-outside-{token}")
    save_screenshot(page, "code-server-editor")


def test_integrated_terminal_runs_a_command(code_server: Pod, page: Page) -> None:
    open_workbench(page, code_server)
    open_terminal(page)

    # VS Code relaunches a terminal nobody has used yet when an extension adds to its environment
    # (the git extension does, as it activates), which can swallow a command typed just before:
    # the screen then shows a fresh prompt. Run it again then, at most three times.
    for attempt in range(1, 4):
        type_into_terminal(page, "echo code-server-$((6*7)) $(whoami) $(pwd)")
        page.keyboard.press("Enter")
        try:
            # Only the shell's output reads 42: the typed line still says $((6*7)).
            wait_for(lambda: terminal_text(page), r"code-server-42 dev /workspace", timeout=15, what="the output")
            break
        except AssertionError:
            if attempt == 3:
                raise
    save_screenshot(page, "code-server-terminal", docs="code-server")


def test_keystrokes_echo_back_over_the_router_websocket(code_server: Pod, page: Page) -> None:
    sockets: list[str] = []
    page.on("websocket", lambda ws: sockets.append(ws.url))
    open_workbench(page, code_server)
    open_terminal(page)
    typed = f"roundtrip{uuid.uuid4().hex[:8]}"

    # Local echo is off: the characters on screen went to the pty and back through the router.
    type_into_terminal(page, typed)
    router = f"ws://{code_server.host(8726)}:{code_server.host_port}/"
    assert any(url.startswith(router) for url in sockets), sockets
