"""The browser library in headless Chromium against the demo chat mounted on a Vapor 4 app
(``Examples/VaporChat``, PrimusVapor): the harness page (another origin, so through Primus's
CORS too) loads ``/primus/primus.js`` from Vapor and chats over every transformer; the app is
stopped with SIGTERM and respawned on the same port, and the page reconnects and sends what it
wrote meanwhile, once; with ``--reconnect-on-shutdown false`` the page is told the server
closed, and ends without reconnecting."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from browser.conftest import BrowserPage
from primus_support import ServerProcess

EXAMPLE = "VaporChat"
TRANSFORMERS = ["websockets", "engine.io", "sockjs", "browserchannel", "socket.io"]

ECHO = """async (values) => {
  const primus = new Primus(H.server);
  const got = H.collect(primus);
  await H.once(primus, 'open', 15000);
  values.forEach((v) => primus.write(v));
  await H.until(() => got.length >= values.length, 15000, 'echoes');
  const id = await new Promise((resolve) => primus.id(resolve));
  primus.end();
  return { got, id };
}"""

VALUES = ["hello", {"name": "page", "text": "zażółć gęślą jaźń ☃ 😀"}, [1, "two", None, True], 0]


def terminate(server: ServerProcess) -> int:
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    return server.proc.wait(timeout=30)


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_echo_through_vapor(page: BrowserPage, start_example, transformer: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", transformer)
    page.harness(server)
    r = page.run(ECHO, VALUES)
    assert r["got"] == VALUES
    assert isinstance(r["id"], str) and r["id"]


@pytest.mark.parametrize("transformer", ["websockets", "engine.io"])
def test_app_restarted_page_reconnects_and_delivers_offline_writes_once(
    page: BrowserPage, start_example, respawn, transformer: str  # noqa: ANN001
) -> None:
    server = start_example(EXAMPLE, "--transformer", transformer, "--reconnect-on-shutdown", "true")
    page.harness(server)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 100, max: 400, retries: 100 } });
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open', 15000);
          primus.write('before');
          await H.until(() => got.length >= 1, 10000, 'the first echo');
          window.mark = log.length;
        }"""
    )
    assert terminate(server) == 0
    again = respawn(server)
    page.run(
        """async () => {
          await H.until(() => H.names(log.slice(mark)).includes('reconnect scheduled'), 30000, 'a reconnect after the shutdown');
          primus.write('while-down-1');
          primus.write({ n: 2 });
        }"""
    )
    again.start()
    r = page.run(
        """async () => {
          await H.until(() => got.length >= 3, 30000, 'offline writes echoed after the restart');
          primus.write('after');
          await H.until(() => got.length >= 4, 10000, 'a write after the restart');
          const after = log.slice(mark);
          primus.end();
          return { after, got };
        }"""
    )
    events = [e["event"] for e in r["after"] if e["event"] not in ("readyStateChange", "error", "data")]
    assert "end" not in events[: events.index("reconnected")], events
    assert "open" in events[events.index("reconnected"):], events
    assert r["got"] == ["before", "while-down-1", {"n": 2}, "after"]


@pytest.mark.parametrize("transformer", ["websockets", "engine.io"])
def test_no_reconnect_shutdown_ends_the_page(
    browser_page: Callable[[], BrowserPage], start_example, transformer: str  # noqa: ANN001
) -> None:
    server = start_example(EXAMPLE, "--transformer", transformer, "--reconnect-on-shutdown", "false")
    page = browser_page()
    page.harness(server)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 100, max: 400, retries: 100 } });
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open', 15000);
          primus.write('ready');
          await H.until(() => got.length >= 1, 10000, 'the echo');
        }"""
    )
    assert terminate(server) == 0
    r = page.run(
        """async () => {
          await H.until(() => H.names(log).includes('end'), 20000, 'the end after primus::server::close');
          return { names: H.names(log, ['readyStateChange', 'data']), state: primus.readyState };
        }"""
    )
    assert "end" in r["names"], r
    assert "reconnect scheduled" not in r["names"] and "reconnect" not in r["names"], r
