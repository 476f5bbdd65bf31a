"""Our browser library's sockjs transport (transports/sockjs.js) in headless Chromium against
``primus-testserver --transformer sockjs``: on the WebSocket, and with the WebSocket disabled
(``--no-websocket``, so ``/info`` says ``"websocket": false``) on xhr-streaming, eventsource and
xhr-polling. Echo, reconnect after the server is killed and restarted, end from either side, and a
page served from another origin (an HTTP server on another port).

Every scenario runs in the page; its results come back as JSON and are asserted here.
"""

from __future__ import annotations

import functools
import json
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.conftest import HARNESS, BrowserPage

NOT_RECONNECT = {"reconnect", "reconnect scheduled", "reconnected", "reconnect failed", "reconnect timeout"}

# (transport the page must end up on, whether the server offers a WebSocket, the client's
# SockJS `transports` option: None lets the client fall back on its own).
TRANSPORTS = {
    "websocket": (True, None),
    "xhr-streaming": (False, None),  # the first fallback once /info rules the WebSocket out
    "eventsource": (False, ["eventsource"]),
    "xhr-polling": (False, ["xhr-polling"]),
}

VALUES: list[Any] = [
    "hello", "", 0, 1.5, -42, True, False, None, [], {}, [1, "two", {"three": 3}],
    "zażółć gęślą jaźń ☃ 😀", "line\u2028sep\u2029para\u0000nul\u0001\u001f\u200c\u200f\u2060\ufff0\uffff end",
    '"quotes" and \\backslashes\\ and \n newlines \t tabs', {"ключ": "значение", "€": ["ü", "ß"]},
]


