"""Fixtures of the browser suite: Debian's Chromium, headless, driven by Playwright.

The pages load the client library our servers serve (``<server>/primus/primus.js``) and run
the scenario; every test reads the results back from the page and asserts on them in Python.
Uncaught exceptions in a page fail the test that owns it.

Chromium is ``/usr/bin/chromium`` (``PRIMUS_CHROMIUM`` overrides). When Playwright or Chromium
is missing the tests are skipped, unless ``PRIMUS_REQUIRE_BROWSER=1`` (as ``.ci/run`` sets),
which turns that into a failure.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from primus_support import ServerProcess

HARNESS = Path(__file__).resolve().parent / "harness.html"
CHROMIUM = os.environ.get("PRIMUS_CHROMIUM", "/usr/bin/chromium")
REQUIRED = os.environ.get("PRIMUS_REQUIRE_BROWSER", "") not in ("", "0", "false")


def _unavailable(reason: str) -> None:
    if REQUIRED:
        pytest.fail(f"browser suite required but {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -r Interop/requirements-browser.txt)")
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} does not exist (apt-get install chromium chromium-driver)")
    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_instance: Any) -> Iterator[Any]:
    browser = playwright_instance.chromium.launch(
        executable_path=CHROMIUM,
        args=["--no-sandbox", "--disable-dev-shm-usage"],
        headless=True,
    )
    yield browser
    browser.close()


class BrowserPage:
    """One page of a fresh browser context, with its uncaught errors and console kept."""

    def __init__(self, context: Any) -> None:
        self.context = context
        self.page = context.new_page()
        self.page.set_default_timeout(15_000)
        self.errors: list[str] = []
        self.console: list[str] = []
        self.page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        self.page.on("console", lambda msg: self.console.append(f"{msg.type}: {msg.text}"))

    def harness(self, server: ServerProcess, library: str = "/primus/primus.js") -> "BrowserPage":
        """Opens harness.html for ``server`` and waits until the served library is loaded."""
        url = HARNESS.as_uri() + f"?server={server.http_url}&library={library}"
        self.page.goto(url)
        self.page.wait_for_function("window.harnessReady === true || !!window.harnessError", timeout=15_000)
        error = self.page.evaluate("window.harnessError || null")
        assert error is None, error
        return self

    def run(self, script: str, arg: Any = None) -> Any:
        """``page.evaluate(script, arg)``: script is an (async) function expression."""
        return self.page.evaluate(script, arg)


@pytest.fixture
def browser_page(browser: Any, request: pytest.FixtureRequest) -> Iterator[Callable[[], BrowserPage]]:
    """Factory of pages, each in its own context (own network state, own storage)."""
    pages: list[BrowserPage] = []

    def make() -> BrowserPage:
        context = browser.new_context()
        page = BrowserPage(context)
        pages.append(page)
        return page

    yield make
    errors = [e for p in pages for e in p.errors]
    for p in pages:
        try:
            p.context.close()
        except Exception:
            pass
    if errors:
        pytest.fail(f"uncaught exception(s) in the page: {errors}", pytrace=False)


@pytest.fixture
def page(browser_page: Callable[[], BrowserPage]) -> BrowserPage:
    return browser_page()
