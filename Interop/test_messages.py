"""Primus over a plain WebSocket: data messages, spark id, query, headers, address.

The client is websocket-client speaking the Primus JSON protocol by hand
(reference: primus-v8.md §3.1): one WebSocket text frame per message, JSON-encoded.
"""

from __future__ import annotations

import json

import pytest
import websocket

from primus_support import PrimusClient, ServerProcess

ECHO_VALUES = [
    pytest.param({"foo": "bar"}, id="object"),
    pytest.param({"nested": {"a": [1, {"b": None}], "c": "d"}}, id="nested-object"),
    pytest.param([1, "two", 3.5, None, True], id="array"),
    pytest.param([], id="empty-array"),
    pytest.param({}, id="empty-object"),
    pytest.param("hello", id="string"),
    pytest.param("", id="empty-string"),
    pytest.param("pongРУССКИЙ", id="utf8-cyrillic"),
    pytest.param("€€€", id="utf8-euro"),
    pytest.param("🚀 astral plane", id="utf8-astral"),
    pytest.param('quotes " and \\ backslash\nnewline', id="string-escapes"),
    pytest.param(0, id="zero"),
    pytest.param(42, id="integer"),
    pytest.param(-7, id="negative"),
    pytest.param(3.25, id="float"),
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param(None, id="null"),
]


@pytest.mark.parametrize("value", ECHO_VALUES)
def test_echo_json_value(testserver: ServerProcess, value: object) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        client.write(value)
        reply = client.recv()
        assert reply == value
        assert type(reply) is type(value)


