"""Scenarios of the browser tests of the example apps, which mount Primus in a web framework
(Examples/HummingbirdChat, Examples/VaporChat): the harness page loads ``/primus/primus.js``
from the app and its unchanged Primus client chats in ``#general``, goes through a restart of
the app, or is told the app shut down. Each scenario returns what the page saw; the tests
assert on it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from browser.conftest import BrowserPage
from example_support import terminate
from primus_support import Respawned, ServerProcess

# Backoff of the pages that reconnect: quick, and retries enough to outlast a restart (and to
# never end on their own while a shutdown test waits for an end).
RECONNECT = {"min": 100, "max": 400, "retries": 200}

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

# window.primus reconnecting with RECONNECT, its events in window.log, its echoes in
# window.got; open, and `first` echoed; window.mark is where the log stood then.
OPEN_RECORDED = """async ({ reconnect, first }) => {
  window.primus = new Primus(H.server, { reconnect });
  window.log = H.record(primus);
  window.got = H.collect(primus);
  await H.once(primus, 'open', 15000);
  primus.write(first);
  await H.until(() => got.length >= 1, 10000, 'the first echo');
  window.mark = log.length;
}"""

WRITE_WHILE_DOWN = """async (event) => {
  await H.until(() => H.names(log.slice(mark)).includes(event), 30000, event + ' after the shutdown');
  primus.write('while-down-1');
  primus.write({ n: 2 });
}"""

AFTER_RESTART = """async () => {
  await H.until(() => got.length >= 3, 40000, 'offline writes echoed after the restart');
  primus.write('after');
  await H.until(() => got.length >= 4, 10000, 'a write after the restart');
  const after = log.slice(mark);
  primus.end();
  return { after, got };
}"""

ENDED = """async () => {
  // Told primus::server::close, the page ends; a plain drop would schedule a reconnect
  // instead, and never end while retries are left.
  await H.until(() => H.names(log).includes('end'), 20000, 'the end after primus::server::close');
  await H.until(() => primus.readyState === 2, 5000, 'the closed state');
  return { names: H.names(log, ['readyStateChange', 'data']), state: primus.readyState };
}"""


def event_names(log: list[dict[str, Any]], *, without: tuple[str, ...] = ()) -> list[str]:
    return [entry["event"] for entry in log if entry["event"] not in without]


def echo(page: BrowserPage, server: ServerProcess, values: list[Any]) -> dict[str, Any]:
    """``values`` written by a fresh page: ``{got: the echoes, id: the spark's id}``."""
    page.harness(server)
    return page.run(ECHO, values)


def offline_writes_across_a_restart(
    page: BrowserPage, server: ServerProcess, respawn: Callable[[ServerProcess], Respawned], *, down_event: str
) -> dict[str, Any]:
    """The page echoes ``'before'``; the app (``--reconnect-on-shutdown true``) is stopped with
    SIGTERM and exits 0; once the page logged ``down_event`` it writes ``'while-down-1'`` and
    ``{n: 2}``; the app is started again on the same port and the page writes ``'after'``.
    Returns ``{after: the page's events since the first echo, got: every echo}``."""
    page.harness(server)
    page.run(OPEN_RECORDED, {"reconnect": RECONNECT, "first": "before"})
    assert terminate(server) == 0
    again = respawn(server)
    page.run(WRITE_WHILE_DOWN, down_event)
    again.start()
    return page.run(AFTER_RESTART)


def shutdown_seen_by_the_page(page: BrowserPage, server: ServerProcess) -> dict[str, Any]:
    """The page echoes ``'ready'``; the app (``--reconnect-on-shutdown false``) is stopped with
    SIGTERM and exits 0; the page ends (within 20 s) and is closed. Returns ``{names: the page's
    events but readyStateChange and data, state: its readyState}``."""
    page.harness(server)
    page.run(OPEN_RECORDED, {"reconnect": RECONNECT, "first": "ready"})
    assert terminate(server) == 0
    return page.run(ENDED)
