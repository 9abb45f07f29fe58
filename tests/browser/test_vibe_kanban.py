"""Vibe Kanban (port 5262) in a real browser: its app renders and its API answers through the router."""

from __future__ import annotations

import json

import pytest
from playwright.sync_api import Page, expect

from tests.browser.helpers import Pod, save_screenshot

pytestmark = pytest.mark.browser


def test_first_run_leads_to_the_projects_board(workstation: Pod, page: Page) -> None:
    response = page.goto(workstation.url("vibe-kanban"))
    assert response is not None
    assert response.status == 200

    # The React app itself, not just the HTML shell: its first-run dialogs, each answered through its API.
    expect(page.get_by_text("Important Safety Warning")).to_be_visible()
    page.get_by_role("checkbox").check()
    page.get_by_role("button", name="I Accept the Risks and Want to Proceed").click()
    expect(page.get_by_text("Welcome to Vibe Kanban")).to_be_visible()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("Sign in with GitHub").first).to_be_visible()
    page.get_by_role("button", name="Skip").click()
    expect(page.get_by_text("Feedback Opt-In")).to_be_visible()
    page.get_by_role("button", name="No thanks").click()

    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()
    expect(page.get_by_role("button", name="Create your first project")).to_be_visible()
    expect(page.get_by_text("Feedback Opt-In")).to_be_hidden()
    save_screenshot(page, "vibe-kanban", docs="vibe-kanban")


def test_health_api_answers_through_the_router(workstation: Pod, page: Page) -> None:
    page.goto(workstation.url("vibe-kanban"))

    # From the page, as the app's own requests go: same origin, through the pod's router.
    status, body = page.evaluate(
        "async () => { const r = await fetch('/api/health'); return [r.status, await r.text()]; }"
    )

    assert status == 200, body
    assert json.loads(body)["success"] is True
