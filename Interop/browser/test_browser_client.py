"""The browser client (served at /primus/primus.js) in headless Chromium against primus-testserver.

One test per behaviour. Every scenario runs in the page; its results come back as JSON and are
asserted here.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest

from browser.conftest import BrowserPage
from primus_support import free_port

NOT_RECONNECT = {"reconnect", "reconnect scheduled", "reconnected", "reconnect failed", "reconnect timeout"}

# The transformers whose browser client these behaviours run over. A test that takes the
# `transformer` fixture runs once per transformer; the few that do not say why.
TRANSFORMERS = ["websockets", "engine.io"]


@pytest.fixture(params=TRANSFORMERS)
def transformer(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def start(start_testserver, transformer: str):  # noqa: ANN001, ANN201
    """``start(*flags)``: a primus-testserver running ``transformer`` with ``flags``."""
    return lambda *flags: start_testserver("--transformer", transformer, *flags)


def connection_url_prefix(transformer: str, port: int, query: str = "") -> str:
    """The start of ``primus.socket.url``: the WebSocket, or the Engine.IO handshake (path with a
    trailing slash, the user's query first)."""
    if transformer == "websockets":
        return f"ws://127.0.0.1:{port}/primus?{query}_primuscb="
    return f"http://127.0.0.1:{port}/primus/?{query}_primuscb="


def names(log: list[dict[str, Any]], *, without: tuple[str, ...] = ()) -> list[str]:
    return [entry["event"] for entry in log if entry["event"] not in without]


def states(log: list[dict[str, Any]]) -> list[str]:
    return [entry["args"][0] for entry in log if entry["event"] == "readyStateChange"]


# --------------------------------------------------------------------------- connecting


def test_open_events_ready_states_and_url(page: BrowserPage, start, transformer: str) -> None:  # noqa: ANN001
    """Checklist 18, 54 and 60: open, three readyStateChange (opening, open, end), the URL is the pathname plus the query and _primuscb."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server + '/?foo=bar&name=%C3%A9t%C3%A9');
          const log = H.record(primus);
          const before = primus.readyState;
          await H.once(primus, 'open');
          const during = primus.readyState;
          primus.write({ testserver: 'info' });
          const [info] = await H.once(primus, 'data');
          const url = primus.socket.url;
          primus.end();
          return { log, before, during, after: primus.readyState, info, url,
                   readable: primus.readable, writable: primus.writable };
        }"""
    )
    assert (r["before"], r["during"], r["after"]) == (2, 3, 2)  # CLOSED, OPEN, CLOSED
    assert names(r["log"]) == [
        "readyStateChange", "readyStateChange", "open", "data", "readyStateChange", "close", "end",
    ]
    assert states(r["log"]) == ["opening", "open", "end"]
    assert r["url"].startswith(connection_url_prefix(transformer, server.port, "foo=bar&name=%C3%A9t%C3%A9&"))
    if transformer == "engine.io":
        assert "&EIO=4&transport=polling&t=" in r["url"] and r["url"].endswith("&b64=1")
    query = r["info"]["query"]
    assert query["foo"] == "bar" and query["name"] == "été"
    assert query["_primuscb"], "cache buster missing"
    assert r["readable"] is False and r["writable"] is False


