"""Primus heartbeat over the websockets transformer (primus-v8.md §3.2).

The server pings with `"primus::ping::<ms epoch>"`; the client answers
`"primus::pong::<same number>"`. A spark that stops answering is closed silently
between one and two ping intervals after its last pong.
"""

from __future__ import annotations

import re
import time

from primus_support import Closed, PrimusClient, ServerProcess

INTERVAL_MS = 300


def test_server_pings_with_ms_epoch(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--ping-interval", str(INTERVAL_MS))
    with PrimusClient(server.ws_url()) as client:
        text = client.ws.recv()  # the very first frame, undecoded
        assert re.fullmatch(r'"primus::ping::\d{13}"', text), text
        stamp = int(text.strip('"').split("::")[2])
        assert abs(stamp - time.time() * 1000) < 60_000


def test_client_answering_pings_stays_connected(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--ping-interval", str(INTERVAL_MS))
    with PrimusClient(server.ws_url(), answer_pings=True) as client:
        # Stay for six intervals, answering every ping (expect_silence handles them).
        client.expect_silence(6 * INTERVAL_MS / 1000)
        assert len(client.pings) >= 4, f"only {len(client.pings)} pings in 6 intervals"
        client.write("still here")
        assert client.recv() == "still here"


def test_pings_carry_increasing_timestamps(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--ping-interval", str(INTERVAL_MS))
    with PrimusClient(server.ws_url()) as client:
        client.expect_silence(4 * INTERVAL_MS / 1000)
        stamps = [int(p) for p in client.pings]
        assert len(stamps) >= 2
        assert stamps == sorted(stamps)
        assert stamps[-1] > stamps[0]


def test_client_ignoring_pings_is_closed_within_two_intervals(start_testserver) -> None:  # noqa: ANN001
    interval = 0.5
    server: ServerProcess = start_testserver("--ping-interval", str(int(interval * 1000)))
    with PrimusClient(server.ws_url(), answer_pings=False) as client:
        start = time.monotonic()
        closed, seen = client.wait_closed(timeout=2 * interval + 2.0)
        elapsed = time.monotonic() - start
        assert elapsed <= 2 * interval + 0.75, f"closed after {elapsed:.2f}s, interval {interval}s"
        assert elapsed >= interval * 0.8, f"closed too early: {elapsed:.2f}s, interval {interval}s"
        assert client.pings, "server closed the spark without ever pinging it"
        assert '"primus::server::close"' not in seen, "a heartbeat timeout must be silent"
        assert isinstance(closed, Closed)


def test_ping_interval_zero_disables_heartbeat(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--ping-interval", "0")
    with PrimusClient(server.ws_url(), answer_pings=False) as client:
        client.expect_silence(1.0)
        assert client.pings == []
        client.write("alive")
        assert client.recv() == "alive"
