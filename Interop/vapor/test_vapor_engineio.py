"""PrimusVapor with the `engine.io` transformer, through Vapor's own server, against the official
python-engineio 4 client in polling, websocket and upgrade (polling, then websocket) modes: the
polls and posts are Vapor routes whose bodies stream to Primus, the WebSocket is switched by
Vapor's upgrader."""

from __future__ import annotations

import socket

import pytest

from engineio_peer import EngineIOPrimusPeer
from primus_support import ServerProcess
from vapor.vapor_support import EXAMPLE

MODES = [
    pytest.param(["polling"], "polling", id="polling"),
    pytest.param(["websocket"], "websocket", id="websocket"),
    pytest.param(None, "websocket", id="upgrade"),
]


@pytest.mark.parametrize(("transports", "final"), MODES)
def test_echo_both_ways(start_example, transports, final) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "engine.io", "--ping-interval", "5000")
    peer = EngineIOPrimusPeer(server.http_url, transports)
    try:
        values = ["hello € 😀", {"text": "page message", "name": "py"}, [1, "two", None, True], 42]
        for value in values:
            peer.write(value)
            peer.wait_for_value(value)
        # The upgrade completes in the background once polling works.
        assert peer.wait_until(lambda: peer.transport() == final), f"still on {peer.transport()}"
        # A burst, so a poll answers several packets at once.
        burst = [{"n": index} for index in range(50)]
        for value in burst:
            peer.write(value)
        for value in burst:
            peer.wait_for_value(value)
    finally:
        peer.close()


def _answer_then_closed(raw: socket.socket) -> bytes:
    """What the server answers before it closes the connection (a reset counts as closed: a
    server that closes with unread body bytes makes the kernel reset, and the answer may be
    lost with it, as with any HTTP server that stops reading)."""
    raw.settimeout(15)
    data = b""
    while True:
        try:
            chunk = raw.recv(65536)
        except ConnectionResetError:
            return data
        if not chunk:
            return data
        data += chunk


def test_a_body_over_the_limit_is_413_and_closes_the_connection(start_example) -> None:  # noqa: ANN001
    """Primus refuses it without reading it all (Vapor collects nothing first), and the
    connection is closed after the answer, declared or streamed in chunks."""
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "engine.io", "--max-length", "65536")
    peer = EngineIOPrimusPeer(server.http_url, ["polling"])
    try:
        target = f"/primus/?EIO=4&transport=polling&sid={peer.client.sid}"
        # Declared: answered at the first bytes (Vapor hands a request over with its first
        # body part), the rest never sent.
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as raw:
            raw.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nContent-Length: {64 << 20}\r\n\r\n4x".encode())
            answer = _answer_then_closed(raw)
        assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
        # Streamed: counted as the chunks arrive; the answer comes once the limit is passed.
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as raw:
            raw.sendall(f"POST {target} HTTP/1.1\r\nHost: x\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n".encode())
            part = b"x" * 65536
            try:
                for _ in range(17 + (1 << 20) // len(part)):  # just past the 1 MiB front-end limit
                    raw.sendall(b"%x\r\n" % len(part) + part + b"\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass  # closed while the rest was still on its way
            answer = _answer_then_closed(raw)
        assert answer == b"" or answer.startswith(b"HTTP/1.1 413"), answer[:200]
        assert server.alive()
    finally:
        peer.close()
    other = EngineIOPrimusPeer(server.http_url, ["polling"])
    try:
        other.write("after")
        other.wait_for_value("after")
    finally:
        other.close()
