"""Graceful shutdown of the Hummingbird example (SIGTERM), seen by real clients: Primus runs as a
service after the application in one ServiceGroup, so it ends its sparks before Hummingbird
stops serving.

``--reconnect-on-shutdown false``: a websocket-client and a python-engineio polling client are
told ``primus::server::close`` and the process exits 0. ``true``: connections drop without it,
and a client connects again to the app restarted on the same port.
"""

from __future__ import annotations

import pytest

from engineio_peer import EngineIOPrimusPeer
from example_support import terminate, websocket_until_shutdown
from primus_support import PrimusClient

EXAMPLE = "HummingbirdChat"


def test_no_reconnect_tells_websocket_and_polling_clients_server_close(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--transformer", "engine.io", "--reconnect-on-shutdown", "false")
    polling = EngineIOPrimusPeer(server.http_url, ["polling"])
    socket = EngineIOPrimusPeer(server.http_url, ["websocket"])
    try:
        for peer in (polling, socket):
            peer.write("hello")
        # Both are in #general: each sees both hellos.
        assert polling.wait_for(2) == ["hello", "hello"]
        assert socket.wait_for(2) == ["hello", "hello"]
        assert terminate(server) == 0
        for peer in (polling, socket):
            assert peer.wait_until(lambda peer=peer: "primus::server::close" in peer.received), peer.received
            assert peer.disconnected.wait(15)
    finally:
        polling.close()
        socket.close()


def test_no_reconnect_over_websockets(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--reconnect-on-shutdown", "false")
    _, texts = websocket_until_shutdown(server, "hello")
    assert '"primus::server::close"' in texts, texts


def test_reconnect_drops_silently_and_the_restarted_app_serves_again(start_example, respawn) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--reconnect-on-shutdown", "true")
    port = server.port
    _, texts = websocket_until_shutdown(server, "hello")
    assert '"primus::server::close"' not in texts, texts
    again = respawn(server).start()
    assert again.port == port
    with PrimusClient(f"ws://127.0.0.1:{port}/primus") as client:
        client.write("back")
        assert client.recv() == "back"


@pytest.mark.parametrize("reconnect", ["true", "false"])
def test_sigterm_exits_zero_with_no_client(start_example, reconnect: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--reconnect-on-shutdown", reconnect)
    assert terminate(server) == 0
