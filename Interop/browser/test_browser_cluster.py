"""The browser library (headless Chromium, Interop/browser's harness) behind HAProxy: its node is
killed, it reconnects through HAProxy to another node, and with recovery on it receives the
broadcasts sent while it was away, in order, once. Websockets transformer: the harness page is a
file:// page, whose cross-site requests carry no cookies, so a polling transport could not stay
on its node here (a page served by the cluster itself would).

It lives with the browser suite because it needs that suite's Chromium (one Playwright per
session); the cluster comes from Interop/cluster's helpers (Scripts/cluster/primus_cluster.py).
"""

from __future__ import annotations

import signal
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.conftest import BrowserPage

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "cluster"))
from cluster_support import RECOVERY, Cluster, RawPrimus, holdings, until  # noqa: E402

TIMEOUT = 10.0


@pytest.fixture
def recovering_cluster(bin_dir: Path, log_dir: Path) -> Iterator[Cluster]:
    """Redis, three primus-testserver nodes with recovery on, and HAProxy."""
    cluster = Cluster(bin_dir, node_args=list(RECOVERY), log_dir=log_dir)
    cluster.start()
    yield cluster
    cluster.stop()


def test_the_browser_client_moves_to_another_node_and_gets_what_it_missed(recovering_cluster: Cluster, page: BrowserPage) -> None:
    cluster = recovering_cluster
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