@pytest.fixture(params=list(TRANSPORTS))
def transport(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def start(start_testserver, transport: str):  # noqa: ANN001, ANN201
    """``start(*flags)``: a sockjs primus-testserver that offers a WebSocket only for ``transport``."""
    websocket, _ = TRANSPORTS[transport]
    base = ["--transformer", "sockjs"] + ([] if websocket else ["--no-websocket"])
    return lambda *flags: start_testserver(*base, *flags)


def options(transport: str, **extra: Any) -> dict[str, Any]:
    """The Primus options of a page that should land on ``transport``."""
    _, only = TRANSPORTS[transport]
    out: dict[str, Any] = dict(extra)
    if only:
        out["transport"] = {"transports": only}
    return out


def names(log: list[dict[str, Any]], *, without: tuple[str, ...] = ()) -> list[str]:
    return [entry["event"] for entry in log if entry["event"] not in without]


ECHO = """async ([options, values]) => {
  const primus = new Primus(H.server, options);
  const got = [];
  primus.on('data', (data) => got.push(data));
  await H.once(primus, 'open', 10000);
  const transport = primus.socket.transport;
  const url = primus.socket.url;
  values.forEach((v) => primus.write(v));
  await H.until(() => got.length >= values.length, 10000, 'echoes');
  primus.write({ testserver: 'info' });
  await H.until(() => got.length > values.length, 10000, 'info');
  primus.end();
  return { got: got.slice(0, values.length), info: got[values.length], transport, url };
}"""


def test_echo_of_json_utf8_and_escaped_characters(page: BrowserPage, start, transport: str) -> None:  # noqa: ANN001
    """Every JSON value, UTF-8 and the characters SockJS escapes come back intact, on the
    transport expected (the WebSocket when offered, else the fallback or the one asked for)."""
    server = start()
    page.harness(server)
    r = page.run(ECHO, [options(transport), VALUES])
    assert r["transport"] == transport
    assert r["got"] == VALUES
    assert r["url"].startswith(("ws" if transport == "websocket" else "http") + f"://127.0.0.1:{server.port}/primus/")
    assert r["info"]["query"]["_primuscb"], "the cache buster is in the session's query"


def test_server_killed_and_restarted_reconnects_and_delivers_offline_writes_once(
    page: BrowserPage, start, respawn, transport: str  # noqa: ANN001
) -> None:
    """The server process is killed: the client goes offline, schedules reconnects (from /info
    again), and once a new server listens on the port it opens on the same transport and sends
    what was written meanwhile, once, in order."""
    server = start()
    page.harness(server)
    page.run(
        """async (options) => {
          window.primus = new Primus(H.server, Object.assign({ reconnect: { min: 100, max: 400, retries: 100 } }, options));
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open', 10000);
          window.mark = log.length;
        }""",
        options(transport),
    )
    server.proc.kill()  # SIGKILL: no goodbye on any connection
    server.proc.wait(timeout=10)
    again = respawn(server)
    page.run(
        """async () => {
          await H.until(() => H.names(log).includes('close'), 70000, 'close after the server died');
          await H.until(() => H.names(log).filter((n) => n === 'reconnect').length >= 2, 10000, 'failing attempts');
          primus.write('while-down-1');
          primus.write({ n: 2 });
        }"""
    )
    again.start()
    r = page.run(
        """async () => {
          await H.until(() => got.length >= 2, 20000, 'offline writes echoed after the restart');
          const transport = primus.socket.transport;
          primus.write('after');
          await H.until(() => got.length >= 3, 10000, 'a write after the restart');
          const after = log.slice(mark);
          primus.end();
          return { after, got, transport };
        }"""
    )
    events = names(r["after"], without=("readyStateChange", "error", "data"))
    assert events[:2] == ["close", "reconnect scheduled"], events
    tail = events[events.index("reconnected") - 1:]
    assert tail[:3] == ["reconnect", "reconnected", "open"], events
    assert "reconnect failed" not in events
    assert r["got"] == ["while-down-1", {"n": 2}, "after"]
    assert r["transport"] == transport


def test_client_end_closes_once_and_never_reconnects(page: BrowserPage, start, transport: str) -> None:  # noqa: ANN001
    """end() emits close and end once; the transport's requests or socket are gone."""
    server = start()
    page.harness(server)
    r = page.run(
        """async (options) => {
          const primus = new Primus(H.server, Object.assign({ reconnect: { min: 50 } }, options));
          const log = H.record(primus);
          await H.once(primus, 'open', 10000);
          const socket = primus.socket;
          const opened = log.length;
          primus.end();
          primus.end();
          await H.sleep(1000);                       // would be plenty for a 50 ms reconnect
          return { after: log.slice(opened), state: primus.readyState, socket: socket.readyState };
        }""",
        options(transport),
    )
    assert names(r["after"]) == ["readyStateChange", "close", "end"]
    assert r["state"] == 2
    assert r["socket"] == "closed"


def test_server_end_ends_the_client_without_reconnecting(page: BrowserPage, start, transport: str) -> None:  # noqa: ANN001
    """The server's spark.end() reaches the page over the transport and ends it for good."""
    server = start()
    page.harness(server)
    r = page.run(
        """async (options) => {
          const primus = new Primus(H.server, Object.assign({ reconnect: { min: 50 } }, options));
          const log = H.record(primus);
          await H.once(primus, 'open', 10000);
          primus.write({ testserver: 'end', data: 'bye' });
          await H.once(primus, 'end', 10000);
          await H.sleep(1000);
          return { log, state: primus.readyState };
        }""",
        options(transport),
    )
    # Primus's client reports a SockJS close code above 1000 as an error before the end; an
    # ended spark closes with 1000 "Normal closure", as sockjs-node's does, so none comes.
    events = names(r["log"], without=("readyStateChange",))
    assert events == ["open", "data", "close", "end"], events
    assert r["log"][[e["event"] for e in r["log"]].index("data")]["args"][0] == "bye"
    assert r["state"] == 2


# --------------------------------------------------------------------------- another origin


@pytest.fixture
def other_origin() -> Iterator[str]:
    """An HTTP server on another port serving the harness: its pages are on another origin than
    the Primus server, so every request the transport makes is cross-origin (CORS)."""
    handler = functools.partial(_QuietHandler, directory=str(Path(HARNESS).parent))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


def test_a_page_on_another_origin_echoes(page: BrowserPage, start, other_origin: str, transport: str) -> None:  # noqa: ANN001
    """The harness served from another origin: /info, the transport and its sends pass CORS
    (with credentials for XHR), and messages echo."""
    server = start()
    page.page.goto(f"{other_origin}/harness.html?server={server.http_url}")
    page.page.wait_for_function("window.harnessReady === true || !!window.harnessError", timeout=15_000)
    assert page.run("window.harnessError || null") is None
    assert page.run("location.origin") == other_origin != server.http_url
    r = page.run(ECHO, [options(transport), VALUES[:6]])
    assert r["transport"] == transport
    assert r["got"] == VALUES[:6]
    assert r["info"]["headers"]["origin"] == other_origin
