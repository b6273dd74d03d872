"""Fixtures for the web UI's browser tests: one headless system Chromium per module, a fresh browser
context per page, a real `proconsul agent -dev -ui` per test, and screenshots on failure."""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage, Page, expect, sync_playwright
from tests.conftest import AgentProcess
from tests.ui.browser import LAUNCH_ARGS, TIMEOUT_MS, Api, Shots, find_chromium

expect.set_options(timeout=TIMEOUT_MS)


@dataclass
class OpenedPages:
    """The pages a test opened, and what their consoles said (reported when the test fails)."""

    pages: list[Page] = field(default_factory=list)
    console: list[str] = field(default_factory=list)


PAGES_KEY = pytest.StashKey[OpenedPages]()
SHOTS_KEY = pytest.StashKey[Shots]()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    executable = find_chromium()
    if executable is None:
        pytest.skip("no system Chromium (install the Debian package `chromium`)")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=LAUNCH_ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def ui_agent(agent_process: Callable[..., AgentProcess]) -> AgentProcess:
    """A real dev agent serving the web UI."""
    return agent_process("-dev", "-ui")


@pytest.fixture
def consul(ui_agent: AgentProcess) -> Api:
    return Api(ui_agent.url)


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Shots:
    shots = Shots(request.node.name)
    request.node.stash[SHOTS_KEY] = shots
    return shots


@pytest.fixture
def open_page(
    request: pytest.FixtureRequest, browser: Browser, ui_agent: AgentProcess
) -> Iterator[Callable[..., Page]]:
    """Opens a page in a fresh browser context whose base URL is the agent's."""
    opened = OpenedPages()
    request.node.stash[PAGES_KEY] = opened
    contexts: list[BrowserContext] = []

    def open_(width: int = 1280, height: int = 800, *, mobile: bool = False) -> Page:
        options: dict[str, Any] = {"viewport": {"width": width, "height": height}, "base_url": ui_agent.url}
        if mobile:
            options.update(is_mobile=True, has_touch=True, device_scale_factor=2)
        context = browser.new_context(**options)
        context.set_default_timeout(TIMEOUT_MS)
        contexts.append(context)
        page = context.new_page()
        n = len(opened.pages)

        def on_console(msg: ConsoleMessage) -> None:
            opened.console.append(f"[page {n}] {msg.type}: {msg.text}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: opened.console.append(f"[page {n}] uncaught: {exc}"))
        opened.pages.append(page)
        return page

    yield open_
    for context in contexts:
        context.close()


@pytest.fixture
def page(open_page: Callable[..., Page]) -> Page:
    """A desktop-sized page (1280x800), still blank: the test navigates it."""
    return open_page()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report: pytest.TestReport = outcome.get_result()
    opened = item.stash.get(PAGES_KEY, None)
    if report.when != "call" or not report.failed or opened is None:
        return
    shots = item.stash.get(SHOTS_KEY, None) or Shots(item.name)
    saved = []
    for page in opened.pages:
        if page.is_closed():
            continue
        try:
            saved.append(f"{page.url} -> {shots(page, 'FAILED')}")
        except Exception as exc:  # a dead page must not hide the test's own failure
            saved.append(f"{page.url}: no screenshot ({exc})")
    if saved:
        report.sections.append(("failure screenshots", "\n".join(saved)))
    if opened.console:
        report.sections.append(("browser console", "\n".join(opened.console[-60:])))
