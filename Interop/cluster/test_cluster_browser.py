"""The browser library (headless Chromium, Interop/browser's harness) behind HAProxy: its node is
killed, it reconnects through HAProxy to another node, and with recovery on it receives the
broadcasts sent while it was away, in order, once. Websockets transformer: the harness page is a
file:// page, whose cross-site requests carry no cookies, so a polling transport could not stay
on its node here (a page served by the cluster itself would).
"""

from __future__ import annotations

import signal
import uuid
from typing import Any

from browser.conftest import BrowserPage, browser, browser_page, playwright_instance  # noqa: F401 - fixtures
from cluster_support import RECOVERY, RawPrimus, holdings, until

TIMEOUT = 10.0


def test_the_browser_client_moves_to_another_node_and_gets_what_it_missed(start_cluster, browser_page) -> None:  # noqa: ANN001, F811
    cluster = start_cluster(*RECOVERY)
    page: BrowserPage = browser_page()
    page.harness(cluster.haproxy)  # primus.js, then the connection, through HAProxy
    before = holdings(cluster)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 200, max: 1000, retries: 100 } });
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open');
        }"""
    )
    node = until(lambda: [name for name, ids in holdings(cluster).items() if ids - before[name]],
                 TIMEOUT, "the page's spark on a node")[0]
    survivor = next(n for n in cluster.nodes if n.name != node)
    sender = RawPrimus(survivor.ws_url(), f"sender@{survivor.name}")
    try:
        token = uuid.uuid4().hex

        def got() -> list[Any]:
            return page.run("() => window.got")

        def events() -> list[str]:
            return page.run("() => window.log.map((entry) => entry.event)")

        first = {"t": token, "n": 0}
        sender.write({"testserver": "broadcast", "data": first})
        until(lambda: first in got(), TIMEOUT, "the first broadcast in the page")

        mark = len(events())
        cluster.haproxy.set_listening(False)  # reconnects refused until the broadcasts went out
        cluster.node(node).kill(signal.SIGKILL)
        until(lambda: "close" in events()[mark:], TIMEOUT, "the page noticing its node's death")
        missed = [{"t": token, "n": n} for n in (1, 2, 3)]
        for value in missed:
            sender.write({"testserver": "broadcast", "data": value})
        cluster.haproxy.wait_for_states({node: "DOWN"}, timeout=TIMEOUT)
        cluster.haproxy.set_listening(True)
        until(lambda: "open" in events()[mark:], 30, "the page reconnecting through HAProxy")
        marker = {"t": token, "n": 4}
        sender.write({"testserver": "broadcast", "data": marker})
        until(lambda: marker in got(), TIMEOUT, "the broadcast after the reconnect in the page")
        assert got() == [first, *missed, marker], (
            f"the page got {got()!r}; events after the kill {events()[mark:]!r} (the server keeps the broadcasts "
            f"for clients that send _primus_recover)")
        assert len(holdings(cluster)) == 2  # the killed node stayed down: the page is on another
    finally:
        sender.close()
