"""Bad input on a Primus connection: oversized messages, invalid UTF-8, invalid JSON."""

from __future__ import annotations

import websocket
import websockets.sync.client
from websockets.exceptions import ConnectionClosed

from primus_support import Closed, PrimusClient, ServerProcess

MAX_LENGTH = 1024


def test_message_under_max_length_echoes(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--max-length", str(MAX_LENGTH))
    value = "a" * (MAX_LENGTH - 100)
    with PrimusClient(server.ws_url()) as client:
        client.write(value)
        assert client.recv() == value


def test_oversized_message_closes_with_1009(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--max-length", str(MAX_LENGTH))
    with PrimusClient(server.ws_url()) as client:
        client.write("a" * (MAX_LENGTH * 2))
        closed = client.expect_close()
        assert closed.frame, f"expected a close frame, got {closed}"
        assert closed.code == 1009


def test_oversized_default_limit_closes_with_1009(testserver: ServerProcess) -> None:
    """Default maxLength is 10485760 bytes."""
    with PrimusClient(testserver.ws_url(), timeout=15) as client:
        try:
            client.write("b" * (10485760 + 1024))
        except (OSError, websocket.WebSocketException):
            # The server may fail the connection as soon as it reads the frame header,
            # while we are still sending: its close frame is then already queued for us.
            pass
        closed = client.expect_close(timeout=15)
        assert closed.frame, f"expected a close frame, got {closed}"
        assert closed.code == 1009


def test_invalid_utf8_closes_with_1007(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        client.send_raw_bytes_as_text(b'"\xff\xfe bad"')
        closed = client.expect_close()
        assert closed.frame, f"expected a close frame, got {closed}"
        assert closed.code == 1007


def test_invalid_utf8_closes_with_1007_websockets_lib(testserver: ServerProcess) -> None:
    """Same check with a second client library (websockets): a truncated UTF-8 sequence."""
    with websockets.sync.client.connect(testserver.ws_url(), open_timeout=5, close_timeout=5) as ws:
        ws.send(b'"\xe2\x82"', text=True)
        try:
            msg = ws.recv(timeout=5)
        except ConnectionClosed as exc:
            assert exc.rcvd is not None, "server dropped the TCP connection without a close frame"
            assert exc.rcvd.code == 1007
        else:
            raise AssertionError(f"expected a 1007 close, got message {msg!r}")


def test_invalid_json_is_dropped_and_connection_stays(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        client.send_raw_text("{not json")
        client.send_raw_text('"unterminated')
        client.write({"after": "garbage"})
        try:
            reply = client.recv()
        except Closed as closed:
            raise AssertionError(f"invalid JSON must not close the connection ({closed})")
        assert reply == {"after": "garbage"}
        client.expect_silence(0.3)


def test_binary_frame_does_not_break_the_server(testserver: ServerProcess) -> None:
    """A stray binary frame on a JSON spark: whatever the spark does, the server survives."""
    with PrimusClient(testserver.ws_url()) as client:
        client.ws.send_binary(b'{"bin": 1}')
        try:
            client.expect_silence(0.3)
        except (AssertionError, Closed):
            pass  # an echo or a close are both acceptable here
    assert testserver.alive()
    with PrimusClient(testserver.ws_url()) as fresh:
        fresh.write("next")
        assert fresh.recv() == "next"
