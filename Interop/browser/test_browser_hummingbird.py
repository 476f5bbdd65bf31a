"""The browser client in headless Chromium against Primus mounted on Hummingbird 2
(Examples/HummingbirdChat): the page loads ``/primus/primus.js`` from Hummingbird's router and
connects over every transformer (websockets, engine.io with its upgrade, sockjs, socket.io,
browserchannel). Echo in ``#general``; over websockets and engine.io, a restart of the app
(SIGTERM, reconnect-on-shutdown true) with the page reconnecting and its offline writes
delivered once, and a shutdown with reconnect-on-shutdown false ending the page for good.
The scenarios are shared with the Vapor tests (framework_pages.py).
"""

from __future__ import annotations

import pytest

from browser.conftest import BrowserPage
from browser.framework_pages import echo, event_names, offline_writes_across_a_restart, shutdown_seen_by_the_page

EXAMPLE = "HummingbirdChat"
TRANSFORMERS = ["websockets", "engine.io"]
EVERY_TRANSFORMER = ["websockets", "engine.io", "sockjs", "socket.io", "browserchannel"]


@pytest.fixture(params=TRANSFORMERS)
def transformer(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.mark.parametrize("every", EVERY_TRANSFORMER)
def test_echo_through_hummingbird(page: BrowserPage, start_example, every: str) -> None:  # noqa: ANN001
    """The page's unchanged Primus client, on whichever transformer the server speaks."""
    server = start_example(EXAMPLE, "--transformer", every)
    values = ["hello € 😀", {"name": "ada", "text": "hi"}]
    r = echo(page, server, values)
    assert r["got"] == values
    assert isinstance(r["id"], str) and r["id"]


def test_restart_reconnects_and_delivers_offline_writes_once(page: BrowserPage, start_example, respawn, transformer: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", transformer, "--reconnect-on-shutdown", "true")
    r = offline_writes_across_a_restart(page, server, respawn, down_event="close")
    events = event_names(r["after"], without=("readyStateChange", "error", "data", "offline", "online"))
    assert "reconnected" in events and "end" not in events[: events.index("reconnected")], events
    assert "reconnect failed" not in events
    assert r["got"] == ["before", "while-down-1", {"n": 2}, "after"]


def test_shutdown_without_reconnect_ends_the_page(page: BrowserPage, start_example, transformer: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", transformer, "--reconnect-on-shutdown", "false")
    r = shutdown_seen_by_the_page(page, server)
    events = r["names"]
    assert "end" in events, events
    assert "reconnect" not in events and "reconnect scheduled" not in events, events
    assert r["state"] == 2
