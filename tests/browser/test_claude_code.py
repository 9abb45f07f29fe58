"""Claude Code (port 2528, in ttyd + tmux) in a real browser: its own screen, not a proxy's error page."""

from __future__ import annotations

import re
import time

import pytest
from playwright.sync_api import Page, WebSocket

from tests.browser.helpers import Pod, TtydTerminal, save_screenshot, wait_for

pytestmark = pytest.mark.browser

# What only Claude Code draws: its welcome line and version, its first-run theme and login
# prompts, or its own words when it cannot reach Anthropic (this machine has no network).
CLAUDE_SCREEN = (
    r"Welcome to Claude Code|Claude Code v?\d+\.\d+|Choose the text style|Select login method"
    r"|Unable to connect to Anthropic"
)


def test_page_shows_claude_codes_own_screen(workstation: Pod, page: Page) -> None:
    sockets: list[WebSocket] = []
    page.on("websocket", lambda ws: sockets.append(ws))
    terminal = TtydTerminal(page)
    response = terminal.open(workstation.url("claude-code"))
    assert response is not None
    assert response.status == 200

    wait_for(terminal.screen, CLAUDE_SCREEN, timeout=60, what="Claude Code's screen")

    # A developer has to be able to read it: for five seconds it stays on the screen, over the
    # one terminal connection (no "[exited]", no reconnect of a torn-down session).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        screen = terminal.screen()
        assert "[exited]" not in screen, f"Claude Code's session ended under the browser:\n{screen.rstrip()}"
        assert re.search(CLAUDE_SCREEN, screen), f"Claude Code's screen went away:\n{screen.rstrip()}"
        time.sleep(0.2)
    save_screenshot(page, "claude-code", docs="claude-code")
    assert len(sockets) == 1, [ws.url for ws in sockets]
    assert not sockets[0].is_closed()
    assert "pinacle:" not in screen
    assert not re.search(r"\b50[234]\b", screen), screen
