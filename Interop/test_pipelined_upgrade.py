"""A client that sends its first WebSocket frame in the same write as the upgrade request (it did
not wait for `101`) loses nothing: the frame is read once the session has taken the connection.
Checked on the Engine.IO and Socket.IO transformers, whose sessions are set up after the upgrade."""

from __future__ import annotations

import base64
import os
import socket
import time

import pytest


def masked_text_frame(payload: bytes) -> bytes:
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def text_frames(data: bytes) -> list[str]:
    """The server's unmasked text frames (short ones: 7-bit lengths)."""
    texts, offset = [], 0
    while offset + 2 <= len(data):
        opcode, length = data[offset] & 0x0F, data[offset + 1] & 0x7F
        assert length < 126, "the server's frames here are short"
        if opcode == 0x1:
            texts.append(data[offset + 2 : offset + 2 + length].decode())
        offset += 2 + length
    return texts


def exchange(port: int, path: str, payload: bytes, wanted: str) -> list[str]:
    """Sends the upgrade and the frame in one write; reads until a frame starts with `wanted`."""
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request + masked_text_frame(payload))
        data = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0 and any(f.startswith(wanted) for f in text_frames(data[head_end + 4 :])):
                break
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 101"), data[:200]
    return text_frames(data[data.find(b"\r\n\r\n") + 4 :])


@pytest.mark.parametrize(
    ("args", "path", "payload", "wanted"),
    [
        (["--transformer", "engine.io", "--ping-interval", "0"], "/primus/?EIO=4&transport=websocket", b'4{"a":1}', '4{"a":1}'),
        (["--transformer", "socket.io"], "/primus/?EIO=4&transport=websocket", b"40", '40{"sid":'),
    ],
)
def test_a_frame_sent_with_the_upgrade_request_is_answered(start_testserver, args, path, payload, wanted) -> None:  # noqa: ANN001
    server = start_testserver(*args)
    frames = exchange(server.port, path, payload, wanted)
    assert frames[0].startswith('0{"sid":'), frames
    assert any(f.startswith(wanted) for f in frames[1:]), frames
