"""PrimusVapor with the `engine.io` transformer, through Vapor's own server, against the official
python-engineio 4 client in polling, websocket and upgrade (polling, then websocket) modes: the
polls and posts are Vapor routes whose bodies stream to Primus, the WebSocket is switched by
Vapor's upgrader."""

from __future__ import annotations

import pytest
import requests

from primus_support import ServerProcess
from vapor.vapor_support import EXAMPLE, EngineIOPeer

MODES = [
    pytest.param(["polling"], "polling", id="polling"),
    pytest.param(["websocket"], "websocket", id="websocket"),
    pytest.param(None, "websocket", id="upgrade"),
]


@pytest.mark.parametrize(("transports", "final"), MODES)
def test_echo_both_ways(start_example, transports, final) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "engine.io", "--ping-interval", "5000")
    peer = EngineIOPeer(server.http_url, transports)
    try:
        values = ["hello € 😀", {"text": "page message", "name": "py"}, [1, "two", None, True], 42]
        for value in values:
            peer.write(value)
            peer.wait_for(value)
        # The upgrade completes in the background once polling works.
        assert peer.wait_until(lambda: peer.transport() == final), f"still on {peer.transport()}"
        # A burst, so a poll answers several packets at once.
        burst = [{"n": index} for index in range(50)]
        for value in burst:
            peer.write(value)
        for value in burst:
            peer.wait_for(value)
    finally:
        peer.close()


def test_polling_bodies_stream_to_primus_under_its_limit(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "engine.io", "--max-length", "65536")
    peer = EngineIOPeer(server.http_url, ["polling"])
    try:
        # A post over the transformer's body limit is refused by Primus (not collected by Vapor).
        url = f"{server.http_url}/primus/?EIO=4&transport=polling&sid={peer.client.sid}"
        declared = requests.post(url, data=b"4" + b"x" * (4 << 20), headers={"content-type": "text/plain"}, timeout=30)
        assert declared.status_code == 413, declared.status_code

        def chunks():  # no content-length: Primus counts the parts as they stream in
            yield b"4"
            for _ in range(64):
                yield b"x" * 65536

        streamed = requests.post(url, data=chunks(), headers={"content-type": "text/plain"}, timeout=30)
        assert streamed.status_code == 413, streamed.status_code
        assert server.alive()
    finally:
        peer.close()
    other = EngineIOPeer(server.http_url, ["polling"])
    try:
        other.write("after")
        other.wait_for("after")
    finally:
        other.close()
