"""The web terminal (ttyd, port 7681) in a real browser: a shell a developer can work in."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.sync_api import Page

from tests.browser.helpers import Pod, TtydTerminal, save_screenshot, wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def terminal(page: Page, workstation: Pod) -> TtydTerminal:
    term = TtydTerminal(page)
    term.open(workstation.url("web-terminal"))
    term.wait_for_prompt()
    return term


def test_ls_lists_a_file_written_from_outside(workstation: Pod, terminal: TtydTerminal, page: Page) -> None:
    name = f"bt-outside-{uuid.uuid4().hex[:8]}.txt"
    workstation.write_file(f"/workspace/{name}", "written with docker exec\n")

    listing = terminal.run("ls -la /workspace")

    save_screenshot(page, "web-terminal-ls")
    assert not re.search(r"^ls: ", listing, re.MULTILINE), listing
    # Owned by the developer (written as dev), 25 bytes, listed under its name.
    assert re.search(rf"^-rw\S*\s+\d+\s+dev\s+dev\s+25\s.*\s{re.escape(name)}$", listing, re.MULTILINE), listing


def test_vi_writes_a_new_file(workstation: Pod, terminal: TtydTerminal, page: Page) -> None:
    path = f"/workspace/bt-vi-{uuid.uuid4().hex[:8]}.txt"
    text = "typed into vi in a browser"

    terminal.type(f"vi {path}", enter=True)
    wait_for(terminal.buffer_type, r"^alternate$", what="vi taking over the screen")
    wait_for(terminal.screen, re.escape(path.rsplit("/", 1)[1]), what="vi's status line naming the new file")
    terminal.type("i" + text)
    wait_for(terminal.screen, re.escape(text), what="the typed text in vi's buffer")
    terminal.page.keyboard.press("Escape")
    terminal.type(":")
    # The command line opens on the last row only in normal mode: the Escape has been taken.
    wait_for(lambda: terminal.screen().rstrip("\n").rsplit("\n", 1)[-1], r"^:$", what="vi's command line")
    save_screenshot(page, "web-terminal-vi")
    terminal.type("wq", enter=True)
    wait_for(terminal.buffer_type, r"^normal$", what="the shell's screen after :wq")

    assert workstation.read_file(path) == text + "\n"


def test_top_draws_its_screen_and_q_quits(terminal: TtydTerminal, page: Page) -> None:
    terminal.type("top", enter=True)
    # Its summary, its header and, once the frame is fully drawn, its own row (run by dev).
    wait_for(terminal.screen, r"(?ms)load average.*^Tasks:.*PID\s+USER.*^\s*\d+\s+dev\s.*\stop *$", what="top's screen")
    save_screenshot(page, "web-terminal-top", docs="web-terminal")

    terminal.type("q")

    # top leaves its last frame on the screen; the shell's prompt comes back below it.
    terminal.wait_for_prompt(timeout=10)
    assert terminal.run("echo shell-is-back-$((1+1))") == "shell-is-back-2"
