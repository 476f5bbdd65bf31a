"""Our browser library's socket.io transport (transports/socket.io.js) in headless Chromium
against ``primus-testserver --transformer socket.io``: a plain Primus page, unchanged, over
Socket.IO v5 on Engine.IO, both after the WebSocket upgrade and on polling only (the page's
``websockets: false``). Echo, the spark id, buffering while offline and reconnect after the server
is SIGKILLed, heartbeats over several Engine.IO ping windows, the end from either side, named
events and acknowledgements both ways (bytes too), rooms, the CONNECT auth payload and its
refusal, and a page from another origin.

Every scenario runs in the page; its results come back as JSON and are asserted here.
(The official socket.io-client's browser build is not installed here: npm is unreachable, and
Debian packages only socket.io-parser, not the client.)
"""

from __future__ import annotations

import functools
import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.conftest import HARNESS, BrowserPage

MODES = ["websocket", "polling"]

VALUES: list[Any] = [
    "hello", "", 0, 1.5, -42, True, False, None, [], {}, [1, "two", {"three": 3}],
    "zażółć gęślą jaźń ☃ 😀", "line\u2028sep\u2029para\u0000nul\u001f end",
    '"quotes" and \\backslashes\\ and \n newlines', {"ключ": "значение", "€": ["ü", "ß"]},
]

# Waits until the connection is on the transport the mode wants (the upgrade follows the open).
SETTLED = """
  window.settled = async (primus, mode) => {
    await H.until(() => primus.socket && primus.socket.transport === mode, 10000, 'the ' + mode + ' transport');
  };
"""


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return request.param


def options(mode: str, **extra: Any) -> dict[str, Any]:
    """The Primus options of a page that should end up on ``mode``."""
    out: dict[str, Any] = dict(extra)
    if mode == "polling":
        out["websockets"] = False
    return out


def names(log: list[dict[str, Any]], *, without: tuple[str, ...] = ()) -> list[str]:
    return [entry["event"] for entry in log if entry["event"] not in without]


def ready(page: BrowserPage, server: Any) -> BrowserPage:  # noqa: ANN401
    page.harness(server)
    page.run("() => {" + SETTLED + "}")
    return page


ECHO = """async ([options, mode, values]) => {
  const primus = new Primus(H.server, options);
  const got = [];
  primus.on('data', (data) => got.push(data));
  await H.once(primus, 'open', 10000);
  await settled(primus, mode);
  const url = primus.socket.url;
  values.forEach((v) => primus.write(v));
  await H.until(() => got.length >= values.length, 10000, 'echoes');
  primus.write({ testserver: 'info' });
  await H.until(() => got.length > values.length, 10000, 'info');
  const id = await new Promise((resolve) => primus.id(resolve));
  primus.end();
  return { got: got.slice(0, values.length), info: got[values.length], url, id, socketId: primus.socket.id };
}"""


def test_echo_and_the_spark_id(page: BrowserPage, start_testserver, mode: str) -> None:  # noqa: ANN001
    """Every JSON value comes back intact as `message` events, on the mode's transport; the
    socket id the CONNECT answer gave is the spark id the server knows."""
    server = start_testserver("--transformer", "socket.io")
    ready(page, server)
    r = page.run(ECHO, [options(mode), mode, VALUES])
    assert r["got"] == VALUES
    assert r["url"].startswith(f"http://127.0.0.1:{server.port}/primus/?"), "the handshake's URL, under the pathname"
    assert r["info"]["query"]["_primuscb"], "the cache buster is in the session's query"
    assert r["id"] == r["socketId"] == r["info"]["id"]