def test_echo_json_values_with_raw(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 66: echo round trip of every JSON value; data's second argument is the raw message."""
    server = start()
    page.harness(server)
    values: list[Any] = [
        "hello", "", 0, 1.5, -42, 1e21, True, False, None, [], {},
        [1, "two", {"three": 3}], {"nested": {"deep": [None, True, "x"]}, "n": 0},
    ]
    r = page.run(
        """async (values) => {
          const primus = new Primus(H.server);
          const got = [];
          primus.on('data', (data, raw) => got.push({ data, raw }));
          await H.once(primus, 'open');
          values.forEach((v) => primus.write(v));
          await H.until(() => got.length >= values.length, 5000, 'echoes');
          await H.sleep(100);
          primus.end();
          return { got, expectedRaw: values.map((v) => JSON.stringify(v)) };
        }""",
        values,
    )
    assert [g["data"] for g in r["got"]] == values
    # `raw` is the undecoded frame. The server re-encodes objects (its key order may differ), so
    # objects are compared decoded; everything else byte for byte.
    for value, got, expected_raw in zip(values, r["got"], r["expectedRaw"]):
        if isinstance(value, dict) and value:
            assert json.loads(got["raw"]) == value
        else:
            assert got["raw"] == expected_raw


def test_echo_utf8(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 69: UTF-8 round-trips in order."""
    server = start()
    page.harness(server)
    values = ["pongРУССКИЙ", "€€€", "日本語のテキスト", "emoji 😀 and 𝄞", "line\u2028para\u2029end",
              {"ключ": "значение", "€": ["ü", "ß"]}]
    r = page.run(
        """async (values) => {
          const primus = new Primus(H.server);
          const got = H.collect(primus);
          await H.once(primus, 'open');
          values.forEach((v) => primus.write(v));
          await H.until(() => got.length >= values.length, 5000, 'echoes');
          primus.end();
          return got;
        }""",
        values,
    )
    assert r == values


def test_writes_before_open_are_delivered_in_order(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 68: writes before open are buffered and delivered in order."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          const got = H.collect(primus);
          const returned = [];
          for (let i = 0; i < 11; i++) returned.push(primus.write(i));
          returned.push(primus.write('last'));
          const buffered = primus.buffer.length;
          await H.once(primus, 'open');
          await H.until(() => got.length >= 12, 5000, 'buffered echoes');
          await H.sleep(200);
          primus.end();
          return { got, returned, buffered };
        }"""
    )
    assert r["buffered"] == 12
    assert all(r["returned"])
    assert r["got"] == [*range(11), "last"]


def test_id_is_the_spark_id(page: BrowserPage, start, transformer: str) -> None:  # noqa: ANN001
    """Checklist 81: primus.id(cb) yields the spark id."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          const id = await new Promise((resolve) => primus.id(resolve));   // asked before open
          primus.write({ testserver: 'info' });
          const [info] = await H.once(primus, 'data');
          const again = await new Promise((resolve) => primus.id(resolve)); // asked while open
          const socketId = primus.socket.id || null;
          primus.end();
          return { id, again, spark: info.id, socketId };
        }"""
    )
    assert isinstance(r["id"], str) and r["id"]
    assert r["id"] == r["spark"] == r["again"]
    if transformer == "engine.io":
        assert r["socketId"] == r["spark"]  # the Engine.IO session id is the spark id


def test_default_url_and_global_for_an_unchanged_primus8_page(page: BrowserPage, start, transformer: str) -> None:  # noqa: ANN001
    """Checklist 17 and 54: a page on the server's origin that loads /primus/primus.js and uses Primus as documented."""
    server = start()
    page.page.goto(f"{server.http_url}/primus/spec")
    page.page.add_script_tag(url="/primus/primus.js")
    r = page.run(
        """async () => {
          const shape = {
            global: typeof Primus, connect: typeof Primus.connect,
            states: [Primus.OPENING, Primus.CLOSED, Primus.OPEN],
            pathname: Primus.prototype.pathname, version: Primus.prototype.version,
          };
          const primus = Primus();                       // no `new`, no URL: location.origin
          const echoed = new Promise((resolve) => primus.on('data', resolve));
          primus.on('open', () => primus.write({ hello: 'world' }));
          const data = await echoed;
          shape.url = primus.socket.url;
          shape.data = data;
          shape.instance = primus instanceof Primus;
          shape.reserved = [primus.reserved('data'), primus.reserved('incoming::foo'), primus.reserved('custom')];
          primus.destroy();
          shape.destroyed = primus.readyState;
          return shape;
        }"""
    )
    assert r["global"] == "function" and r["connect"] == "function"
    assert r["states"] == [1, 2, 3]
    assert r["pathname"] == "/primus" and r["version"] == "8.0.9"
    assert r["url"].startswith(connection_url_prefix(transformer, server.port))
    assert r["data"] == {"hello": "world"}
    assert r["instance"] is True
    assert r["reserved"] == [True, True, False]
    assert r["destroyed"] == 2


def test_manual_client_connects_only_on_open(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 58: manual waits for open()."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { manual: true });
          const log = H.record(primus);
          await H.sleep(400);
          const idle = { state: primus.readyState, events: H.names(log) };
          primus.open();
          await H.once(primus, 'open');
          primus.end();
          return { idle, events: H.names(log) };
        }"""
    )
    assert r["idle"] == {"state": 2, "events": []}
    assert r["events"] == ["readyStateChange", "readyStateChange", "open", "readyStateChange", "close", "end"]


# --------------------------------------------------------------------------- ending


def test_server_end_ends_client_without_reconnect(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 75: the server's spark.end() ends the client, never reconnecting."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { reconnect: { min: 50 } });
          const log = H.record(primus);
          await H.once(primus, 'open');
          primus.write({ testserver: 'end', data: 'bye' });
          await H.once(primus, 'end');
          await H.sleep(1500);                       // would be plenty for a 50 ms reconnect
          return { log, state: primus.readyState };
        }"""
    )
    events = names(r["log"])
    assert events == ["readyStateChange", "readyStateChange", "open", "data", "readyStateChange", "close", "end"]
    assert r["log"][3]["args"][0] == "bye"
    assert not NOT_RECONNECT & set(events)
    assert r["state"] == 2


