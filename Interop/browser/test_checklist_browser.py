"""Section 6 checklist items of primus-v8.md for the browser client (``/primus/primus.js``) that
no other browser test names, in Chromium against primus-testserver, once per transformer.

Items 28-30 run against primus-testserver with a real failing layer (``--failing-middleware``,
``500 {"error":"I failed"}``) or a slow one (``--slow-middleware 500``).
"""

from __future__ import annotations

from typing import Any

import pytest

from browser.conftest import BrowserPage

RECONNECTING = {"reconnect", "reconnect scheduled", "reconnected", "reconnect failed", "reconnect timeout"}


@pytest.fixture(params=["websockets", "engine.io"])
def transformer(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def start(start_testserver, transformer: str):  # noqa: ANN001, ANN201
    """``start(*flags)``: a primus-testserver running ``transformer`` with ``flags``."""
    return lambda *flags: start_testserver("--transformer", transformer, *flags)


def names(log: list[dict[str, Any]]) -> list[str]:
    return [entry["event"] for entry in log if entry["event"] != "readyStateChange"]


# --------------------------------------------------------------------------- server and library


def test_checklist_16_compiled_ping_timeout_and_the_clients_own(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    """Checklist 16: pingInterval 60000 compiles pingTimeout 90000; a client's pingTimeout wins.
    (pingInterval off compiles false: test_heartbeats_off_compiles_no_ping_timeout.)"""
    server = start_testserver("--ping-interval", "60000")
    page.harness(server)
    r = page.run(
        """() => [new Primus(H.server, { manual: true }).options.pingTimeout,
                  new Primus(H.server, { manual: true, pingTimeout: 100 }).options.pingTimeout]"""
    )
    assert r == [90000, 100]


# --------------------------------------------------------------------------- middleware (28-30)


def test_checklist_28_failing_middleware_ends_a_client_without_strategy(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 28: the connection is answered 500 by a failing layer; with strategy false the
    client emits error, then end, never open nor reconnect."""
    server = start("--failing-middleware")
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { strategy: false });
          const log = H.record(primus);
          await H.once(primus, 'end', 10000);
          await H.sleep(300);
          return { log };
        }"""
    )
    events = names(r["log"])
    assert events[0] == "error" and events[-1] == "end", events
    assert "open" not in events and not RECONNECTING & set(events), events


def test_checklist_29_slow_middleware_times_out_then_ends(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 29: a layer that takes 500 ms, a client timeout of 250 ms and a strategy without
    timeout: timeout, then end."""
    server = start("--slow-middleware", "500")
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { timeout: 250, strategy: 'disconnect,online' });
          const log = H.record(primus);
          await H.once(primus, 'end', 5000);
          await H.sleep(700);
          return { log };
        }"""
    )
    events = names(r["log"])
    assert events[0] == "timeout" and "end" in events, events
    assert "open" not in events and not RECONNECTING & set(events), events


def test_checklist_30_slow_middleware_times_out_then_reconnects(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 30: with timeout 50 and the default strategy: timeout, reconnect scheduled,
    reconnect."""
    server = start("--slow-middleware", "500")
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { timeout: 50, reconnect: { min: 50 } });
          const log = H.record(primus);
          await H.once(primus, 'reconnect', 5000);
          primus.end();
          return { log };
        }"""
    )
    assert names(r["log"])[:3] == ["timeout", "reconnect scheduled", "reconnect"], r["log"]


# --------------------------------------------------------------------------- client lifecycle


def test_checklist_17_url_and_uri_options(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 17: the URL may come as the `url` or `uri` option."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const results = [];
          for (const key of ['url', 'uri']) {
            const primus = new Primus({ [key]: H.server });
            const got = H.collect(primus);
            await H.once(primus, 'open');
            primus.write(key);
            await H.until(() => got.length === 1, 5000, 'echo');
            results.push(got[0]);
            primus.end();
          }
          return results;
        }"""
    )
    assert r == ["url", "uri"]


def test_checklist_54_without_new_options_kept_socket_after_open(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 54: Primus is a function that works without `new`; open is emitted; `socket` is
    set once open; options are kept (timeout 50000)."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = Primus(H.server, { timeout: 50000 });
          const kind = typeof Primus;
          const instance = primus instanceof Primus;
          await H.once(primus, 'open');
          const socket = !!primus.socket;
          const timeout = primus.options.timeout;
          primus.end();
          return { kind, instance, socket, timeout };
        }"""
    )
    assert r == {"kind": "function", "instance": True, "socket": True, "timeout": 50000}


def test_checklist_61_readable_and_writable(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 61: readable and writable are true after construction and open, false after end,
    true again after open()."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const flags = (p) => [p.readable, p.writable];
          const primus = new Primus(H.server);
          const seen = { constructed: flags(primus) };
          await H.once(primus, 'open');
          seen.open = flags(primus);
          primus.end();
          seen.ended = flags(primus);
          primus.open();
          await H.once(primus, 'open');
          seen.reopened = flags(primus);
          primus.end();
          return seen;
        }"""
    )
    assert r == {
        "constructed": [True, True], "open": [True, True], "ended": [False, False], "reopened": [True, True],
    }


def test_checklist_62_open_after_server_end_connects_again(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 62: after the server ends the spark the client emits end; open() connects again."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { reconnect: { min: 50 } });
          const log = H.record(primus);
          const got = H.collect(primus);
          await H.once(primus, 'open');
          primus.write({ testserver: 'end' });
          await H.once(primus, 'end');
          primus.open();
          await H.once(primus, 'open');
          primus.write('again');
          await H.until(() => got.includes('again'), 5000, 'echo after reopening');
          primus.end();
          return { log };
        }"""
    )
    events = names(r["log"])
    assert events.count("open") == 2 and events.count("end") == 2, events
    assert not RECONNECTING & set(events), events


