"""SockJS, Socket.IO and BrowserChannel mounted on Hummingbird 2 (Examples/HummingbirdChat):
each transformer's own requests go through Hummingbird's router, its WebSockets through
Hummingbird's upgrade, and its streamed answers (SockJS xhr_streaming, BrowserChannel's back
channel) are written by Hummingbird part by part as they come.

SockJS is spoken by hand (websocket-client, requests), Socket.IO by the official python-socketio
5 client, BrowserChannel by the suite's own client (Interop/browserchannel/bc_client.py).
"""

from __future__ import annotations

import json
import queue
import sys
import uuid
from pathlib import Path

import pytest
import requests
import socketio
import websocket

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "browserchannel"))
from bc_client import BCSession  # noqa: E402

EXAMPLE = "HummingbirdChat"
TIMEOUT = 10


def encode(value) -> str:  # noqa: ANN001
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def sockjs_session(server) -> str:  # noqa: ANN001
    return f"{server.http_url}/primus/000/{uuid.uuid4().hex[:8]}"


def sockjs_messages(frame: str) -> list:
    assert frame.startswith("a["), frame
    return [json.loads(m) for m in json.loads(frame[1:])]


def test_sockjs_websocket_echo(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", "sockjs")
    url = sockjs_session(server).replace("http://", "ws://") + "/websocket"
    ws = websocket.create_connection(url, timeout=TIMEOUT)
    try:
        assert ws.getheaders().get("x-example") == "HummingbirdChat"
        assert ws.recv() == "o"
        ws.send(json.dumps([json.dumps("hello € 😀")]))
        frame = ws.recv()
        while frame == "h":
            frame = ws.recv()
        assert sockjs_messages(frame) == ["hello € 😀"]
    finally:
        ws.close()


def test_sockjs_xhr_polling_and_streaming_echo(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", "sockjs")
    base = sockjs_session(server)
    opened = requests.post(base + "/xhr", timeout=TIMEOUT)
    assert opened.text == "o\n" and opened.headers.get("x-example") == "HummingbirdChat"
    # The stream stays open: its prelude and frames arrive while the answer is still going.
    with requests.post(base + "/xhr_streaming", stream=True, timeout=TIMEOUT) as stream:
        assert stream.status_code == 200
        lines = stream.iter_lines(chunk_size=1, decode_unicode=True)
        first = next(line for line in lines if line.strip())
        assert set(first) == {"h"}, first[:20]  # the 2 KiB prelude
        sent = requests.post(base + "/xhr_send", data=json.dumps([json.dumps({"n": 1})]), timeout=TIMEOUT)
        assert sent.status_code == 204
        frame = next(line for line in lines if line and line != "h")
        assert sockjs_messages(frame) == [{"n": 1}]
        sent = requests.post(base + "/xhr_send", data=json.dumps([json.dumps("two")]), timeout=TIMEOUT)
        frame = next(line for line in lines if line and line != "h")
        assert sockjs_messages(frame) == ["two"]


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], None], ids=["polling", "websocket", "upgrade"])
def test_socketio_echo(start_example, transports) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", "socket.io")
    sio = socketio.Client(reconnection=False)
    got: queue.Queue = queue.Queue()
    sio.on("message", lambda data: got.put(data))
    kwargs = {"socketio_path": "/primus", "wait_timeout": TIMEOUT}
    if transports:
        kwargs["transports"] = transports
    sio.connect(server.http_url, **kwargs)
    try:
        sio.send("hello € 😀")
        assert got.get(timeout=TIMEOUT) == "hello € 😀"
        sio.send({"name": "ada", "text": "hi"})
        assert got.get(timeout=TIMEOUT) == {"name": "ada", "text": "hi"}
    finally:
        sio.disconnect()


def test_browserchannel_echo_over_the_streamed_back_channel(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", "browserchannel")
    bc = BCSession(f"{server.http_url}/primus")
    assert bc.test_init().status_code == 200
    created = bc.create()
    assert created.status_code == 200, (created.status_code, created.text)
    assert created.headers.get("x-example") == "HummingbirdChat"
    back = bc.back_channel()
    try:
        assert bc.send([encode("hello € 😀")]).status_code == 200
        assert json.loads(back.next_data()[1]) == "hello € 😀"
        # The back channel is still the same streamed answer: a second message arrives on it.
        assert bc.send([encode({"n": 2})]).status_code == 200
        assert json.loads(back.next_data()[1]) == {"n": 2}
    finally:
        back.close()
        bc.terminate()