def test_server_killed_and_restarted_reconnects_and_delivers_offline_writes_once(
    page: BrowserPage, start_testserver, respawn, mode: str  # noqa: ANN001
) -> None:
    """The server process is SIGKILLed: the page goes offline, keeps what it writes, and once a
    new server listens on the port it reconnects (a new Engine.IO session and CONNECT) and sends
    those writes once, in order."""
    server = start_testserver("--transformer", "socket.io")
    ready(page, server)
    page.run(
        """async ([options, mode]) => {
          window.primus = new Primus(H.server, Object.assign({ reconnect: { min: 100, max: 400, retries: 100 } }, options));
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open', 10000);
          await settled(primus, mode);
          window.firstId = primus.socket.id;
          window.mark = log.length;
        }""",
        [options(mode), mode],
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
        """async (mode) => {
          await H.until(() => got.length >= 2, 30000, 'offline writes echoed after the restart');
          await settled(primus, mode);
          primus.write('after');
          await H.until(() => got.length >= 3, 10000, 'a write after the restart');
          const after = log.slice(mark);
          const ids = [firstId, primus.socket.id];
          primus.end();
          return { after, got, ids };
        }""",
        mode,
    )
    events = names(r["after"], without=("readyStateChange", "error", "data"))
    assert events[:2] == ["close", "reconnect scheduled"], events
    tail = events[events.index("reconnected") - 1:]
    assert tail[:3] == ["reconnect", "reconnected", "open"], events
    assert "reconnect failed" not in events and "end" not in events
    assert r["got"] == ["while-down-1", {"n": 2}, "after"]
    assert r["ids"][0] != r["ids"][1], "a new socket id for the new connection"


def test_heartbeats_over_several_ping_windows(page: BrowserPage, start_testserver, mode: str) -> None:  # noqa: ANN001
    """Engine.IO pings every second (timeout 1 s): each one is a Primus ping to the core, whose
    heartbeat (1.5 x the interval) would otherwise expire; the connection lives through six
    windows and still echoes."""
    interval = 1000
    server = start_testserver("--transformer", "socket.io", "--ping-interval", str(interval), "--ping-timeout", "1000")
    ready(page, server)
    r = page.run(
        """async ([options, mode, interval]) => {
          const primus = new Primus(H.server, options);
          const log = H.record(primus);
          const pongs = [];
          primus.on('outgoing::pong', (t) => pongs.push(t));
          await H.once(primus, 'open', 10000);
          await settled(primus, mode);
          await H.until(() => pongs.length >= 6, interval * 6 + 10000, 'six heartbeats');
          primus.write('still here');
          const [echo] = await H.once(primus, 'data', 10000);
          const result = { log: H.names(log), pongs, pingTimeout: primus.options.pingTimeout,
                           state: primus.readyState, echo };
          primus.end();
          return result;
        }""",
        [options(mode), mode, interval],
    )
    assert r["pingTimeout"] == interval * 3 // 2
    assert len(r["pongs"]) >= 6
    assert all(isinstance(t, (int, float)) and t > 1e12 for t in r["pongs"])  # Date.now() values
    assert r["pongs"] == sorted(r["pongs"])
    assert r["log"] == ["readyStateChange", "readyStateChange", "open", "data"], r["log"]
    assert r["state"] == 3 and r["echo"] == "still here"


def test_server_end_ends_the_page_without_reconnecting(page: BrowserPage, start_testserver, mode: str) -> None:  # noqa: ANN001
    """The server's spark.end(data): the data, then DISCONNECT, which ends the page for good."""
    server = start_testserver("--transformer", "socket.io")
    ready(page, server)
    r = page.run(
        """async ([options, mode]) => {
          const primus = new Primus(H.server, Object.assign({ reconnect: { min: 50 } }, options));
          const log = H.record(primus);
          await H.once(primus, 'open', 10000);
          await settled(primus, mode);
          primus.write({ testserver: 'end', data: 'bye' });
          await H.once(primus, 'end', 10000);
          await H.sleep(1000);                       // would be plenty for a 50 ms reconnect
          return { log, state: primus.readyState };
        }""",
        [options(mode), mode],
    )
    events = names(r["log"], without=("readyStateChange",))
    assert events == ["open", "data", "close", "end"], events
    assert r["log"][[e["event"] for e in r["log"]].index("data")]["args"][0] == "bye"
    assert r["state"] == 2


