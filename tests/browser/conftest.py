"""Fixtures for browser tests: Debian's Chromium driven by Playwright, against a real workstation pod.

Each test module deploys its own workstation pod (module scope: a workstation takes a while to come
up) under a ``bt-xxxxxxxx`` slug, and deletes it with its volume afterwards. Each test gets a fresh
browser context. A failing test leaves a screenshot of what the browser showed, ``FAILED-*.png``,
in the artifacts directory.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Generator, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, sync_playwright

from tests.browser.helpers import (
    CHROMIUM,
    CHROMIUM_ARGS,
    WORKSTATION_IMAGE,
    Pod,
    artifacts_dir,
    delete,
    deploy,
    new_slug,
    run,
    wait_until_serving,
    workstation_pod_file,
)
from tests.integration.conftest import remove_pod_resources


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "browser: drives Debian's Chromium against a real workstation pod")


_reports = pytest.StashKey[dict[str, pytest.TestReport]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Keep each phase's report on the test item, so the page fixture knows whether the test failed."""
    report = yield
    item.stash.setdefault(_reports, {})[report.when] = report
    return report


@pytest.fixture(scope="session")
def browser_host() -> None:
    """What the browser tests need on this machine; missing pieces fail (never skip) with the fix."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: scripts/bootstrap.sh installs Debian's chromium")
    if shutil.which("docker") is None or run("docker", "info", check=False).returncode != 0:
        pytest.fail("Docker is not running: provision this host first (scripts/provision-local.sh)")
    if run("docker", "image", "inspect", WORKSTATION_IMAGE, check=False).returncode != 0:
        pytest.fail(f"{WORKSTATION_IMAGE} is missing: build the workstation image first")
    for stale in artifacts_dir().glob("FAILED-*.png"):
        stale.unlink()


@pytest.fixture(scope="session")
def playwright(browser_host: None) -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="session")
def browser(playwright: Playwright) -> Iterator[Browser]:
    # launch() gives Chromium a fresh temporary user-data dir, removed when it closes.
    chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS))
    yield chromium
    chromium.close()


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(30_000)
    yield ctx
    ctx.close()


@pytest.fixture
def page(context: BrowserContext, request: pytest.FixtureRequest) -> Iterator[Page]:
    tab = context.new_page()
    yield tab
    report = request.node.stash.get(_reports, {}).get("call")
    if report is not None and report.failed and not tab.is_closed():
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
        tab.screenshot(path=str(artifacts_dir() / f"FAILED-{name}.png"))


@pytest.fixture(scope="module")
def workstation(browser_host: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pod]:
    """A workstation pod of this module's own, serving all its services through its router."""
    slug = new_slug()
    path = workstation_pod_file(tmp_path_factory.mktemp(slug), slug)
    try:
        pod = deploy(path)
        assert pod.slug == slug
        wait_until_serving(pod)
        yield pod
    finally:
        delete(slug)
        remove_pod_resources(slug)
