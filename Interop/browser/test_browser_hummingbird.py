"""The browser client in headless Chromium against Primus mounted on Hummingbird 2
(Examples/HummingbirdChat): the page loads ``/primus/primus.js`` from Hummingbird's router and
connects over every transformer (websockets, engine.io with its upgrade, sockjs, socket.io,
browserchannel). Echo in ``#general``; over websockets and engine.io, a restart of the app
(SIGTERM, reconnect-on-shutdown true) with the page reconnecting and its offline writes
delivered once, and a shutdown with reconnect-on-shutdown false ending the page for good.
"""

from __future__ import annotations

from typing import Any

import pytest

from browser.conftest import BrowserPage

EXAMPLE = "HummingbirdChat"
TRANSFORMERS = ["websockets", "engine.io"]
EVERY_TRANSFORMER = ["websockets", "engine.io", "sockjs", "socket.io", "browserchannel"]


@pytest.fixture(params=TRANSFORMERS)
def transformer(request: pytest.FixtureRequest) -> str:
    return request.param


def names(log: list[dict[str, Any]], *, without: tuple[str, ...] = ()) -> list[str]:
    return [entry["event"] for entry in log if entry["event"] not in without]


@pytest.mark.parametrize("every", EVERY_TRANSFORMER)
def test_echo_through_hummingbird(page: BrowserPage, start_example, every: str) -> None:  # noqa: ANN001
    """The page's unchanged Primus client, on whichever transformer the server speaks."""
    transformer = every
    server = start_example(EXAMPLE, "--transformer", transformer)
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          const got = H.collect(primus);
          await H.once(primus, 'open', 10000);
          primus.write('hello € 😀');
          primus.write({ name: 'ada', text: 'hi' });
          await H.until(() => got.length >= 2, 10000, 'echoes');
          primus.end();
          return { got };
        }"""
    )
    assert r["got"] == ["hello € 😀", {"name": "ada", "text": "hi"}]


def test_restart_reconnects_and_delivers_offline_writes_once(page: BrowserPage, start_example, respawn, transformer: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", transformer, "--reconnect-on-shutdown", "true")
    page.harness(server)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 100, max: 400, retries: 200 } });
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open', 10000);
          primus.write('before');
          await H.until(() => got.length >= 1, 10000, 'first echo');
          window.mark = log.length;
        }"""
    )
    again = respawn(server)  # SIGTERM: a graceful shutdown that lets clients reconnect
    page.run(
        """async () => {
          await H.until(() => H.names(log.slice(mark)).includes('close'), 30000, 'close at the shutdown');
          primus.write('while-down-1');
          primus.write({ n: 2 });
        }"""
    )
    again.start()
    r = page.run(
        """async () => {
          await H.until(() => got.length >= 3, 40000, 'offline writes echoed after the restart');
          primus.write('after');
          await H.until(() => got.length >= 4, 10000, 'a write after the restart');
          const after = log.slice(mark);
          primus.end();
          return { after, got };
        }"""
    )
    events = names(r["after"], without=("readyStateChange", "error", "data", "offline", "online"))
    assert "reconnected" in events and "end" not in events[: events.index("reconnected")], events
    assert "reconnect failed" not in events
    assert r["got"] == ["before", "while-down-1", {"n": 2}, "after"]


def test_shutdown_without_reconnect_ends_the_page(page: BrowserPage, start_example, transformer: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", transformer, "--reconnect-on-shutdown", "false")
    page.harness(server)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 50, max: 100 } });
          window.log = H.record(primus);
          await H.once(primus, 'open', 10000);
        }"""
    )
    assert server.proc is not None
    server.proc.terminate()
    assert server.proc.wait(timeout=20) == 0
    r = page.run(
        """async () => {
          // Told primus::server::close, the page ends; a plain drop would schedule a reconnect
          // (50 ms) instead, and never end while retries are left.
          await H.until(() => H.names(log).includes('end'), 15000, 'end after primus::server::close');
          await H.until(() => primus.readyState === 2, 5000, 'closed state');
          return { log: H.names(log), state: primus.readyState };
        }"""
    )
    events = [e for e in r["log"] if e != "readyStateChange"]
    assert "end" in events, events
    assert "reconnect" not in events and "reconnect scheduled" not in events, events
    assert r["state"] == 2