def test_client_end_leaves_the_server(browser_page, start_testserver, mode: str) -> None:  # noqa: ANN001
    """end() closes and ends the page once, and the server's spark goes away (another page's
    view of the sparks loses it)."""
    server = start_testserver("--transformer", "socket.io")
    leaving, watcher = ready(browser_page(), server), ready(browser_page(), server)
    watcher.run(
        """async () => {
          window.primus = new Primus(H.server);
          window.got = H.collect(primus);
          await H.once(primus, 'open', 10000);
          window.sparks = async () => {
            const before = got.length;
            primus.write({ testserver: 'sparks' });
            await H.until(() => got.length > before, 10000, 'the sparks');
            return got[got.length - 1].sparks;
          };
        }"""
    )
    r = leaving.run(
        """async ([options, mode]) => {
          const primus = new Primus(H.server, Object.assign({ reconnect: { min: 50 } }, options));
          const log = H.record(primus);
          await H.once(primus, 'open', 10000);
          await settled(primus, mode);
          const id = primus.socket.id;
          const opened = log.length;
          primus.end();
          primus.end();
          return { id, after: H.names(log.slice(opened)), state: primus.readyState };
        }""",
        [options(mode), mode],
    )
    assert r["after"] == ["readyStateChange", "close", "end"]
    assert r["state"] == 2
    gone = watcher.run(
        """async (id) => {
          const deadline = Date.now() + 15000;
          while (Date.now() < deadline) {
            if (!(await sparks()).includes(id)) return true;
            await H.sleep(100);
          }
          return false;
        }""",
        r["id"],
    )
    assert gone, "the server still has the spark the page ended"


def test_events_and_acknowledgements_both_ways(page: BrowserPage, start_testserver, mode: str) -> None:  # noqa: ANN001
    """primus.send with an ack (bytes included), the server's `ask` answered through the page's
    ack function, the `auth` event the server emits on connect, and plain data beside them."""
    server = start_testserver("--transformer", "socket.io")
    ready(page, server)
    r = page.run(
        """async ([options, mode]) => {
          const bytes = (b) => (b instanceof ArrayBuffer ? { bytes: Array.from(new Uint8Array(b)) } : b);
          const primus = new Primus(H.server, options);
          const got = { auth: null, ack: null, binaryAck: null, answer: null, everyone: null, data: [] };
          primus.on('auth', (payload) => { got.auth = payload; });
          primus.on('data', (data) => got.data.push(data));
          primus.on('question', (text, n, ack) => ack('page says: ' + text, n + 1));
          primus.on('answer', (...args) => { got.answer = args; });
          primus.on('everyone', (...args) => { got.everyone = args; });
          await H.once(primus, 'open', 10000);
          await settled(primus, mode);
          primus.send('message-with-ack', 'a', [1, 2], { three: null }, (...args) => { got.ack = args; });
          primus.send('message-with-ack', 1, new Uint8Array([1, 2, 255]), { nested: [new Uint8Array([0]).buffer] },
            (...args) => { got.binaryAck = [args[0], bytes(args[1]), { nested: [bytes(args[2].nested[0])] }]; });
          primus.send('ask', 5000, 'hello', 41);
          primus.send('emit-all', 'to', 'all');
          primus.write('plain data');
          await H.until(() => got.auth && got.ack && got.binaryAck && got.answer && got.everyone && got.data.length, 10000, 'events');
          primus.end();
          return got;
        }""",
        [options(mode), mode],
    )
    assert r["auth"] == {}
    assert r["ack"] == ["a", [1, 2], {"three": None}]
    assert r["binaryAck"] == [1, {"bytes": [1, 2, 255]}, {"nested": [{"bytes": [0]}]}]
    assert r["answer"] == ["page says: hello", 42]
    assert r["everyone"] == ["to", "all"]
    assert r["data"] == ["plain data"]


def test_ejson_parser_bytes_round_trip(page: BrowserPage, start_testserver, mode: str) -> None:  # noqa: ANN001
    """With the ejson parser, bytes go out as a Socket.IO attachment and the server's echo, its
    parser's text (`{"$binary":…}`) framed in `message`, reaches the ejson decoder as that text:
    bytes again, beside plain values."""
    server = start_testserver("--transformer", "socket.io", "--parser", "ejson")
    ready(page, server)
    r = page.run(
        """async ([options, mode]) => {
          const primus = new Primus(H.server, options);
          const got = H.collect(primus);
          await H.once(primus, 'open', 10000);
          await settled(primus, mode);
          primus.write({ bytes: new Uint8Array([1, 2, 255]), n: [1, 'two'] });
          primus.write(['plain', { a: null }]);
          await H.until(() => got.length >= 2, 10000, 'echoes');
          primus.end();
          return { isBytes: got[0].bytes instanceof Uint8Array, bytes: Array.from(got[0].bytes), n: got[0].n, plain: got[1] };
        }""",
        [options(mode), mode],
    )
    assert r == {"isBytes": True, "bytes": [1, 2, 255], "n": [1, "two"], "plain": ["plain", {"a": None}]}


