"""PrimusVapor's graceful shutdown: SIGTERM to the Vapor app ends every spark through Primus's
lifecycle handler before Vapor's HTTP server stops, and the process exits 0.

With ``--reconnect-on-shutdown false`` a WebSocket client and an engine.io polling client (which
has to come back for its last packet) both get ``primus::server::close``; with ``true`` the
WebSocket is dropped without it, so a Primus client would reconnect (the browser test shows
it reconnecting to the respawned app).
"""

from __future__ import annotations

import json

from engineio_peer import EngineIOPrimusPeer
from example_support import terminate, websocket_until_shutdown
from primus_support import Closed, ServerProcess
from vapor.vapor_support import EXAMPLE


def test_no_reconnect_websocket_client_gets_server_close(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--reconnect-on-shutdown", "false")
    closed, seen = websocket_until_shutdown(server)
    assert json.dumps("primus::server::close") in seen, seen
    assert isinstance(closed, Closed)


def test_no_reconnect_polling_client_gets_server_close(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "engine.io", "--reconnect-on-shutdown", "false")
    peer = EngineIOPrimusPeer(server.http_url, ["polling"])
    try:
        peer.write("ready")
        peer.wait_for_value("ready")
        assert terminate(server) == 0
        assert peer.wait_until(lambda: "primus::server::close" in peer.received), peer.received
        assert peer.disconnected.wait(15)
    finally:
        peer.close()


def test_no_reconnect_both_at_once(start_example) -> None:  # noqa: ANN001
    """A WebSocket and an engine.io WebSocket session on one app: the shutdown ends them both."""
    server: ServerProcess = start_example(EXAMPLE, "--transformer", "engine.io", "--reconnect-on-shutdown", "false")
    peers = [EngineIOPrimusPeer(server.http_url, ["websocket"]), EngineIOPrimusPeer(server.http_url, ["polling"])]
    try:
        for index, peer in enumerate(peers):
            peer.write(index)
            peer.wait_for_value(index)
        assert terminate(server) == 0
        for peer in peers:
            assert peer.wait_until(lambda peer=peer: "primus::server::close" in peer.received), peer.received
    finally:
        for peer in peers:
            peer.close()


def test_reconnect_websocket_is_dropped_without_server_close(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--reconnect-on-shutdown", "true")
    _, seen = websocket_until_shutdown(server)
    assert json.dumps("primus::server::close") not in seen, seen
