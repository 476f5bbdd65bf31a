"""Issue 9, defects 1 and 5: what the server queues for a client that does not read.

A WebSocket client with a 4 KiB receive buffer that never reads must not make the server queue
without bound: once more than ``--max-buffered-bytes`` waits for it, the server stops reading
from it and ends its spark within ``--write-stall-timeout``; the socket is dropped at the latest
``--close-timeout`` after the close frame was due. Its WebSocket pings do not keep it alive,
a broadcast does not queue without bound for it, and an ended spark whose client stopped
reading does not keep its socket open.

The server's kernel send buffer (Linux grows it up to ``net.ipv4.tcp_wmem``'s 4 MiB) fills
before the server's own queue does, so the deadlines below allow for that on top of the
configured timeouts.
"""

from __future__ import annotations

import threading
import time

import pytest

from abuse_support import (
    PING_FLOOD_FRAME,
    QUICK_LIMITS,
    AttackStats,
    Checks,
    RawWebSocket,
    Watch,
    attacking,
    broadcaster,
    non_reader,
    primus_echo_probe,
    primus_text,
    server_pid,
    server_side_of,
    silent_peer,
    wait_until,
)
from primus_support import PrimusClient, ServerProcess

STALL_S, CLOSE_S = 2.0, 1.0  # QUICK_LIMITS: --write-stall-timeout 2000, --close-timeout 1000
# A non-reader's connection must be gone within: its kernel send buffer filling, the budget
# filling, the write stall timeout, the close timeout, and slack for a loaded 2-core machine.
END_DEADLINE = 10.0
# Probes must see the attack for at least this long, even when the server ends it at once.
MIN_ATTACK = 3.0


def run_until_ended(watch: Watch, stats: AttackStats, deadline: float) -> None:
    """Lets the attack run until the server ended its first connection (and at least
    MIN_ATTACK seconds passed), or until ``deadline`` seconds after the watch started."""
    wait_until(lambda: (bool(stats.lifetimes) and watch.elapsed() >= MIN_ATTACK) or watch.stop.is_set(),
               timeout=deadline + 0.5 - watch.elapsed(), interval=0.1)


def expect_ended(checks: Checks, stats: AttackStats, watch: Watch, what: str, deadline: float) -> None:
    first = stats.lifetimes[0] if stats.lifetimes else None
    checks.note(stats.describe())
    checks.expect(
        first is not None and first <= deadline,
        f"{what}: expected the server to end the connection within {deadline:.0f}s "
        f"(write stall {STALL_S:.0f}s + close {CLOSE_S:.0f}s + send-buffer fill and slack); "
        + (f"it lasted {first:.1f}s" if first is not None
           else f"it was still open after {watch.elapsed():.1f}s"),
    )