def test_rooms_between_two_pages(browser_page, start_testserver, mode: str) -> None:  # noqa: ANN001
    """join answers the rooms; to-room reaches the room's other sparks, not the sender;
    write-room writes plain data to everyone in the room, the sender too."""
    server = start_testserver("--transformer", "socket.io")
    alice, bob = ready(browser_page(), server), ready(browser_page(), server)
    rooms = []
    for p in (alice, bob):
        rooms.append(p.run(
            """async ([options, mode]) => {
              window.primus = new Primus(H.server, options);
              window.heard = [];
              window.got = H.collect(primus);
              primus.on('room-message', (text) => heard.push(text));
              await H.once(primus, 'open', 10000);
              await settled(primus, mode);
              return await new Promise((resolve) => primus.send('join', 'lobby', resolve));
            }""",
            [options(mode), mode],
        ))
    assert all("lobby" in joined for joined in rooms), rooms
    alice.run("async () => { primus.send('to-room', 'lobby', 'hi from alice'); }")
    heard = bob.run("async () => { await H.until(() => heard.length > 0, 10000, 'room message'); return heard; }")
    assert heard == ["hi from alice"]
    # The sender is left out: a round trip of Alice's own proves nothing is on its way to her.
    alice_heard = alice.run(
        """async () => {
          await new Promise((resolve) => primus.send('message-with-ack', 'sync', resolve));
          return heard;
        }"""
    )
    assert alice_heard == []
    bob.run("async () => { primus.send('write-room', 'lobby', { to: 'the room' }); }")
    for p in (alice, bob):
        got = p.run("async () => { await H.until(() => got.length > 0, 10000, 'room data'); const g = got.slice(); primus.end(); return g; }")
        assert got == [{"to": "the room"}]


def test_auth_payload_and_its_refusal(browser_page, start_testserver, mode: str) -> None:  # noqa: ANN001
    """The transport options' auth object goes with CONNECT (the server emits it back as
    `auth`); the token the server refuses answers CONNECT_ERROR: an error naming the reason,
    then the end, and no reconnect."""
    server = start_testserver("--transformer", "socket.io")
    accepted, refused = ready(browser_page(), server), ready(browser_page(), server)
    ok = accepted.run(
        """async ([options, mode]) => {
          const primus = new Primus(H.server, Object.assign({ transport: { auth: { token: 'good', n: [1] } } }, options));
          const [auth] = await Promise.all([H.once(primus, 'auth', 10000), H.once(primus, 'open', 10000)]);
          primus.end();
          return auth[0];
        }""",
        [options(mode), mode],
    )
    assert ok == {"token": "good", "n": [1]}
    r = refused.run(
        """async ([options, mode]) => {
          const primus = new Primus(H.server, Object.assign({ reconnect: { min: 50 }, transport: { auth: { token: 'bad' } } }, options));
          const log = H.record(primus);
          await H.once(primus, 'end', 10000);
          await H.sleep(1000);                       // would be plenty for a 50 ms reconnect
          return { log, state: primus.readyState };
        }""",
        [options(mode), mode],
    )
    events = names(r["log"], without=("readyStateChange",))
    assert events == ["error", "close", "end"], events
    assert r["log"][[e["event"] for e in r["log"]].index("error")]["args"][0]["error"] == "Socket.IO connection refused: Not authorized"
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


def test_a_page_on_another_origin_echoes(page: BrowserPage, start_testserver, other_origin: str, mode: str) -> None:  # noqa: ANN001
    """The harness served from another origin: the polling requests (with credentials) and the
    WebSocket pass CORS, and messages echo."""
    server = start_testserver("--transformer", "socket.io")
    page.page.goto(f"{other_origin}/harness.html?server={server.http_url}")
    page.page.wait_for_function("window.harnessReady === true || !!window.harnessError", timeout=15_000)
    assert page.run("window.harnessError || null") is None
    page.run("() => {" + SETTLED + "}")
    assert page.run("location.origin") == other_origin != server.http_url
    r = page.run(ECHO, [options(mode), mode, VALUES[:6]])
    assert r["got"] == VALUES[:6]
    assert r["info"]["headers"]["origin"] == other_origin
