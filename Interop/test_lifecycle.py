"""Graceful shutdown of primus-testserver as its users stop it (SIGTERM), seen by real clients.

With ``--no-reconnect-on-shutdown`` every client is told ``primus::server::close`` before its
connection closes (so Primus clients stay away); by default connections just drop, so clients
reconnect to the server once it is back. Both transformers: websocket-client, and Engine.IO
polling on the wire (the exact payload the parked poll gets).
"""

from __future__ import annotations

import json
import http.client
import queue
import signal
import threading
import time

import pytest

from primus_support import Closed, PrimusClient, ServerProcess


def _terminate(server: ServerProcess) -> int:
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    return server.proc.wait(timeout=10)


def _frames_until_close(client: PrimusClient) -> list[str]:
    texts: list[str] = []
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            texts.append(client.recv_text(timeout=deadline - time.monotonic()))
        except Closed:
            return texts
    raise AssertionError(f"no close within 10 s; got {texts!r}")


def test_sigterm_with_no_reconnect_tells_websocket_clients_server_close(start_testserver) -> None:
    server = start_testserver("--no-reconnect-on-shutdown")
    with PrimusClient(server.ws_url()) as client:
        client.write("hello")
        assert client.recv() == "hello"
        assert _terminate(server) == 0
        texts = _frames_until_close(client)
    assert '"primus::server::close"' in texts, texts


def test_sigterm_by_default_drops_websocket_clients_silently_so_they_reconnect(start_testserver) -> None:
    server = start_testserver()
    with PrimusClient(server.ws_url()) as client:
        client.write("hello")
        assert client.recv() == "hello"
        assert _terminate(server) == 0
        texts = _frames_until_close(client)
    assert '"primus::server::close"' not in texts, texts


def _poll(port: int, target: str, timeout: float = 10) -> str:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.read().decode()
    finally:
        connection.close()


@pytest.mark.parametrize("reconnect", [False, True], ids=["no-reconnect", "reconnect"])
def test_sigterm_over_engineio_polling(start_testserver, reconnect: bool) -> None:
    """A parked Engine.IO poll is answered at shutdown: with the Primus close message and the
    Engine.IO close packet, or (reconnect) with the close packet alone."""
    args = ["--transformer", "engine.io"] + ([] if reconnect else ["--no-reconnect-on-shutdown"])
    server = start_testserver(*args)
    opened = _poll(server.port, "/primus/?EIO=4&transport=polling")
    assert opened.startswith("0"), opened
    sid = json.loads(opened[1:])["sid"]
    answer: queue.Queue[str] = queue.Queue()
    poller = threading.Thread(
        target=lambda: answer.put(_poll(server.port, f"/primus/?EIO=4&transport=polling&sid={sid}")), daemon=True
    )
    poller.start()
    time.sleep(0.3)  # the poll is parked (nothing to send yet); shutdown must answer it
    assert _terminate(server) == 0
    packets = answer.get(timeout=10).split("\x1e")
    if reconnect:
        assert '4"primus::server::close"' not in packets, packets
    else:
        assert '4"primus::server::close"' in packets, packets
    assert "1" in packets, packets


def test_after_a_restart_the_server_serves_again(start_testserver) -> None:
    """A gracefully stopped server leaves its port free: a new one binds and serves at once."""
    server = start_testserver()
    port = server.port
    assert _terminate(server) == 0
    server.args = [*server.args]
    server.start()
    with PrimusClient(server.ws_url()) as client:
        client.write({"again": True})
        assert client.recv() == {"again": True}
    assert port > 0