def test_client_end(page: BrowserPage, start, transformer: str) -> None:  # noqa: ANN001
    """Checklist 64 and 65: end() emits close and end once, however often called, and never reconnects."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { reconnect: { min: 50 } });
          const log = H.record(primus);
          await H.once(primus, 'open');
          const opened = log.length;
          primus.end();
          primus.end();                             // a second end() emits nothing
          await H.sleep(800);
          return { after: log.slice(opened), state: primus.readyState,
                   readable: primus.readable, writable: primus.writable, socket: primus.socket && primus.socket.readyState };
        }"""
    )
    assert names(r["after"]) == ["readyStateChange", "close", "end"]
    assert states(r["after"]) == ["end"]
    assert r["state"] == 2 and r["readable"] is False and r["writable"] is False
    if transformer == "websockets":
        assert r["socket"] in (2, 3)  # CLOSING or CLOSED
    else:
        assert r["socket"] == "closed"


def test_end_inside_reconnect_scheduled_stops_reconnecting(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 92: end() inside reconnect scheduled stops the procedure."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { reconnect: { min: 100 } });
          const log = H.record(primus);
          await H.once(primus, 'open');
          primus.once('reconnect scheduled', () => primus.end());
          primus.write({ testserver: 'end-reconnect' });
          await H.once(primus, 'end');
          await H.sleep(600);
          return { log, state: primus.readyState, reconnecting: primus.recovery.reconnecting() };
        }"""
    )
    events = names(r["log"], without=("readyStateChange",))
    assert events == ["open", "close", "reconnect scheduled", "end"]
    assert r["state"] == 2 and r["reconnecting"] is False


# --------------------------------------------------------------------------- reconnecting


def test_server_end_reconnect_reconnects_in_order_and_flushes_buffer_once(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 90, 93 and 95: spark.end(reconnect) reconnects; reconnected then open; the attempt object."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { reconnect: { min: 150 } });
          const log = H.record(primus);
          const got = H.collect(primus);
          await H.once(primus, 'open');
          const firstId = await new Promise((resolve) => primus.id(resolve));
          const mark = log.length;
          // Written while disconnected: buffered, sent once on the new connection.
          primus.once('close', () => { primus.write('offline-1'); primus.write({ n: 2 }); });
          primus.write({ testserver: 'end-reconnect' });
          await H.once(primus, 'open', 5000);
          await H.until(() => got.length >= 2, 3000, 'buffered echoes');
          await H.sleep(700);
          const secondId = await new Promise((resolve) => primus.id(resolve));
          primus.end();
          return { after: log.slice(mark), got, firstId, secondId, reconnecting: primus.recovery.reconnecting() };
        }"""
    )
    after = r["after"]
    assert names(after)[:9] == [
        "readyStateChange", "close", "reconnect scheduled", "readyStateChange", "reconnect",
        "reconnected", "readyStateChange", "open", "data",
    ]
    assert states(after)[:3] == ["end", "opening", "open"]
    scheduled = after[2]["args"][0]
    assert scheduled["attempt"] == 1 and scheduled["scheduled"] == 150
    assert after[5]["args"][0]["attempt"] == 1   # reconnected(opts)
    assert r["got"] == ["offline-1", {"n": 2}]  # delivered once, in order
    assert r["firstId"] != r["secondId"]       # a reconnect is a new spark


