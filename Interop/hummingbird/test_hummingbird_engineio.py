"""Primus's engine.io transformer mounted on Hummingbird 2 (Examples/HummingbirdChat), with the
official python-engineio 4 client in polling, websocket and upgrade (polling, then websocket)
modes: echo both ways through Hummingbird's router (polls) and its WebSocket upgrade."""

from __future__ import annotations

import pytest
import requests

from engineio_peer import EngineIOPrimusPeer

EXAMPLE = "HummingbirdChat"

MODES = [
    pytest.param(["polling"], "polling", id="polling"),
    pytest.param(["websocket"], "websocket", id="websocket"),
    pytest.param(None, "websocket", id="upgrade"),
]


@pytest.mark.parametrize(("transports", "final"), MODES)
def test_echo_both_ways(start_example, transports, final: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", "engine.io")
    peer = EngineIOPrimusPeer(server.http_url, transports)
    try:
        peer.write("hello € 😀")
        peer.write({"name": "ada", "text": "hi"})
        assert peer.wait_for(2) == ["hello € 😀", {"name": "ada", "text": "hi"}]
        # Upgrade mode: the client moves to the WebSocket once the server agrees.
        assert peer.wait_until(lambda: peer.transport() == final), f"still on {peer.transport()}"
        count = 200
        for index in range(count):
            peer.write({"n": index})
        echoed = peer.wait_for(count, timeout=60)
        assert [item["n"] for item in echoed] == list(range(count))
        assert peer.transport() == final
    finally:
        peer.close()


def test_polling_requests_pass_the_app_middleware(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", "engine.io")
    opened = requests.get(f"{server.http_url}/primus/?EIO=4&transport=polling", timeout=10)
    assert opened.status_code == 200 and opened.text.startswith("0"), opened.text
    assert opened.headers.get("x-example") == "HummingbirdChat"
    spec = requests.get(f"{server.http_url}/primus/spec", timeout=10).json()
    assert spec["transformer"] == "engine.io"


def test_polling_refused_without_the_token(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", "engine.io", "--token", "s3cret")
    refused = requests.get(f"{server.http_url}/primus/?EIO=4&transport=polling", timeout=10)
    assert refused.status_code == 401
    peer = EngineIOPrimusPeer(server.http_url + "?token=s3cret", ["polling"])
    try:
        peer.write("admitted")
        assert peer.wait_for(1) == ["admitted"]
    finally:
        peer.close()
