"""Issue 9, defect 7: the WebSocket handshake and framing were lenient.

- Client frames must be masked (RFC 6455 §5.1): an unmasked one fails the connection with
  close code 1002, and the socket is closed.
- A handshake must be a GET over HTTP/1.1 or later with ``Sec-WebSocket-Version: 13`` and a
  ``Sec-WebSocket-Key`` that is base64 of exactly 16 bytes; otherwise 400 and the close (``Host``
  is checked in test_abuse_http.py). A missing or other version may get 426 (RFC 6455 §4.4).
"""

from __future__ import annotations

import threading
import time

import pytest

from abuse_support import (
    CLOSE_AFTER_ERROR,
    NO_IDLE_TIMEOUTS,
    OP_CLOSE,
    OP_TEXT,
    QUICK_LIMITS,
    Checks,
    HeldConnection,
    RawWebSocket,
    Watch,
    attacking,
    b64_key,
    close_code,
    error_shapes_test,
    fd_count,
    fd_growth_check,
    frame,
    idle_holder,
    primus_echo_probe,
    read_until_closed,
    server_pid,
    ws_upgrade_request,
)
from primus_support import ServerProcess

UNMASKED = frame(OP_TEXT, b'"unmasked"', masked=False)


@pytest.mark.timeout(60)
def test_unmasked_frames_fail_the_connection_with_1002(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §7: unmasked client frames were accepted and echoed."""
    server: ServerProcess = start_testserver(*QUICK_LIMITS)
    pid = server_pid(server)
    checks = Checks("unmasked client frames")
    fds_before = fd_count(pid)
    stop = threading.Event()
    with Watch(server, primus_echo_probe(server), stop=stop) as watch:
        ws = RawWebSocket.open(server.port)
        try:
            ws.send(UNMASKED)
            try:
                opcode, payload = ws.recv_frame(timeout=2.0)
                while opcode == OP_TEXT and payload.startswith(b'"primus::ping::'):
                    opcode, payload = ws.recv_frame(timeout=2.0)
            except (TimeoutError, EOFError, ConnectionResetError) as exc:
                opcode, payload = None, repr(exc).encode()
            checks.expect(opcode == OP_CLOSE and close_code(payload) == 1002,
                          "expected a close frame with code 1002 within 2 s, got "
                          + (f"opcode {opcode} with {payload[:80]!r}" if opcode is not None
                             else payload.decode()))
            if opcode == OP_CLOSE:
                ws.send(frame(OP_CLOSE, payload[:2]))  # answer it, as a client does
                ending = read_until_closed(ws.sock, CLOSE_AFTER_ERROR)
                checks.expect(ending.how in ("eof", "reset"),
                              f"after the 1002 close was answered the socket stayed open ({ending.describe()})")
        finally:
            ws.close()
        # The same from 200 connections that send unmasked frames and never answer the close.
        conns: list[HeldConnection] = []
        request = ws_upgrade_request() + UNMASKED * 10
        opening = threading.Event()
        opening.set()
        attack = idle_holder(server.port, conns, count=200, first_bytes=request, rate=200, opening=opening)
        with attacking(("unmasked frames", attack), stop=stop) as (stats,):
            stop.wait(3.0)
            opening.clear()  # the attacker holds what it has and never answers a close
            time.sleep(1.0 + 1.0)  # close timeout + slack for the last ones
            fd_growth_check(checks, pid, fds_before, 32, "unmasked frames repeated")
        checks.note(stats.describe())
    watch.check(checks)
    checks.verify()


@pytest.mark.timeout(60)
def test_invalid_handshakes_get_400_and_the_socket_closes(start_testserver) -> None:  # noqa: ANN001
    """Issue 9 §7: ``Sec-WebSocket-Key: x``, a POST upgrade and an HTTP/1.0 upgrade got 101."""
    server: ServerProcess = start_testserver(*NO_IDLE_TIMEOUTS)
    error_shapes_test(server, {
        "Sec-WebSocket-Key: x": ws_upgrade_request(key="x"),
        "key of 15 bytes": ws_upgrade_request(key=b64_key(15)),
        "key of 17 bytes": ws_upgrade_request(key=b64_key(17)),
        "no Sec-WebSocket-Key": ws_upgrade_request(key=None),
        "POST upgrade": ws_upgrade_request(method="POST"),
        "HTTP/1.0 upgrade": ws_upgrade_request(version="HTTP/1.0"),
    }, {400}, "invalid WebSocket handshakes")


@pytest.mark.timeout(60)
def test_unsupported_websocket_versions_are_refused_and_the_socket_closes(start_testserver) -> None:  # noqa: ANN001
    """A handshake without ``Sec-WebSocket-Version: 13`` is refused (400, or 426 as RFC 6455
    §4.4 allows) and the socket closed (today: 426 and the socket stays open)."""
    server: ServerProcess = start_testserver(*NO_IDLE_TIMEOUTS)
    error_shapes_test(server, {
        "no Sec-WebSocket-Version": ws_upgrade_request(ws_version=None),
        "Sec-WebSocket-Version: 8": ws_upgrade_request(ws_version="8"),
    }, {400, 426}, "unsupported WebSocket versions")
