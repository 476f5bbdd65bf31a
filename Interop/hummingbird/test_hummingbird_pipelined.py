"""Frames a client sends before Primus has taken the WebSocket over from Hummingbird are neither
lost nor reordered. PrimusHummingbird puts Primus's own WebSocket handler in front of
Hummingbird's async layer once Hummingbird has run the upgrade; whatever Hummingbird read before
that (frames sent in the same write as the upgrade request) comes through Hummingbird, in order,
up to a marker frame, and the rest directly."""

from __future__ import annotations

import base64
import json
import os
import socket
import time

from test_pipelined_upgrade import masked_text_frame

EXAMPLE = "HummingbirdChat"


def complete_text_frames(data: bytes) -> list[str]:
    """The server's unmasked text frames that have fully arrived (short ones: 7-bit lengths)."""
    texts, offset = [], 0
    while offset + 2 <= len(data):
        opcode, length = data[offset] & 0x0F, data[offset + 1] & 0x7F
        assert length < 126, "the server's frames here are short"
        if offset + 2 + length > len(data):
            break
        if opcode == 0x1:
            texts.append(data[offset + 2 : offset + 2 + length].decode())
        offset += 2 + length
    return texts


def test_frames_sent_with_the_upgrade_request_arrive_in_order(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--ping-interval", "0")
    count = 40
    key = base64.b64encode(os.urandom(16)).decode()
    request = (
        f"GET /primus/?_primuscb=pipelined HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
    ).encode()
    first = b"".join(masked_text_frame(json.dumps(f"m{i}").encode()) for i in range(count // 2))
    second = b"".join(masked_text_frame(json.dumps(f"m{i}").encode()) for i in range(count // 2, count))
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        # Half with the request (Hummingbird reads them), half right behind (whoever reads then).
        sock.sendall(request + first)
        sock.sendall(second)
        data = b""
        deadline = time.monotonic() + 15
        echoes: list[str] = []
        while time.monotonic() < deadline and len(echoes) < count:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
            head_end = data.find(b"\r\n\r\n")
            if head_end >= 0:
                echoes = [json.loads(t) for t in complete_text_frames(data[head_end + 4 :]) if t.startswith('"m')]
    assert data.startswith(b"HTTP/1.1 101"), data[:200]
    # Alone in #general, every message comes back to its sender, in the order it was sent.
    assert echoes == [f"m{i}" for i in range(count)], echoes
