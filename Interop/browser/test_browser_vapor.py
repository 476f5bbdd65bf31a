"""The browser library in headless Chromium against the demo chat mounted on a Vapor 4 app
(``Examples/VaporChat``, PrimusVapor): the harness page (another origin, so through Primus's
CORS too) loads ``/primus/primus.js`` from Vapor and chats over every transformer; the app is
stopped with SIGTERM and respawned on the same port, and the page reconnects and sends what it
wrote meanwhile, once; with ``--reconnect-on-shutdown false`` the page is told the server
closed, and ends without reconnecting. The scenarios are shared with the Hummingbird tests
(framework_pages.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from browser.conftest import BrowserPage
from browser.framework_pages import echo, event_names, offline_writes_across_a_restart, shutdown_seen_by_the_page

EXAMPLE = "VaporChat"
TRANSFORMERS = ["websockets", "engine.io", "sockjs", "browserchannel", "socket.io"]

VALUES = ["hello", {"name": "page", "text": "zażółć gęślą jaźń ☃ 😀"}, [1, "two", None, True], 0]


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_echo_through_vapor(page: BrowserPage, start_example, transformer: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", transformer)
    r = echo(page, server, VALUES)
    assert r["got"] == VALUES
    assert isinstance(r["id"], str) and r["id"]


@pytest.mark.parametrize("transformer", ["websockets", "engine.io"])
def test_app_restarted_page_reconnects_and_delivers_offline_writes_once(
    page: BrowserPage, start_example, respawn, transformer: str  # noqa: ANN001
) -> None:
    server = start_example(EXAMPLE, "--transformer", transformer, "--reconnect-on-shutdown", "true")
    r = offline_writes_across_a_restart(page, server, respawn, down_event="reconnect scheduled")
    events = event_names(r["after"], without=("readyStateChange", "error", "data"))
    assert "end" not in events[: events.index("reconnected")], events
    assert "open" in events[events.index("reconnected"):], events
    assert r["got"] == ["before", "while-down-1", {"n": 2}, "after"]


@pytest.mark.parametrize("transformer", ["websockets", "engine.io"])
def test_no_reconnect_shutdown_ends_the_page(
    browser_page: Callable[[], BrowserPage], start_example, transformer: str  # noqa: ANN001
) -> None:
    server = start_example(EXAMPLE, "--transformer", transformer, "--reconnect-on-shutdown", "false")
    r = shutdown_seen_by_the_page(browser_page(), server)
    assert "end" in r["names"], r
    assert "reconnect scheduled" not in r["names"] and "reconnect" not in r["names"], r