def test_server_restart_reconnects_and_delivers_offline_writes_once(page: BrowserPage, start, respawn) -> None:  # noqa: ANN001
    """Checklist 95 and 96: a server going away makes the client schedule reconnects with increasing attempts."""
    server = start()
    page.harness(server)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 100, max: 400, retries: 100 } });
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open');
          window.mark = log.length;
        }"""
    )
    again = respawn(server)  # the server is down now
    page.run(
        """async () => {
          await H.until(() => H.names(log).includes('close'), 5000, 'close after the server stopped');
          await H.until(() => H.names(log).filter((n) => n === 'reconnect').length >= 2, 5000, 'failing attempts');
          primus.write('while-down-1');
          primus.write('while-down-2');
        }"""
    )
    time.sleep(0.3)
    again.start()
    r = page.run(
        """async () => {
          await H.until(() => got.length >= 2, 10000, 'offline writes echoed after restart');
          await H.sleep(800);
          const after = log.slice(mark);
          primus.end();
          return { after, got, state: primus.readyState };
        }"""
    )
    events = names(r["after"], without=("readyStateChange", "error"))
    assert events[:2] == ["close", "reconnect scheduled"]
    tail = events[events.index("reconnected") - 1:]
    assert tail[:3] == ["reconnect", "reconnected", "open"], events
    assert "reconnect failed" not in events and "end" not in events[:-1]
    attempts = [e["args"][0]["attempt"] for e in r["after"] if e["event"] == "reconnect scheduled"]
    assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) >= 2
    assert r["got"] == ["while-down-1", "while-down-2"]


def test_unreachable_server_errors_then_reconnect_fails(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 57: a dead server gives error, no throw; the backoff stays within min and max."""
    server = start()  # only to serve the library
    page.harness(server)
    dead = f"http://127.0.0.1:{free_port()}"
    r = page.run(
        """async (dead) => {
          const primus = new Primus(dead, { reconnect: { min: 50, max: 200, retries: 3 } });
          const log = H.record(primus);
          const started = Date.now();
          await H.once(primus, 'reconnect failed', 8000);
          const elapsed = Date.now() - started;
          await H.sleep(400);
          return { log, elapsed, state: primus.readyState };
        }""",
        dead,
    )
    events = names(r["log"], without=("readyStateChange",))
    assert events == [
        "error", "reconnect scheduled", "reconnect", "reconnect scheduled", "reconnect",
        "reconnect scheduled", "reconnect", "end", "reconnect failed",
    ]
    assert r["log"][[e["event"] for e in r["log"]].index("error")]["args"][0]["error"]
    scheduled = [e["args"][0] for e in r["log"] if e["event"] == "reconnect scheduled"]
    assert scheduled[0]["scheduled"] == 50
    assert 100 <= scheduled[1]["scheduled"] <= 200
    assert scheduled[2]["scheduled"] == 200  # 200..400, capped at max
    failed = [e for e in r["log"] if e["event"] == "reconnect failed"][0]["args"]
    assert failed[0]["error"] == "Unable to recover" and failed[1]["attempt"] == 3
    assert r["elapsed"] < 3000 and r["state"] == 2


def test_hung_server_times_out_connect_and_reconnect_attempts(page: BrowserPage, start) -> None:  # noqa: ANN001
    """A peer that accepts TCP but never answers the upgrade: 'timeout', then 'reconnect timeout's."""
    server = start()
    page.harness(server)
    hung = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    hung.bind(("127.0.0.1", 0))
    hung.listen(64)
    try:
        r = page.run(
            """async (url) => {
              const primus = new Primus(url, { timeout: 300, reconnect: { min: 50, retries: 2, 'reconnect timeout': 300 } });
              const log = H.record(primus);
              await H.once(primus, 'reconnect failed', 8000);
              await H.sleep(300);
              return { log };
            }""",
            f"http://127.0.0.1:{hung.getsockname()[1]}",
        )
    finally:
        hung.close()
    events = names(r["log"], without=("readyStateChange",))
    assert events == [
        "timeout", "reconnect scheduled", "reconnect", "reconnect timeout", "reconnect scheduled",
        "reconnect", "reconnect timeout", "end", "reconnect failed",
    ]
    timeouts = [e["args"][0]["error"] for e in r["log"] if e["event"] == "reconnect timeout"]
    assert timeouts == ["Failed to reconnect in a timely manner"] * 2


# --------------------------------------------------------------------------- heartbeats


