"""Primus over the `socket.io` transformer, driven by the official python-socketio 5 `Client`:
`primus-testserver --transformer socket.io` serves Primus at `/primus` (so `socketio_path='/primus'`).
A `message` event is Primus data (`spark.on("data")`), and what a spark writes arrives as a
`message` event; the test server echoes data and obeys `{"testserver": …}` commands. Each
namespace connection is one spark whose id is the Socket.IO socket id.
"""

from __future__ import annotations

import pytest
import socketio
import socketio.packet

from sio_support import TRANSPORTS, connect, settle_transport, start_primus, wait_until

PATH = "/primus"


def spark_ids(clients, server, exclude: str = "") -> list[str]:  # noqa: ANN001
    sio, seen = clients.sync()
    connect(sio, server.http_url, ["websocket"], socketio_path=PATH)
    own = sio.get_sid("/")
    sio.send({"testserver": "sparks"})
    reply = seen.wait_event("message")[0][0]
    sio.disconnect()
    return [spark for spark in reply["sparks"] if spark != own]


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_message_events_are_primus_data_and_info_describes_the_spark(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_primus(start_testserver)
    sio, seen = clients.sync()
    connect(sio, f"{server.http_url}/?foo=bar&answer=42", transports, socketio_path=PATH,
            headers={"X-Primus-Test": "socket.io interop"})
    values = ["hello € 😀", {"nested": [1, "two", None, True]}, 7, [False]]
    for value in values:
        sio.send(value)
    assert [args for args in seen.wait_event("message", count=len(values))] == [(value,) for value in values]
    sio.send({"testserver": "info"})
    info = seen.wait_event("message", count=len(values) + 1)[-1][0]
    assert info["id"] == sio.get_sid("/"), "the spark id is the Socket.IO socket id"
    assert info["query"]["foo"] == "bar" and info["query"]["answer"] == "42"
    assert info["query"]["EIO"] == "4"
    assert info["headers"]["x-primus-test"] == "socket.io interop"
    assert info["headers"]["host"] == f"127.0.0.1:{server.port}"
    assert info["address"]["ip"] == "127.0.0.1"
    settle_transport(sio, expected)
    sio.send("after settling")
    assert seen.wait_event("message", count=len(values) + 2)[-1] == ("after settling",)


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_the_servers_end_is_a_disconnect_and_the_client_does_not_reconnect(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_primus(start_testserver)
    # Reconnection on: only a Socket.IO DISCONNECT (not a lost transport) keeps the client away.
    sio, seen = clients.sync(reconnection=True)
    connect(sio, server.http_url, transports, socketio_path=PATH)
    settle_transport(sio, expected)
    sid = sio.get_sid("/")
    sio.send({"testserver": "end", "data": "goodbye"})
    wait_until(lambda: seen.disconnects, "the disconnect")
    assert seen.disconnects == [("/", sio.reason.SERVER_DISCONNECT)]
    assert seen.args_of("message") == [("goodbye",)]
    # On the wire: the data, then a Socket.IO DISCONNECT for `/` (`1`), not just a closed transport.
    wire = list(sio.eio.wire_log)
    assert "1" in wire, f"no Socket.IO DISCONNECT on the wire: {wire!r}"
    goodbye = [index for index, packet in enumerate(wire) if isinstance(packet, str) and packet.startswith("2") and "goodbye" in packet]
    assert goodbye and goodbye[0] < wire.index("1"), wire
    assert not sio.connected and sio._reconnect_task is None, "no reconnection after a DISCONNECT"
    wait_until(lambda: sid not in spark_ids(clients, server), f"spark {sid} to be gone")


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_disconnecting_one_namespace_ends_only_its_spark(start_testserver, clients, transports, expected) -> None:  # noqa: ANN001
    server = start_primus(start_testserver)
    sio, seen = clients.sync()
    connect(sio, server.http_url, transports, socketio_path=PATH, namespaces=["/", "/custom"])
    root, custom = sio.get_sid("/"), sio.get_sid("/custom")
    assert {root, custom} <= set(spark_ids(clients, server)), "one spark per namespace"
    settle_transport(sio, expected)
    sio._send_packet(sio.packet_class(socketio.packet.DISCONNECT, namespace="/custom"))
    del sio.namespaces["/custom"]
    wait_until(lambda: (ids := spark_ids(clients, server)) and custom not in ids and root in ids,
               "the /custom spark gone and the / spark still open")
    sio.send("still here")
    assert seen.wait_event("message")[0] == ("still here",)
    assert sio.connected and not seen.disconnects


def test_authorization_takes_the_token_and_refuses_others_at_the_handshake(start_testserver, clients) -> None:  # noqa: ANN001
    """`--authorize-token` is Primus's HTTP authorization (`primus.authorize`): a request without
    the token is refused before any Engine.IO session opens (`401 {"error":"unauthorized"}`), which
    python-socketio reports as a connect error carrying that body. (The CONNECT-time refusal of a
    Socket.IO auth payload is the `{"token":"bad"}` case.)"""
    server = start_primus(start_testserver, "--authorize-token", "s3cret")
    for transports in (["polling"], ["websocket"]):
        refused, refused_seen = clients.sync()
        with pytest.raises(socketio.exceptions.ConnectionError):
            connect(refused, f"{server.http_url}/?token=wrong", transports, socketio_path=PATH)
        assert not refused_seen.connects
        if transports == ["polling"]:
            # The handshake's answer reaches the client (a refused WebSocket upgrade carries no body).
            assert refused_seen.connect_errors == [("/", {"error": "unauthorized"})], refused_seen.connect_errors
        else:
            assert [namespace for namespace, _ in refused_seen.connect_errors] == ["/"], refused_seen.connect_errors
        by_query, query_seen = clients.sync()
        connect(by_query, f"{server.http_url}/?token=s3cret", transports, socketio_path=PATH)
        by_query.send("by query")
        assert query_seen.wait_event("message")[0] == ("by query",)
    # By header: python-engineio sends custom headers with its handshake request only, not with
    # later polls (which the authorization also sees), so on a WebSocket.
    by_header, header_seen = clients.sync()
    connect(by_header, server.http_url, ["websocket"], socketio_path=PATH,
            headers={"Authorization": "Bearer s3cret"})
    by_header.send({"testserver": "info"})
    info = header_seen.wait_event("message")[0][0]
    assert info["id"] == by_header.get_sid("/") and info["headers"]["authorization"] == "Bearer s3cret"
    assert server.alive()


def test_a_refused_auth_payload_and_an_unknown_namespace_under_primus(start_testserver, clients) -> None:  # noqa: ANN001
    server = start_primus(start_testserver)
    sio, seen = clients.sync()
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(sio, server.http_url, ["websocket"], socketio_path=PATH, auth={"token": "bad"})
    assert seen.connect_errors == [("/", {"message": "Not authorized"})]
    other, other_seen = clients.sync()
    with pytest.raises(socketio.exceptions.ConnectionError):
        connect(other, server.http_url, ["polling"], socketio_path=PATH, namespaces=["/missing"])
    assert other_seen.connect_errors == [("/missing", {"message": "Invalid namespace"})]
    assert server.alive()
