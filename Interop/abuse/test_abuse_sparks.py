"""Issue 9, defect 6: one client could lock everyone out of engine.io (100,000 handshakes in
~10 s from one address filled the global session cap; every new client got 503).

Sparks are capped per client address (``--max-sparks-per-address``: more get 503) and overall
(``--max-sparks``: when full, the busiest address sheds its newest spark for a newcomer from a
less busy address). The attacker binds 127.0.0.2; fresh clients come from 127.0.0.1, so on
loopback they are different addresses. Heartbeats are long here, so no session expires during
a test: every session an attacker got stays open.
"""

from __future__ import annotations

import threading

import pytest

from abuse_support import (
    AttackStats,
    Checks,
    RawWebSocket,
    Watch,
    attacking,
    engineio_echo_probe,
    handshake_flooder,
    primus_echo_probe,
    spark_count,
)
from primus_support import ServerProcess, engineio_sparks

ENGINE_IO = ("--transformer", "engine.io", "--ping-interval", "60000", "--ping-timeout", "60000")
FLOOD_SECONDS = 4.0


def flood(server: ServerProcess, checks: Checks, threads: int = 4) -> tuple[dict[int, int], Watch]:
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    stop = threading.Event()
    with Watch(server, engineio_echo_probe(server), stop=stop) as watch:
        attacks = [(f"handshake flood {i}", handshake_flooder(server.port, source="127.0.0.2", statuses=statuses, lock=lock))
                   for i in range(threads)]
        with attacking(*attacks, stop=stop) as stats:
            stop.wait(FLOOD_SECONDS)
        for stat in stats:
            if stat.errors:
                checks.note(stat.describe())
    checks.note(f"attacker (127.0.0.2) handshakes answered by status: {dict(sorted(statuses.items()))}")
    return statuses, watch


@pytest.mark.timeout(60)
def test_engineio_handshake_flood_is_capped_per_address(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver(*ENGINE_IO, "--max-sparks", "1000", "--max-sparks-per-address", "100")
    checks = Checks("engine.io handshake flood, 100 sparks per address")
    statuses, watch = flood(server, checks)
    admitted = statuses.get(200, 0)
    checks.expect(admitted <= 100,
                  f"expected at most 100 sessions for the flooding address (--max-sparks-per-address 100), "
                  f"it got {admitted}")
    checks.expect(statuses.get(503, 0) > 0, f"expected 503 for the flooder's handshakes past its cap, got {statuses}")
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_engineio_handshake_flood_filling_the_server_sheds_the_flooder(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver(*ENGINE_IO, "--max-sparks", "100", "--max-sparks-per-address", "100000")
    checks = Checks("engine.io handshake flood, 100 sparks in all")
    statuses, watch = flood(server, checks)
    admitted = statuses.get(200, 0)
    # Each fresh client that got in made the flooder shed one session, which it may take back.
    allowed = 100 + len(watch.probes) + 1
    checks.expect(admitted <= allowed,
                  f"expected the flooder to hold at most 100 sessions (--max-sparks 100; {allowed} handshakes "
                  f"allowing for the {len(watch.probes)} it had to shed), it got {admitted}")
    held = len(engineio_sparks(server))
    checks.expect(held <= 100, f"expected at most 100 sparks on the server, it holds {held}")
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_websocket_sparks_are_capped_per_address(start_testserver) -> None:  # noqa: ANN001
    """The same cap on the websockets transformer: 127.0.0.2 holds 50 sparks at most, its next
    handshakes get 503, and clients from 127.0.0.1 still connect."""
    server: ServerProcess = start_testserver("--ping-interval", "60000", "--max-sparks-per-address", "50",
                                             "--max-sparks", "1000")
    checks = Checks("websocket sparks, 50 per address")
    held: list[RawWebSocket] = []
    refused: dict[int, int] = {}
    stop = threading.Event()

    def open_sparks(stop: threading.Event, stats: AttackStats) -> None:
        while not stop.is_set() and len(held) + sum(refused.values()) < 120:
            try:
                ws = RawWebSocket.open(server.port, read_response=False, source="127.0.0.2")
            except OSError as exc:
                stats.error(repr(exc))
                stop.wait(0.05)
                continue
            try:
                ws.read_handshake(5.0)
                held.append(ws)
            except (AssertionError, EOFError, TimeoutError, OSError):
                status = ws.response.status if ws.response else 0  # 0: no answer at all
                refused[status] = refused.get(status, 0) + 1
                ws.close()

    try:
        with Watch(server, primus_echo_probe(server), stop=stop) as watch:
            with attacking(("websocket sparks", open_sparks), stop=stop) as (stats,):
                stop.wait(3.0)
            checks.note(stats.describe())
            sparks_now = spark_count(server)
    finally:
        for ws in held:
            ws.close()
    checks.note(f"127.0.0.2 got {len(held)} sparks, refused by status {refused}; the server held {sparks_now}")
    checks.expect(len(held) <= 50, f"expected at most 50 sparks for 127.0.0.2 (--max-sparks-per-address 50), it got {len(held)}")
    checks.expect(set(refused) <= {503} and refused.get(503, 0) > 0,
                  f"expected 503 for 127.0.0.2's handshakes past its cap, got {refused or 'none refused'}")
    watch.check(checks)
    checks.verify()