def test_heartbeats_with_short_interval_keep_the_connection(page: BrowserPage, start, transformer: str) -> None:  # noqa: ANN001
    """Checklist 16: the compiled pingTimeout is 1.5 x the server's pingInterval."""
    # Over Engine.IO every ping is a polling round trip (until the upgrade): a roomier interval.
    interval = 200 if transformer == "websockets" else 1000
    server = start("--ping-interval", str(interval))
    page.harness(server)
    r = page.run(
        """async (interval) => {
          const primus = new Primus(H.server);
          const log = H.record(primus);
          const pongs = [];
          primus.on('outgoing::pong', (t) => pongs.push(t));
          await H.once(primus, 'open');
          await H.until(() => pongs.length >= 5, interval * 5 + 5000, 'five heartbeats');
          primus.write('still here');
          const [echo] = await H.once(primus, 'data');
          const result = { log: H.names(log), pongs, pingTimeout: primus.options.pingTimeout,
                           state: primus.readyState, echo };
          primus.end();
          return result;
        }""",
        interval,
    )
    assert r["pingTimeout"] == interval * 3 // 2  # compiled: 1.5 x the server's interval
    assert len(r["pongs"]) >= 5, r["pongs"]
    assert all(isinstance(t, (int, float)) and t > 1e12 for t in r["pongs"])  # ms timestamps echoed
    assert r["log"] == ["readyStateChange", "readyStateChange", "open", "data"]
    assert r["state"] == 3 and r["echo"] == "still here"


def test_missing_heartbeats_go_offline_and_reconnect(page: BrowserPage, start) -> None:  # noqa: ANN001
    server = start("--ping-interval", "10000")
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { pingTimeout: 400, reconnect: { min: 100 } });
          const log = H.record(primus);
          await H.once(primus, 'open');
          const mark = log.length;
          await H.once(primus, 'offline', 3000);
          await H.once(primus, 'open', 3000);
          const after = log.slice(mark);
          primus.end();
          return { after, compiled: Primus.prototype.constructor === Primus };
        }"""
    )
    assert names(r["after"]) == [
        "offline", "readyStateChange", "close", "reconnect scheduled", "readyStateChange",
        "reconnect", "reconnected", "online", "readyStateChange", "open",
    ]


def test_heartbeats_off_compiles_no_ping_timeout(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 16: pingInterval off compiles pingTimeout false."""
    server = start("--ping-interval", "0")
    page.harness(server)
    r = page.run("() => new Primus(H.server, { manual: true }).options.pingTimeout")
    assert r is False


# --------------------------------------------------------------------------- options and API


def test_queue_size_bounds_and_zero_disables_offline_buffer(page: BrowserPage, start) -> None:  # noqa: ANN001
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const bounded = new Primus(H.server, { queueSize: 2 });
          const none = new Primus(H.server, { queueSize: 0 });
          const a = H.collect(bounded), b = H.collect(none);
          ['a', 'b', 'c', 'd'].forEach((x) => { bounded.write(x); none.write(x); });
          const sizes = [bounded.buffer.length, none.buffer.length];
          await Promise.all([H.once(bounded, 'open'), H.once(none, 'open')]);
          none.write('after open');
          await H.until(() => a.length >= 2 && b.length >= 1, 5000, 'echoes');
          await H.sleep(300);
          bounded.end(); none.end();
          return { sizes, a, b };
        }"""
    )
    assert r["sizes"] == [2, 0]
    assert r["a"] == ["c", "d"]        # the oldest were dropped
    assert r["b"] == ["after open"]    # nothing was kept while not open


def test_message_transformers(page: BrowserPage, start, transformer: str) -> None:  # noqa: ANN001
    """Checklist 84, 85, 86 and 87: client transforms rewrite and swallow both ways (sync and async); an unknown type throws naming transformer."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          primus.transform('outgoing', (packet) => { if (packet.data === 'drop') return false; packet.data = { wrapped: packet.data }; });
          primus.transform('incoming', (packet, next) => setTimeout(() => {
            if (packet.data.wrapped === 'quiet') return next(undefined, false);
            packet.data = 'got ' + JSON.stringify(packet.data); next();
          }, 5));
          let invalid = null;
          try { primus.transform('cowsack', () => {}); } catch (e) { invalid = e.message; }
          const got = H.collect(primus);
          await H.once(primus, 'open');
          ['one', 'drop', 'quiet', 'two'].forEach((x) => primus.write(x));
          await H.until(() => got.length >= 2, 5000, 'transformed echoes');
          await H.sleep(300);
          primus.end();
          return { got, invalid };
        }"""
    )
    assert r["got"] == ['got {"wrapped":"one"}', 'got {"wrapped":"two"}']
    assert "transformer" in r["invalid"]


def test_strategy_false_and_options_defaults(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 56 and 91: strategy false is '' and the default joins disconnect, online, timeout; end-reconnect with strategy false ends."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const d = new Primus(H.server, { manual: true });
          const off = new Primus(H.server, { strategy: false, reconnect: { min: 50 } });
          const log = H.record(off);
          await H.once(off, 'open');
          off.write({ testserver: 'end-reconnect' });
          await H.once(off, 'end');
          await H.sleep(300);
          let removed = null;
          try { new Primus(H.server, { ping: 1, manual: true }); } catch (e) { removed = e.message; }
          return {
            strategy: d.options.strategy, off: off.options.strategy, timeout: d.options.timeout,
            queueSize: String(d.options.queueSize), recovery: [d.recovery.min, String(d.recovery.max), d.recovery.retries, d.recovery.factor, d.recovery['reconnect timeout']],
            events: H.names(log, ['readyStateChange']), removed,
          };
        }"""
    )
    assert r["strategy"] == "disconnect,online,timeout"
    assert r["off"] == ""
    assert r["timeout"] == 10000 and r["queueSize"] == "Infinity"
    assert r["recovery"] == [500, "Infinity", 10, 2, 30000]
    assert r["events"] == ["open", "close", "end"]
    assert r["removed"] == "The `ping` and `pong` options have been removed"


