"""The `socket.io` transformer against the official python-socketio 5 `Client` (protocol v5 on
EIO=4), on the socket.io-protocol test contract: `primus-testserver --transformer socket.io --raw`
serves `/socket.io/` with namespaces `/` and `/custom`, emits `auth` on connect, answers `message`
with `message-back` and acknowledges `message-with-ack` with its arguments; Engine.IO ping
interval 300 ms, ping timeout 200 ms, connect timeout 1000 ms.

Each test runs with `transports=['polling']`, `['websocket']` and the default polling→upgrade.
The async client runs the same scenarios in test_socketio_async_client.py.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import time

import engineio
import pytest
import socketio
import socketio.packet

from sio_support import ARGS, TIMEOUT, TRANSPORTS, connect, settle_transport, start_raw, wait_until


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_two_namespaces_with_the_auth_payload_events_and_acks(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    sio, seen = clients.sync()
    auth = {"token": "abc", "nested": [1, "two"]}
    connect(sio, server.http_url, transports, namespaces=["/", "/custom"], auth=auth)
    root, custom = sio.get_sid("/"), sio.get_sid("/custom")
    assert root and custom and root != custom, "one socket id per namespace"
    assert sio.eio.sid not in (root, custom), "a socket id is not the Engine.IO sid"
    for namespace in ("/", "/custom"):
        assert seen.wait_event("auth", namespace)[0] == (auth,)
        sio.emit("message", ("hello", namespace), namespace=namespace)
        assert seen.wait_event("message-back", namespace)[0] == ("hello", namespace)
        assert sio.call("message-with-ack", ("ack me", 42, namespace), namespace=namespace, timeout=TIMEOUT) == ("ack me", 42, namespace)
    settle_transport(sio, expected)
    # After an upgrade, the same namespaces still work on the WebSocket.
    sio.emit("message", "after", namespace="/custom")
    assert seen.wait_event("message-back", "/custom", count=2)[1] == ("after",)
    assert not seen.connect_errors and not seen.disconnects


def test_no_auth_payload_is_the_empty_object(start_testserver, clients) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    sio, seen = clients.sync()
    connect(sio, server.http_url, ["websocket"])
    assert seen.wait_event("auth")[0] == ({},)


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_a_refused_auth_is_a_connect_error_with_its_message(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    sio, seen = clients.sync()
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(sio, server.http_url, transports, namespaces=["/", "/custom"], auth={"token": "bad"})
    assert sorted(seen.connect_errors, key=lambda e: e[0]) == [
        ("/", {"message": "Not authorized"}),
        ("/custom", {"message": "Not authorized"}),
    ]
    assert not seen.connects
    # A good payload on a new client is accepted by the same server.
    good, good_seen = clients.sync()
    connect(good, server.http_url, transports, auth={"token": "good"})
    assert good_seen.wait_event("auth")[0] == ({"token": "good"},)


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_an_unknown_namespace_is_a_connect_error(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    sio, seen = clients.sync()
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(sio, server.http_url, transports, namespaces=["/", "/nope"])
    assert seen.connect_errors == [("/nope", {"message": "Invalid namespace"})]
    assert seen.connects == ["/"], "the known namespace was accepted beside the refused one"


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_binary_events_and_acks_in_both_directions(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    sio, seen = clients.sync()
    connect(sio, server.http_url, transports, namespaces=["/", "/custom"])
    for namespace in ("/", "/custom"):
        # Client → server: a BINARY_EVENT, echoed as a BINARY_EVENT.
        sio.emit("message", ARGS, namespace=namespace)
        assert seen.wait_event("message-back", namespace)[0] == ARGS
        # A BINARY_EVENT with an ack id, answered by a BINARY_ACK.
        assert sio.call("message-with-ack", ARGS, namespace=namespace, timeout=TIMEOUT) == ARGS
        # Server → client: the server asks ("question", ARGS) with an ack id; the client's handler
        # answers ("got", *ARGS) in a BINARY_ACK; the server reports the answer as `answer`.
        sio.emit("ask", (TIMEOUT * 1000, *ARGS), namespace=namespace)
        assert seen.wait_event("question", namespace)[0] == ARGS
        assert seen.wait_event("answer", namespace)[0] == ("got", *ARGS)
    settle_transport(sio, expected)
    sio.emit("message", (b"", b"\x00" * 1000, [b"\xff", {"deep": b"\xfe"}]))
    assert seen.wait_event("message-back", count=2)[1] == (b"", b"\x00" * 1000, [b"\xff", {"deep": b"\xfe"}])


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_rooms_join_broadcast_without_the_sender_and_emit_to_all(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    alice, bob, carol = (clients.sync() for _ in range(3))
    for (sio, _), rooms in [(alice, ["blue"]), (bob, ["blue", "red"]), (carol, ["red"])]:
        connect(sio, server.http_url, transports)
        joined = sio.call("join", tuple(rooms), timeout=TIMEOUT)
        # The room list, maybe with the socket's own room (its id) as the reference server has.
        assert [room for room in joined if room != sio.get_sid("/")] == sorted(rooms), joined
    alice[0].emit("to-room", ("blue", "hello blue", b"\x07"))
    assert bob[1].wait_event("room-message")[0] == ("hello blue", b"\x07")
    # The sender (alice) and a socket outside the room (carol) get nothing: their packets are
    # handled in wire order, so nothing arrived before the answer to a later event.
    for sio, seen in (alice, carol):
        sio.emit("message", "marker")
        seen.wait_event("message-back")
        assert "room-message" not in seen.names(), seen.events
    carol[0].emit("to-room", ("red", "hello red"))
    assert bob[1].wait_event("room-message", count=2)[1] == ("hello red",)
    bob[0].emit("emit-all", ("hi all", {"n": 1}))
    for _, seen in (alice, bob, carol):
        assert seen.wait_event("everyone")[0] == ("hi all", {"n": 1})
    settle_transport(alice[0], expected)


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_disconnecting_one_namespace_keeps_the_other(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    sio, seen = clients.sync()
    connect(sio, server.http_url, transports, namespaces=["/", "/custom"])
    settle_transport(sio, expected)
    # python-socketio has no per-namespace disconnect: its own encoder sends DISCONNECT `41/custom,`.
    sio._send_packet(sio.packet_class(socketio.packet.DISCONNECT, namespace="/custom"))
    del sio.namespaces["/custom"]
    for index in range(3):
        sio.emit("message", index)
        assert seen.wait_event("message-back", count=index + 1)[index] == (index,)
    assert sio.call("message-with-ack", "still", timeout=TIMEOUT) == "still"
    # The namespace can be connected again on the same Engine.IO session: a new socket.
    old = seen.args_of("auth", "/custom")
    sio._send_packet(sio.packet_class(socketio.packet.CONNECT, namespace="/custom", data={"again": True}))
    assert seen.wait_event("auth", "/custom", count=len(old) + 1)[-1] == ({"again": True},)
    assert sio.connected and not seen.disconnects


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_heartbeats_keep_a_quiet_client_connected(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    sio, seen = clients.sync()
    connect(sio, server.http_url, transports, namespaces=["/", "/custom"])
    # Ten pings at 300 ms are three seconds, seven times the 500 ms window of a silent peer.
    wait_until(lambda: sio.eio.pings >= 10, "ten Engine.IO pings", timeout=60)
    assert sio.connected and not seen.disconnects, seen.disconnects
    sio.emit("message", "awake", namespace="/custom")
    assert seen.wait_event("message-back", "/custom")[0] == ("awake",)
    assert sio.transport() == expected


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]], ids=["polling", "websocket"])
def test_a_session_that_never_connects_a_namespace_is_closed_after_the_connect_timeout(start_testserver, transports) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    eio = engineio.Client()
    closed: list[float] = []
    eio.on("disconnect", lambda *reason: closed.append(time.monotonic()))
    opened = time.monotonic()
    eio.connect(server.http_url, transports=transports, engineio_path="socket.io")
    try:
        wait_until(lambda: closed, "the server to close the Engine.IO session", timeout=30)
        elapsed = closed[0] - opened
        # 1000 ms in the raw contract; the heartbeat (300 + 200 ms) alone would keep it open.
        assert 0.8 <= elapsed < 15, elapsed
    finally:
        eio.disconnect()
    assert server.alive()


def read_response(sock: socket.socket) -> tuple[str, dict[str, str], bytes]:
    """One HTTP/1.1 response head (and its Content-Length body) from ``sock``."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        assert chunk, f"connection closed mid-response: {data!r}"
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    status, *lines = head.decode("latin-1").split("\r\n")
    headers = {name.strip().lower(): value.strip() for name, value in (line.split(":", 1) for line in lines)}
    length = int(headers.get("content-length", "0"))
    while len(body) < length:
        chunk = sock.recv(4096)
        assert chunk, "connection closed mid-body"
        body += chunk
    return status, headers, body


def test_an_upgrade_on_the_kept_alive_connection_of_the_polling_handshake_is_accepted(start_testserver) -> None:  # noqa: ANN001
    """python-socketio's AsyncClient (aiohttp) sends its WebSocket upgrade on the pooled keep-alive
    connection that carried the polling handshake, as HTTP/1.1 allows; Node's HTTP server (the
    reference) takes an upgrade on any request of a connection."""
    server = start_raw(start_testserver)
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(f"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode())
        status, headers, body = read_response(sock)
        assert status.startswith("HTTP/1.1 200") and "close" not in headers.get("connection", ""), (status, headers)
        sid = json.loads(body.decode()[1:])["sid"]
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall(
            f"GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
            f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n\r\n".encode()
        )
        status, headers, body = read_response(sock)
        assert status.startswith("HTTP/1.1 101"), f"upgrade on the same connection answered {status} {headers} {body!r}"
