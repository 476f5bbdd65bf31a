"""PrimusVapor's graceful shutdown: SIGTERM to the Vapor app ends every spark through Primus's
lifecycle handler before Vapor's HTTP server stops, and the process exits 0.

With ``--reconnect-on-shutdown false`` a WebSocket client and an engine.io polling client (which
has to come back for its last packet) both get ``primus::server::close``; with ``true`` the
WebSocket is dropped without it, so a Primus client would reconnect (the browser test shows
it reconnecting to the respawned app).
"""

from __future__ import annotations

import json

from primus_support import Closed, PrimusClient, ServerProcess
from vapor.vapor_support import EXAMPLE, EngineIOPeer, terminate


def test_no_reconnect_websocket_client_gets_server_close(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--reconnect-on-shutdown", "false")
    with PrimusClient(server.ws_url()) as client:
        client.write("ready")
        assert client.recv() == "ready"
        assert terminate(server) == 0
        closed, seen = client.wait_closed(15)
        assert json.dumps("primus::server::close") in seen, seen
        assert isinstance(closed, Closed)


def test_no_reconnect_polling_client_gets_server_close(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "engine.io", "--reconnect-on-shutdown", "false")
    peer = EngineIOPeer(server.http_url, ["polling"])
    try:
        peer.write("ready")
        peer.wait_for("ready")
        assert terminate(server) == 0
        assert peer.wait_until(lambda: "primus::server::close" in peer.received), peer.received
        assert peer.disconnected.wait(15)
    finally:
        peer.close()


def test_no_reconnect_both_at_once(start_example) -> None:  # noqa: ANN001
    """A WebSocket and an engine.io WebSocket session on one app: the shutdown ends them both."""
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "engine.io", "--reconnect-on-shutdown", "false")
    peers = [EngineIOPeer(server.http_url, ["websocket"]), EngineIOPeer(server.http_url, ["polling"])]
    try:
        for index, peer in enumerate(peers):
            peer.write(index)
            peer.wait_for(index)
        assert terminate(server) == 0
        for peer in peers:
            assert peer.wait_until(lambda peer=peer: "primus::server::close" in peer.received), peer.received
    finally:
        for peer in peers:
            peer.close()


def test_reconnect_websocket_is_dropped_without_server_close(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--reconnect-on-shutdown", "true")
    with PrimusClient(server.ws_url()) as client:
        client.write("ready")
        assert client.recv() == "ready"
        assert terminate(server) == 0
        _, seen = client.wait_closed(15)
        assert json.dumps("primus::server::close") not in seen, seen