def test_browser_offline_then_online(page: BrowserPage, start, transformer: str) -> None:  # noqa: ANN001
    server = start()
    page.harness(server)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 100 } });
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open');
          window.mark = log.length;
        }"""
    )
    page.context.set_offline(True)
    page.run("async () => { await H.once(primus, 'end', 3000).catch(() => null); await H.until(() => H.names(log).includes('end'), 3000, 'end after offline'); primus.write('typed offline'); }")
    page.context.set_offline(False)
    r = page.run(
        """async () => {
          await H.until(() => got.length >= 1, 5000, 'echo after online');
          const after = log.slice(mark);
          primus.end();
          return { after: H.names(after, ['readyStateChange']), got };
        }"""
    )
    assert r["after"] == ["offline", "close", "end", "online", "reconnect scheduled", "reconnect", "reconnected", "open", "data"]
    assert r["got"] == ["typed offline"]


# Not per transformer: this client never opens a connection, so its transport never runs.
def test_manual_client_stays_closed_when_the_browser_comes_online(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    """Primus #708: a client that never opened must not connect on the 'online' event."""
    server = start_testserver()
    page.harness(server)
    page.run("() => { window.idle = new Primus(H.server, { manual: true }); window.idleLog = H.record(idle); }")
    page.context.set_offline(True)
    page.run("() => H.until(() => !navigator.onLine, 3000, 'offline')")
    page.context.set_offline(False)
    r = page.run("async () => { await H.sleep(800); return { events: H.names(idleLog), state: idle.readyState }; }")
    assert r == {"events": ["offline", "online"], "state": 2}


# Not per transformer: the context check runs before any transport code.
@pytest.mark.parametrize("calls", ["open", "write", "end"])
def test_methods_check_their_context(page: BrowserPage, start_testserver, calls: str) -> None:  # noqa: ANN001
    """Checklist 59: open, write and end called with a wrong this throw naming Primus#method and context."""
    server = start_testserver()
    page.harness(server)
    message = page.run(
        """(method) => {
          const primus = new Primus(H.server, { manual: true });
          try { primus[method].call({}); } catch (e) { return e.message; }
          return null;
        }""",
        calls,
    )
    assert message == f"Primus#{calls}'s context should called with a Primus instance"


# --------------------------------------------------------------------------- Engine.IO transport
# What only the engine.io client does: polling, the upgrade to WebSocket, `websockets: false`,
# its own ping timeout. The network traffic is what Chromium reports to Playwright.


class Traffic:
    """The page's Engine.IO traffic in order: HTTP requests (with bodies) and WebSockets (with
    frames), each as one entry of ``log``; plus the requests still in flight."""

    def __init__(self, page: Any) -> None:
        self.log: list[tuple[str, ...]] = []
        self.sockets: list[Any] = []
        self.in_flight: set[Any] = set()
        page.on("request", self._request)
        page.on("requestfinished", lambda request: self.in_flight.discard(request))
        page.on("requestfailed", lambda request: self.in_flight.discard(request))
        page.on("websocket", self._websocket)

    def _request(self, request: Any) -> None:
        if "EIO=" not in request.url:
            return
        self.in_flight.add(request)
        self.log.append(("http", request.method, request.url, request.post_data or ""))

    def _websocket(self, ws: Any) -> None:
        self.sockets.append(ws)
        self.log.append(("ws-open", ws.url))
        ws.on("framesent", lambda payload: self.log.append(("sent", str(payload))))
        ws.on("framereceived", lambda payload: self.log.append(("received", str(payload))))
        ws.on("close", lambda _ws: self.log.append(("ws-close", ws.url)))

    def http(self) -> list[tuple[str, ...]]:
        return [entry for entry in self.log if entry[0] == "http"]

    def frames(self, direction: str) -> list[str]:
        return [entry[1] for entry in self.log if entry[0] == direction]

    def wait(self, page: BrowserPage, predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
        """Lets the page run (its events reach us meanwhile) until ``predicate()`` holds."""
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}: {self.log[-12:]}"
            page.page.wait_for_timeout(50)