def test_echo_is_one_text_frame_of_json(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        client.write({"k": "€"})
        text = client.recv_text()
        assert json.loads(text) == {"k": "€"}


def test_echo_large_message(testserver: ServerProcess) -> None:
    """1 MiB is far below the default maxLength (10 MiB)."""
    value = "x" * (1 << 20)
    with PrimusClient(testserver.ws_url(), timeout=15) as client:
        client.write(value)
        assert client.recv(timeout=15) == value


def test_binary_frame_reaches_the_spark_as_bytes_and_is_echoed_as_binary(testserver: ServerProcess) -> None:
    """Issue 11: Primus's json decoder passes non-strings through, so a binary frame is bytes
    for the spark, and writing those bytes back sends a binary frame."""
    payload = bytes(range(256)) + b"\xff\xfe not UTF-8"
    with PrimusClient(testserver.ws_url()) as client:
        client.ws.send(payload, websocket.ABNF.OPCODE_BINARY)
        opcode, echoed = client.recv_frame()
        assert opcode == websocket.ABNF.OPCODE_BINARY
        assert echoed == payload
        # The connection still speaks JSON afterwards.
        client.write({"after": "binary"})
        assert client.recv() == {"after": "binary"}


def test_object_key_order_survives_the_echo_byte_for_byte(testserver: ServerProcess) -> None:
    """Issue 11: JavaScript keeps insertion order; an echoed object with 20 keys comes back
    byte-identical."""
    text = json.dumps({f"key{(index * 7) % 20}": [index, {"z": 1, "a": 2}] for index in range(20)}, separators=(",", ":"))
    with PrimusClient(testserver.ws_url()) as client:
        for _ in range(3):
            client.send_raw_text(text)
            assert client.recv_text() == text


def test_hundred_messages_in_order(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        for i in range(100):
            client.write({"seq": i})
        received = [client.recv() for _ in range(100)]
        assert received == [{"seq": i} for i in range(100)]


def test_query_string_reaches_the_spark(testserver: ServerProcess) -> None:
    """Checklist 42 and 74: the spark reads the query string."""
    url = testserver.ws_url("/primus?foo=bar&name=%C3%A9t%C3%A9&_primuscb=OqAbCdE")
    with PrimusClient(url) as client:
        info = client.info()
        query = info["query"]
        assert query.get("foo") == "bar"
        assert query.get("name") == "été"
        assert query.get("_primuscb") == "OqAbCdE"


def test_headers_reach_the_spark_lowercased(testserver: ServerProcess) -> None:
    """Checklist 74: the spark has the handshake headers."""
    with PrimusClient(testserver.ws_url(), headers={"X-Custom-Thing": "Value-1"}) as client:
        headers = client.info()["headers"]
        assert headers.get("x-custom-thing") == "Value-1"
        assert "host" in headers
        assert all(name == name.lower() for name in headers)


def test_id_request_is_answered_with_the_spark_id(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        client.write("primus::id::")
        reply = client.recv()
        assert isinstance(reply, str) and reply.startswith("primus::id::"), reply
        spark_id = reply[len("primus::id::"):]
        assert spark_id
        assert client.info()["id"] == spark_id


def test_spark_ids_are_distinct(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as a, PrimusClient(testserver.ws_url()) as b:
        assert a.info()["id"] != b.info()["id"]


def test_address_without_proxy_headers(testserver: ServerProcess) -> None:
    """Checklist 76: the spark's address is the client's."""
    with PrimusClient(testserver.ws_url()) as client:
        address = client.info()["address"]
        assert address == {"ip": "127.0.0.1", "port": client.local_port(), "secure": False}


def test_address_honours_x_forwarded_for(testserver: ServerProcess) -> None:
    """Checklist 77: x-forwarded-for gives the first address."""
    headers = {"X-Forwarded-For": "13.3.37.1,12.12.12.12", "X-Forwarded-Port": "9083,1334"}
    with PrimusClient(testserver.ws_url(), headers=headers) as client:
        address = client.info()["address"]
        assert address["ip"] == "13.3.37.1"
        assert address["port"] == 9083
        assert address["secure"] is False


def test_end_sends_server_close_then_closes(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        client.write({"testserver": "end"})
        assert client.recv() == "primus::server::close"
        client.expect_close()


def test_end_with_data_zero(testserver: ServerProcess) -> None:
    """Checklist 70: spark.end(0) delivers 0 before closing."""
    with PrimusClient(testserver.ws_url()) as client:
        client.write({"testserver": "end", "data": 0})
        assert client.recv() == 0
        assert client.recv() == "primus::server::close"
        client.expect_close()


def test_end_with_object_data(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        client.write({"testserver": "end", "data": {"bye": "€"}})
        assert client.recv() == {"bye": "€"}
        assert client.recv() == "primus::server::close"
        client.expect_close()


def test_end_reconnect_closes_without_server_close(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as client:
        client.write({"testserver": "end-reconnect"})
        closed, seen = client.wait_closed(timeout=5)
        assert seen == [], f"expected a bare close, got messages {seen!r} first ({closed})"


def test_broadcast_reaches_every_spark(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as a, PrimusClient(testserver.ws_url()) as b:
        # Both sparks exist on the server once each answered a request.
        a.info()
        b.info()
        a.write({"testserver": "broadcast", "data": {"news": "pongРУССКИЙ"}})
        assert a.recv() == {"news": "pongРУССКИЙ"}
        assert b.recv() == {"news": "pongРУССКИЙ"}


def test_broadcast_reaches_a_spark_right_after_its_handshake(testserver: ServerProcess) -> None:
    """Once the client saw the 101 response, its spark must already be connected.

    As in Primus on Node, where the spark joins `primus.connections` in the same tick as
    the upgrade response is written: a broadcast issued by another spark after the new
    client's handshake completed must reach the new client. Repeated, since a late
    registration shows up as an occasional miss.
    """
    with PrimusClient(testserver.ws_url()) as a:
        a.info()
        missed = []
        for i in range(100):
            with PrimusClient(testserver.ws_url()) as b:
                a.write({"testserver": "broadcast", "data": i})
                assert a.recv() == i
                try:
                    got = b.recv(timeout=2)
                except TimeoutError:
                    missed.append(i)
                    continue
                assert got == i
        assert not missed, f"{len(missed)} of 100 fresh sparks missed a broadcast sent right after their handshake"


def test_broadcast_of_zero(testserver: ServerProcess) -> None:
    with PrimusClient(testserver.ws_url()) as a, PrimusClient(testserver.ws_url()) as b:
        a.info()
        b.info()
        b.write({"testserver": "broadcast", "data": 0})
        assert a.recv() == 0
        assert b.recv() == 0


def test_unknown_primus_message_is_data(testserver: ServerProcess) -> None:
    """Unknown `primus::` types fall through as normal data (§3.1), so they echo."""
    with PrimusClient(testserver.ws_url()) as client:
        client.write("primus::unknown::thing")
        assert client.recv() == "primus::unknown::thing"


def test_spark_end_closes_with_no_status_code_as_primus_does(testserver: ServerProcess) -> None:
    """Issue 11: the official server ends a spark with a close frame without a status code
    (clients report 1005); ours matches it."""
    with PrimusClient(testserver.ws_url()) as client:
        client.write({"testserver": "end", "data": "bye"})
        assert client.recv() == "bye"
        assert client.recv() == "primus::server::close"
        closed = client.expect_close()
        assert closed.frame, "a close frame, not a dropped connection"
        assert closed.code is None, f"expected no status code, got {closed.code}"
