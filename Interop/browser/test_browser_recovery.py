"""Missed-message recovery in the browser library (recovery-position.js), in headless Chromium
against primus-testserver over every transformer.

The testserver echoes what a page writes and reports its spark's query (``info``), so the page
has the server write envelopes (``{"primus::seq": …, "data": …}``) and baselines back to it and
reads which ``_primus_recover`` each connection carried: the client's half of recovery, proven
through a real server and a real browser. The server keeping a backlog and replaying it is the
server's half.
"""

from __future__ import annotations

import pytest

from browser.conftest import BrowserPage

TRANSFORMERS = ["websockets", "engine.io", "sockjs", "browserchannel", "socket.io"]

# Page helpers: `env(seq, data)` builds an envelope (a baseline without data); `collect(primus)`
# splits what arrives into the testserver's info answers and the rest.
HELPERS = """
  window.env = (seq, data) => (data === undefined ? { 'primus::seq': seq } : { 'primus::seq': seq, data });
  window.collect = (primus) => {
    const got = { infos: [], data: [] };
    primus.on('data', (value) => {
      if (value && typeof value === 'object' && value.query && value.headers) got.infos.push(value);
      else got.data.push(value);
    });
    return got;
  };
"""


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_opt_in_on_every_transport_and_unwrap_across_a_reconnect(page: BrowserPage, start_testserver, transformer: str) -> None:  # noqa: ANN001
    server = start_testserver("--transformer", transformer)
    page.harness(server)
    page.run(f"() => {{ {HELPERS} }}")
    r = page.run(
        """async () => {
          const primus = new Primus(H.server + '/?room=a', { reconnect: { min: 100, max: 500 } });
          const got = collect(primus);
          await H.once(primus, 'open', 15000);
          primus.write({ testserver: 'info' });
          await H.until(() => got.infos.length === 1, 15000, 'first info');
          primus.write(env('1700000000000-0'));
          primus.write(env('1700000000000-1', 'a'));
          primus.write(env('1700000000000-1', 'again'));
          primus.write(env('999-0', 'older'));
          primus.write('plain');
          primus.write(env('1700000000001-0', { n: 2 }));
          await H.until(() => got.data.length >= 3, 15000, 'three messages');
          const before = { data: got.data.slice(), last: primus.recoveryPosition.last };

          const reopened = H.once(primus, 'open', 20000);
          primus.write({ testserver: 'end-reconnect' });
          await reopened;
          primus.write({ testserver: 'info' });
          await H.until(() => got.infos.length === 2, 15000, 'second info');
          // A replay overlapping what the page has: only what is new is delivered.
          primus.write(env('1700000000001-0', { n: 2 }));
          primus.write(env('1700000000002-0', 'b'));
          await H.until(() => got.data.length >= 4, 15000, 'the fourth message');
          primus.end();
          return { queries: got.infos.map((info) => info.query), before, data: got.data, last: primus.recoveryPosition.last };
        }"""
    )
    first, second = r["queries"]
    assert first["_primus_recover"] == "", first
    assert first["room"] == "a" and first["_primuscb"], first
    assert r["before"] == {"data": ["a", "plain", {"n": 2}], "last": "1700000000001-0"}
    assert second["_primus_recover"] == "1700000000001-0", second
    assert r["data"] == ["a", "plain", {"n": 2}, "b"]
    assert r["last"] == "1700000000002-0"