def start_engineio(start_testserver, *flags: str):  # noqa: ANN001, ANN201
    return start_testserver("--transformer", "engine.io", "--ping-interval", "1000", *flags)


def test_engineio_handshakes_on_polling_then_upgrades_to_websocket(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    server = start_engineio(start_testserver)
    traffic = Traffic(page.page)
    page.harness(server)
    r = page.run(
        """async () => {
          window.primus = new Primus(H.server + '/?room=a');
          window.got = H.collect(primus);
          await H.once(primus, 'open');
          const first = primus.socket.transport;
          await H.until(() => primus.socket.transport === 'websocket', 10000, 'the upgrade');
          primus.write('over the websocket');
          await H.until(() => got.length >= 1, 5000, 'echo');
          return { first, sid: primus.socket.id, got, avoid: primus.AVOID_WEBSOCKETS };
        }"""
    )
    assert r["first"] == "polling" and r["avoid"] is False
    assert r["got"] == ["over the websocket"]
    sid = r["sid"]
    # The server's next ping and our pong travel over the WebSocket too.
    traffic.wait(page, lambda: "2" in traffic.frames("received") and "3" in traffic.frames("sent"), "a ping over the WebSocket")

    method, url = traffic.http()[0][1:3]
    assert method == "GET"
    assert url.startswith(f"http://127.0.0.1:{server.port}/primus/?room=a&_primuscb=")
    assert "&EIO=4&transport=polling&t=" in url and url.endswith("&b64=1") and "sid=" not in url
    assert len(traffic.sockets) == 1
    ws_url = traffic.sockets[0].url
    assert ws_url.startswith(f"ws://127.0.0.1:{server.port}/primus/?room=a&_primuscb=")
    assert f"&EIO=4&transport=websocket&sid={sid}&t=" in ws_url
    assert traffic.frames("sent")[:2] == ["2probe", "5"]
    assert traffic.frames("received")[0] == "3probe"
    assert '4"over the websocket"' in traffic.frames("sent")
    assert '4"over the websocket"' in traffic.frames("received")
    # Once `5` went out, polling is over: no request after it.
    upgraded = traffic.log.index(("sent", "5"))
    assert not [entry for entry in traffic.log[upgraded:] if entry[0] == "http"]
    # Every poll after the handshake carried the sid and no b64.
    for _, _, poll_url, _ in traffic.http()[1:]:
        assert f"&sid={sid}&" in poll_url and "b64" not in poll_url
    page.run("() => primus.end()")


def test_engineio_websockets_false_stays_on_polling(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    """Primus's `websockets: false` (checklist 97): engine.io polls and never opens a WebSocket,
    while the default client upgrades right after the handshake (previous test)."""
    server = start_engineio(start_testserver)
    traffic = Traffic(page.page)
    page.harness(server)
    r = page.run(
        """async () => {
          window.primus = new Primus(H.server, { websockets: false });
          const got = H.collect(primus);
          const pongs = [];
          primus.on('outgoing::pong', (t) => pongs.push(t));
          await H.once(primus, 'open');
          primus.write('polled');
          primus.write({ n: 2 });
          await H.until(() => got.length >= 2, 5000, 'echoes');
          await H.until(() => pongs.length >= 2, 10000, 'two Primus heartbeats');
          return { got, avoid: primus.AVOID_WEBSOCKETS, transport: primus.socket.transport, state: primus.readyState };
        }"""
    )
    # Two Engine.IO pings answered on polling as well: the session has been up for a while.
    traffic.wait(page, lambda: sum(1 for e in traffic.http() if e[1] == "POST" and e[3] == "3") >= 2, "two polled pongs")
    assert r == {"got": ["polled", {"n": 2}], "avoid": True, "transport": "polling", "state": 3}
    assert traffic.sockets == []
    assert all("transport=polling" in e[2] for e in traffic.http())
    posted = [e[3] for e in traffic.http() if e[1] == "POST"]
    assert any('4"polled"' in body.split("\x1e") for body in posted), posted
    page.run("() => primus.end()")


@pytest.mark.parametrize("websockets", [True, False], ids=["upgraded", "polling"])
def test_engineio_end_leaves_no_request_or_socket(page: BrowserPage, start_testserver, websockets: bool) -> None:  # noqa: ANN001
    server = start_engineio(start_testserver)
    traffic = Traffic(page.page)
    page.harness(server)
    page.run(
        """async (websockets) => {
          // What the client sends once end() was called, seen from inside the page (Playwright's
          // events may arrive later than the call that caused them).
          window.ending = false;
          window.sentAfterEnd = [];
          const send = WebSocket.prototype.send;
          WebSocket.prototype.send = function (data) {
            if (ending) sentAfterEnd.push(['ws', String(data)]);
            return send.call(this, data);
          };
          const fetching = window.fetch;
          window.fetch = function (url, init) {
            if (ending) sentAfterEnd.push([init.method, init.body || '']);
            return fetching.call(this, url, init);
          };
          window.primus = new Primus(H.server, { websockets });
          await H.once(primus, 'open');
          const transport = websockets ? 'websocket' : 'polling';
          await H.until(() => primus.socket.transport === transport, 10000, transport);
          primus.write('x');
          await H.once(primus, 'data');
        }""",
        websockets,
    )
    r = page.run(
        """() => {
          const socket = primus.socket;
          ending = true;
          primus.end();
          return { state: socket.readyState, timers: Object.keys(primus.timers.timers) };
        }"""
    )
    assert r == {"state": "closed", "timers": []}
    traffic.wait(page, lambda: not traffic.in_flight, "every request to finish or be aborted")
    traffic.wait(page, lambda: all(ws.is_closed() for ws in traffic.sockets), "the WebSocket to close")
    assert len(traffic.sockets) == (1 if websockets else 0)
    # No timer is left to restart anything: the next server ping would be due within a second.
    count = len(traffic.log)
    page.run("() => H.sleep(1500)")
    assert [e for e in traffic.log[count:] if e[0] in ("http", "ws-open", "sent")] == []
    sent = page.run("() => sentAfterEnd")
    if websockets:
        assert sent == []  # closing the WebSocket is the goodbye
    else:
        assert sent == [["POST", "1"]]  # the poll is aborted; one last POST says goodbye


@pytest.mark.parametrize("websockets", [True, False], ids=["upgraded", "polling"])
def test_engineio_ping_timeout_reports_the_connection_gone(page: BrowserPage, start_testserver, websockets: bool) -> None:  # noqa: ANN001
    """No Engine.IO ping for pingInterval + pingTimeout: the connection is gone and the client
    reconnects. Primus's own heartbeat check is off here (`pingTimeout: false`), so only the
    Engine.IO watchdog can notice the server, frozen with SIGSTOP, has stopped pinging."""
    server = start_engineio(start_testserver, "--ping-timeout", "1000")
    page.harness(server)
    page.run(
        """async (websockets) => {
          window.primus = new Primus(H.server, { websockets, pingTimeout: false, reconnect: { min: 200, max: 1000, retries: 100 } });
          window.log = H.record(primus);
          await H.once(primus, 'open');
          const transport = websockets ? 'websocket' : 'polling';
          await H.until(() => primus.socket.transport === transport, 10000, transport);
          window.mark = log.length;
          window.firstId = primus.socket.id;
        }""",
        websockets,
    )
    assert server.proc is not None
    os.kill(server.proc.pid, signal.SIGSTOP)
    try:
        waited = page.run(
            """async () => {
              const started = Date.now();
              await H.until(() => H.names(log.slice(mark)).includes('close'), 10000, 'close without pings');
              return Date.now() - started;
            }"""
        )
    finally:
        os.kill(server.proc.pid, signal.SIGCONT)
    r = page.run(
        """async () => {
          await H.until(() => H.names(log.slice(mark)).includes('open'), 15000, 'reopened');
          const result = { after: H.names(log.slice(mark), ['readyStateChange', 'error']), same: primus.socket.id === firstId };
          primus.end();
          return result;
        }"""
    )
    assert waited <= 2000 + 3000, waited  # pingInterval + pingTimeout, with room for a busy machine
    events = r["after"]
    assert events[:2] == ["close", "reconnect scheduled"], events
    assert "offline" not in events  # not Primus's heartbeat: that one is off
    assert events[-3:] == ["reconnect", "reconnected", "open"], events
    assert r["same"] is False
