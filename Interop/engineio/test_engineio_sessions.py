"""Engine.IO sessions never outlive their clients: 10,000 opened and abandoned leave none behind.

Each session is a polling handshake (``GET /primus/?EIO=4&transport=polling``) and nothing more:
the client never polls again, as a closed browser tab or a crashed process would. The server must
drop each one within ``pingInterval + pingTimeout`` (here 10 s + 5 s, long enough for all of them
to be open at once), ending its spark and freeing its timer and its registry entry. The test
counts the server's sparks while and after, and checks with a second wave that the first left no
memory behind.
"""

from __future__ import annotations

import http.client
import json
import threading
import time

import pytest

from primus_support import SUMMARY_LINES, ServerProcess, engineio_sparks as sparks

SESSIONS = 10_000
WORKERS = 8
PING_INTERVAL_MS = 10_000
PING_TIMEOUT_MS = 5_000


def rss_kib(server: ServerProcess) -> int:
    assert server.proc is not None
    with open(f"/proc/{server.proc.pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS")


def open_sessions(port: int, count: int) -> list[str]:
    """``count`` handshakes over ``WORKERS`` keep-alive connections; returns the sids."""
    sids: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def worker(share: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        try:
            for _ in range(share):
                conn.request("GET", "/primus/?EIO=4&transport=polling")
                response = conn.getresponse()
                body = response.read().decode()
                if response.status != 200 or not body.startswith("0{"):
                    with lock:
                        errors.append(f"{response.status} {body[:200]}")
                    return
                with lock:
                    sids.append(json.loads(body[1:])["sid"])
        except Exception as exc:  # noqa: BLE001 - reported below with the rest
            with lock:
                errors.append(repr(exc))
        finally:
            conn.close()

    shares = [count // WORKERS + (1 if i < count % WORKERS else 0) for i in range(WORKERS)]
    threads = [threading.Thread(target=worker, args=(share,)) for share in shares]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, f"{len(errors)} handshakes failed, first: {errors[0]}"
    return sids


def abandon_and_wait(server: ServerProcess) -> tuple[float, int, float]:
    """Opens ``SESSIONS`` sessions, never polls them, and waits until the server dropped them
    all; returns (seconds to open them, how many were open at once, seconds until all gone)."""
    started = time.monotonic()
    sids = set(open_sessions(server.port, SESSIONS))
    opened_in = time.monotonic() - started
    assert len(sids) == SESSIONS
    # Some may already be gone when the handshakes took longer than the heartbeat window.
    open_at_once = len(set(sparks(server)) & sids)
    deadline = time.monotonic() + 90
    left = open_at_once
    while left and time.monotonic() < deadline:
        time.sleep(0.5)
        left = len(set(sparks(server)) & sids)
    assert not left, f"{left} abandoned sessions still open 90 s after the handshakes"
    return opened_in, open_at_once, time.monotonic() - started


@pytest.mark.timeout(300)
def test_ten_thousand_abandoned_sessions_leave_nothing_behind(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver(
        "--transformer", "engine.io",
        "--ping-interval", str(PING_INTERVAL_MS),
        "--ping-timeout", str(PING_TIMEOUT_MS),
        # Every handshake comes from 127.0.0.1; the default per-address cap (10,000 sparks) would
        # refuse the spark count query made while all of them are open.
        "--max-sparks-per-address", str(4 * SESSIONS),
    )
    before = rss_kib(server)
    opened_in, open_at_once, gone_after = abandon_and_wait(server)
    after_first = rss_kib(server)
    # A second wave: memory freed by the first is reused, so the server grows far less than it
    # did the first time (a leak would grow it by as much again).
    _, _, _ = abandon_and_wait(server)
    after_second = rss_kib(server)

    SUMMARY_LINES.append(
        f"Engine.IO abandoned sessions: {SESSIONS} polling handshakes in {opened_in:.1f}s, "
        f"{open_at_once} open at once; all gone {gone_after:.1f}s after the first; server VmRSS "
        f"{before} KiB -> {after_first} KiB after the first wave -> {after_second} KiB after a second"
    )
    assert open_at_once > SESSIONS // 2, "the handshakes were too slow to have the sessions open together"
    first_growth = after_first - before
    assert after_second - after_first < 0.4 * first_growth, (before, after_first, after_second)
    # The sessions that asked for the list close too: in the end a fresh one sees only itself.
    deadline = time.monotonic() + 10
    remaining = sparks(server)
    while len(remaining) != 1 and time.monotonic() < deadline:
        time.sleep(0.2)
        remaining = sparks(server)
    assert len(remaining) == 1, remaining
    assert server.alive()
