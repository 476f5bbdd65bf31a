"""PrimusVapor with the SockJS, Socket.IO and BrowserChannel transformers, through Vapor's own
server, against the clients their own suites use: the official sockjs-client in Node (its
streaming transports are answers Vapor writes part by part as Primus produces them), the official
python-socketio client, and a BrowserChannel session by hand with a streaming back channel."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import pytest
import socketio

from browserchannel.bc_client import BCSession, parse_forward_answer
from primus_support import ServerProcess
from sockjs.sockjs_support import run_official_client
from vapor.vapor_support import EXAMPLE, TIMEOUT

# As Primus's json parser writes them: what the chat echoes comes back byte for byte.
MESSAGES = [json.dumps(v, separators=(",", ":"), ensure_ascii=False) for v in ["hello", {"name": "n", "text": "zażółć ☃ 😀"}, [1, None]]]


@pytest.mark.parametrize("transport", ["websocket", "xhr-streaming", "xhr-polling", "eventsource"])
def test_sockjs_official_client_echo(start_example, transport: str) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "sockjs")
    events = run_official_client(f"{server.http_url}/primus", transport, MESSAGES, close_after=len(MESSAGES))
    assert events[0] == {"event": "open", "transport": transport}, events
    assert [e["data"] for e in events if e["event"] == "message"] == MESSAGES


@pytest.mark.parametrize("transports", [["polling"], ["websocket"], ["polling", "websocket"]], ids=["polling", "websocket", "upgrade"])
def test_socketio_official_client_echo(start_example, transports: list[str]) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "socket.io")
    sio = socketio.Client(reconnection=False)
    got: list[Any] = []
    cond = threading.Condition()

    @sio.on("message")
    def on_message(data: Any) -> None:  # noqa: ANN401
        with cond:
            got.append(data)
            cond.notify_all()

    sio.connect(server.http_url, transports=transports, socketio_path="/primus", wait_timeout=TIMEOUT)
    try:
        values = ["hello", {"name": "n", "text": "zażółć ☃ 😀"}, [1, None]]
        for value in values:
            sio.send(value)  # a `message` event is Primus data
        deadline = time.monotonic() + TIMEOUT
        with cond:
            while len(got) < len(values):
                left = deadline - time.monotonic()
                assert left > 0, f"echoes: {got!r}"
                cond.wait(left)
        assert got == values
    finally:
        sio.disconnect()


def test_browserchannel_echo_over_a_streaming_back_channel(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "browserchannel")
    bc = BCSession(f"{server.http_url}/primus")
    created = bc.create()
    assert created.status_code == 200, (created.status_code, created.text)
    assert created.headers["x-example"] == EXAMPLE
    back = bc.back_channel(ci=0)  # CI=0: one streaming answer for every array
    try:
        for message in MESSAGES:
            assert parse_forward_answer(bc.send([message]).text)[0] == 1  # the back channel is open
            assert back.next_data()[1] == message
        assert not back.ended.is_set(), "the back channel keeps streaming"
    finally:
        back.close()
        bc.terminate()
