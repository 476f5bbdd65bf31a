"""Helpers of the tests of the example apps (Examples/HummingbirdChat, Examples/VaporChat), which
run Primus inside a web framework: Interop/hummingbird, Interop/vapor and their browser tests."""

from __future__ import annotations

import signal

from primus_support import Closed, PrimusClient, ServerProcess


def terminate(server: ServerProcess, timeout: float = 30.0) -> int:
    """SIGTERM, then the exit status (the examples shut down gracefully and exit 0)."""
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    return server.proc.wait(timeout=timeout)


def websocket_until_shutdown(server: ServerProcess, greeting: str = "ready") -> tuple[Closed, list[str]]:
    """A Primus WebSocket client echoed ``greeting`` by ``server``, which is then stopped with
    SIGTERM and exits 0: how the connection closed, and the texts the client got meanwhile."""
    with PrimusClient(server.ws_url()) as client:
        client.write(greeting)
        assert client.recv() == greeting
        assert terminate(server) == 0
        return client.wait_closed(15)