def test_checklist_63_end_inside_end(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 63: end() right after construction, then open() and end() inside the end
    handler: two end events, no crash."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          let ends = 0;
          primus.on('end', () => { if (++ends === 1) { primus.open(); primus.end(); } });
          primus.end();
          await H.sleep(300);
          return { ends, state: primus.readyState };
        }"""
    )
    assert r == {"ends": 2, "state": 2}


def test_checklist_67_circular_data_is_an_error(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 67: writing circular data emits error (an Error whose message mentions JSON)."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          await H.once(primus, 'open');
          const circular = {};
          circular.self = circular;
          const errored = H.once(primus, 'error');
          let thrown = null;
          try { primus.write(circular); } catch (e) { thrown = e.message; }
          const [error] = await errored;
          primus.end();
          return { thrown, isError: error instanceof Error, message: String(error && error.message) };
        }"""
    )
    assert r["thrown"] is None and r["isError"] is True
    assert "JSON" in r["message"]


def test_checklist_70_end_with_zero_delivers_zero(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 70: 0 round-trips, and spark.end(0) delivers 0 before the end."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          const log = H.record(primus, ['data', 'end']);
          await H.once(primus, 'open');
          primus.write(0);
          await H.until(() => log.length === 1, 5000, 'echo of 0');
          primus.write({ testserver: 'end', data: 0 });
          await H.once(primus, 'end');
          return log.map((e) => (e.event === 'data' ? ['data', e.args[0]] : [e.event]));
        }"""
    )
    assert r == [["data", 0], ["data", 0], ["end"]]


# --------------------------------------------------------------------------- reconnect


def test_checklist_94_reconnect_failed_when_the_server_stays_down(page: BrowserPage, start, respawn) -> None:  # noqa: ANN001
    """Checklist 94: the server goes away for good; with reconnect min 50 and 4 retries the client
    ends with reconnect failed."""
    server = start()
    page.harness(server)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 50, max: 200, retries: 4 } });
          window.log = H.record(primus);
          await H.once(primus, 'open');
        }"""
    )
    respawn(server)  # stopped, never started again
    # Stopping the server (gracefully) may take longer than the four retries: the event may
    # already be in the log.
    r = page.run(
        """async () => {
          if (!log.some((entry) => entry.event === 'reconnect failed')) await H.once(primus, 'reconnect failed', 10000);
          return { log, state: primus.readyState };
        }"""
    )
    events = names(r["log"])
    assert events.count("reconnect") == 4, events
    assert events[-2:] == ["end", "reconnect failed"], events
    assert r["state"] == 2


# --------------------------------------------------------------------------- plugins


def test_checklist_103_outgoing_url_listener_replaces_the_query(page: BrowserPage, start) -> None:  # noqa: ANN001
    """Checklist 103: a listener of outgoing::url (what a client plugin adds at construction) can
    replace the query: the spark sees foo=bar and no _primuscb."""
    server = start()
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { manual: true });
          primus.on('outgoing::url', (options) => { options.query = 'foo=bar'; });
          primus.open();
          await H.once(primus, 'open');
          primus.write({ testserver: 'info' });
          const [info] = await H.once(primus, 'data');
          primus.end();
          return info.query;
        }"""
    )
    assert r["foo"] == "bar" and "_primuscb" not in r, r