@pytest.mark.timeout(60)
def test_ping_flood_without_reading_is_ended_and_bounded(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §1: pings flooded by a client that never reads (SO_RCVBUF 4096) queued a pong
    each, ~73 MB/s of growth, and the spark was never ended."""
    server: ServerProcess = start_testserver(*QUICK_LIMITS)
    checks = Checks("ping flood without reading")
    stop = threading.Event()
    with Watch(server, primus_echo_probe(server), stop=stop) as watch:
        with attacking(("ping flood", non_reader(server.port, PING_FLOOD_FRAME * 1000)), stop=stop) as (stats,):
            run_until_ended(watch, stats, END_DEADLINE)
        watch.finish()
    expect_ended(checks, stats, watch, "ping flooder", END_DEADLINE)
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_ping_flood_does_not_count_as_liveness(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §1: each ping counted as heartbeat liveness, so the heartbeat never ended a
    flooding non-reader. With a long write-stall timeout only the heartbeat (1 s interval) can
    end it here: its pings must stop counting once its transport is over budget."""
    server: ServerProcess = start_testserver(
        "--ping-interval", "1000", "--max-buffered-bytes", "1048576",
        "--write-stall-timeout", "60000", "--close-timeout", "1000",
    )
    checks = Checks("ping flood as heartbeat liveness")
    stop = threading.Event()
    deadline = 12.0  # send buffer + 1 MiB budget filling, two heartbeat intervals, close timeout, slack
    with Watch(server, primus_echo_probe(server), stop=stop) as watch:
        with attacking(("ping flood", non_reader(server.port, PING_FLOOD_FRAME * 1000)), stop=stop) as (stats,):
            run_until_ended(watch, stats, deadline)
        watch.finish()
    expect_ended(checks, stats, watch, "ping flooder under a 1 s heartbeat (write stall timeout 60 s)", deadline)
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_echo_flood_without_reading_is_ended_and_bounded(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §1: echo requests from a client that never reads grew the server by ~58 MB/s."""
    server: ServerProcess = start_testserver(*QUICK_LIMITS)
    checks = Checks("echo flood without reading")
    stop = threading.Event()
    message = primus_text("e" * 16384)
    with Watch(server, primus_echo_probe(server), stop=stop) as watch:
        with attacking(("echo flood", non_reader(server.port, message * 8)), stop=stop) as (stats,):
            run_until_ended(watch, stats, END_DEADLINE)
        watch.finish()
    expect_ended(checks, stats, watch, "echo flooder", END_DEADLINE)
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_broadcast_to_a_silent_peer_is_bounded(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §1: a silent peer (connected, never reads) made every broadcast queue for it
    (472 MB in 12 s in the demo chat). Another client asks for broadcasts as fast as it can
    (``{"testserver":"broadcast"}``) and reads them; the silent peer must be let go."""
    server: ServerProcess = start_testserver(*QUICK_LIMITS)
    checks = Checks("broadcast to a silent peer")
    stop = threading.Event()
    with Watch(server, primus_echo_probe(server), stop=stop) as watch:
        with attacking(
            ("silent peer", silent_peer(server)),
            ("broadcaster", broadcaster(server.port, "b" * 8192)),
            stop=stop,
        ) as (silent, loud):
            run_until_ended(watch, silent, END_DEADLINE)
        watch.finish()
    checks.note(loud.describe())
    checks.expect(loud.get("bytes received") > 1 << 20,
                  f"the broadcaster got only {loud.get('bytes received')} bytes back: the attack did not run")
    expect_ended(checks, silent, watch, "silent peer under broadcasts", END_DEADLINE)
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_ended_spark_of_a_non_reader_releases_its_socket(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §5: an ended spark's socket stayed ESTABLISHED (70 s and more, a 3 MB send
    queue) when its client had stopped reading: the close frame sat behind unread data and
    nothing timed the close out. Here the client has the server echo 8 MiB to it, more than
    the server's kernel send buffer takes (up to 4 MiB), so the rest waits in the server,
    below a 16 MiB budget so that only ``end`` ends the spark; then it asks for
    ``{"testserver":"end"}``. The server must let the socket go within the close timeout."""
    server: ServerProcess = start_testserver(
        "--max-buffered-bytes", str(16 << 20), "--write-stall-timeout", "60000", "--close-timeout", "1000",
        "--headers-timeout", "1000", "--keep-alive-timeout", "1000",
    )
    pid = server_pid(server)
    checks = Checks("ended spark whose client stopped reading")
    with Watch(server, primus_echo_probe(server)) as watch:
        ws = RawWebSocket.open(server.port, rcvbuf=4096)
        try:
            ws.send(primus_text({"testserver": "info"}))
            spark_id = ws.recv_message()["id"]
            client_port = ws.sock.getsockname()[1]
            # From here on the client reads nothing.
            echo = primus_text("f" * 8192)
            ws.sock.settimeout(30)
            ws.send(echo * 1024)
            ws.send(primus_text({"testserver": "end"}))
            sent_end = time.monotonic()

            def spark_gone() -> bool:
                with PrimusClient(server.ws_url(), timeout=5) as client:
                    return spark_id not in client.request({"testserver": "sparks"})["sparks"]

            ended_after = wait_until(spark_gone, timeout=15.0, interval=0.1)
            side_at_end = server_side_of(pid, server.port, client_port)
            checks.note(f"at end: server side {side_at_end.describe()}")
            checks.expect(ended_after is not None,
                          f"the spark was not ended within 15 s of {{\"testserver\":\"end\"}} "
                          f"(server side: {side_at_end.describe()})")
            if ended_after is not None:
                ended_at = sent_end + ended_after
                deadline = CLOSE_S + 2.0
                released = wait_until(lambda: not server_side_of(pid, server.port, client_port).held,
                                      timeout=deadline, interval=0.05)
                side = server_side_of(pid, server.port, client_port)
                checks.expect(
                    released is not None,
                    f"the spark ended {ended_after:.1f}s after the end request but the server still "
                    f"held its socket {time.monotonic() - ended_at:.1f}s later (close timeout "
                    f"{CLOSE_S:.0f}s + 2 s slack): {side.describe()}",
                )
                if released is not None:
                    checks.note(f"socket released {released:.2f}s after the spark ended; now {side.describe()}")
            time.sleep(max(0.0, 3.0 - watch.elapsed()))
        finally:
            ws.close()
    watch.check(checks)
    checks.verify()