def test_named_events_inside_envelopes(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    server = start_testserver()
    page.harness(server)
    page.run(f"() => {{ {HELPERS} }}")
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          const got = collect(primus);
          const news = [];
          primus.on('news', (...args) => news.push(args));
          await H.once(primus, 'open', 15000);
          primus.write(env('5-0', { type: 0, data: ['news', 1, 'x'] }));
          primus.write(env('5-0', { type: 0, data: ['news', 'duplicate'] }));
          primus.write(env('5-1', { type: 0, data: ['news', 'second'] }));
          primus.write('after');
          await H.until(() => got.data.length >= 1, 15000, 'the plain message after the events');
          primus.end();
          return { news, data: got.data, last: primus.recoveryPosition.last };
        }"""
    )
    assert r["news"] == [[1, "x"], ["second"]]
    assert r["data"] == ["after"]
    assert r["last"] == "5-1"


def test_recover_false_sends_nothing_and_unwraps_nothing(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    server = start_testserver()
    page.harness(server)
    page.run(f"() => {{ {HELPERS} }}")
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { recover: false });
          const got = collect(primus);
          await H.once(primus, 'open', 15000);
          primus.write({ testserver: 'info' });
          primus.write(env('1-0', 'a'));
          primus.write(env('1-0', 'a'));
          primus.write(env('2-0'));
          await H.until(() => got.infos.length === 1 && got.data.length >= 3, 15000, 'info and three messages');
          primus.end();
          return { query: got.infos[0].query, data: got.data, position: primus.recoveryPosition };
        }"""
    )
    assert "_primus_recover" not in r["query"], r["query"]
    assert r["data"] == [{"primus::seq": "1-0", "data": "a"}, {"primus::seq": "1-0", "data": "a"}, {"primus::seq": "2-0"}]
    assert r["position"] is None


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_missed_broadcasts_arrive_once_in_order_after_a_reconnect(browser_page, start_testserver, transformer: str) -> None:  # noqa: ANN001
    """End to end with the server's recovery on: a page goes offline, another page has the server
    broadcast meanwhile, and when the first comes back online it receives what it missed, once,
    in order, followed by what is broadcast live."""
    server = start_testserver("--transformer", transformer, "--recover-count", "100")
    away, other = browser_page(), browser_page()
    for p in (away, other):
        p.harness(server)
        p.run(f"() => {{ {HELPERS} }}")
        p.run(
            """async () => {
              window.primus = new Primus(H.server, { reconnect: { min: 100, max: 500 } });
              window.got = collect(primus);
              await H.once(primus, 'open', 15000);
              primus.write({ testserver: 'info' });
              await H.until(() => got.infos.length === 1, 15000, 'info');
            }"""
        )
    other.run("() => { primus.write({ testserver: 'broadcast', data: 'before' }); }")
    position = away.run(
        """async () => {
          await H.until(() => got.data.length === 1, 15000, 'the first broadcast');
          window.ended = false;
          window.reopened = false;
          primus.once('end', () => { window.ended = true; });
          primus.once('open', () => { window.reopened = true; });
          return primus.recoveryPosition.last;
        }"""
    )
    assert position, "the broadcast was sequenced"

    away.context.set_offline(True)
    away.run("() => H.until(() => ended, 10000, 'the connection ended by going offline')")
    other.run(
        """async () => {
          for (let n = 1; n <= 5; n++) primus.write({ testserver: 'broadcast', data: n });
          await H.until(() => got.data.length >= 6, 15000, 'the other page has the five broadcasts');
        }"""
    )
    away.context.set_offline(False)
    r = away.run(
        """async () => {
          await H.until(() => reopened, 20000, 'reconnected once back online');
          primus.write({ testserver: 'info' });
          await H.until(() => got.infos.length === 2 && got.data.length >= 6, 20000, 'the missed broadcasts');
          return { data: got.data.slice(), query: got.infos[1].query };
        }"""
    )
    assert r["query"]["_primus_recover"] == position, r["query"]
    other.run("() => { primus.write({ testserver: 'broadcast', data: 'after' }); }")
    final = away.run(
        """async () => {
          await H.until(() => got.data.length >= 7, 15000, 'the live broadcast');
          primus.end();
          return got.data;
        }"""
    )
    assert r["data"][:6] == ["before", 1, 2, 3, 4, 5]
    assert final == ["before", 1, 2, 3, 4, 5, "after"]
    other.run("() => primus.end()")
