"""Primus mounted on Hummingbird 2 (Examples/HummingbirdChat), over the websockets transformer,
with websocket-client as the peer: everything goes through Hummingbird's own listener, router
and WebSocket upgrade.

The example is the demo chat: every spark starts in ``#general`` and what it writes goes to the
room, itself included (alone, an echo). Its own middleware adds ``x-example: HummingbirdChat``
to every answer, the ``101`` included, which shows it ran before Primus's.
"""

from __future__ import annotations

import json
import socket
import time

import pytest
import requests
import websocket

from primus_support import Closed, PrimusClient

EXAMPLE = "HummingbirdChat"
HEADER = ("x-example", "HummingbirdChat")


def test_echo_alone_in_general(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE)
    with PrimusClient(server.ws_url()) as client:
        client.write("hello € 😀")
        assert client.recv() == "hello € 😀"
        client.write({"name": "ada", "text": "an object"})
        assert client.recv() == {"name": "ada", "text": "an object"}


def test_broadcast_reaches_both_clients(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE)
    with PrimusClient(server.ws_url()) as first, PrimusClient(server.ws_url()) as second:
        # Each proves its own spark is in the room before the broadcast.
        first.write("first here")
        assert first.recv() == "first here"
        assert second.recv() == "first here"
        second.write("second here")
        assert second.recv() == "second here"
        assert first.recv() == "second here"


def test_app_middleware_runs_before_primus_on_upgrade_and_plain_requests(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE)
    with PrimusClient(server.ws_url()) as client:
        assert client.ws.getheaders().get(HEADER[0]) == HEADER[1], client.ws.getheaders()
        client.write("ping")
        assert client.recv() == "ping"
    spec = requests.get(f"{server.http_url}/primus/spec", timeout=10)
    assert spec.status_code == 200
    assert spec.headers.get(HEADER[0]) == HEADER[1]
    assert spec.json()["transformer"] == "websockets"
    library = requests.get(f"{server.http_url}/primus/primus.js", timeout=10)
    assert library.status_code == 200
    assert library.headers.get(HEADER[0]) == HEADER[1]
    assert "javascript" in library.headers.get("content-type", "")
    assert "Primus" in library.text and len(library.text) > 1000
    page = requests.get(f"{server.http_url}/", timeout=10)
    assert page.status_code == 200 and "/primus/primus.js" in page.text
    # A plain request to the websockets transformer's pathname: Primus answers, not Hummingbird.
    plain = requests.get(f"{server.http_url}/primus", timeout=10)
    assert plain.status_code == 426
    assert plain.headers.get(HEADER[0]) == HEADER[1]


def test_cors_headers_on_a_cross_origin_request(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--cors-origin", "http://app.example")
    spec = requests.get(f"{server.http_url}/primus/spec", headers={"Origin": "http://app.example"}, timeout=10)
    assert spec.status_code == 200
    assert spec.headers.get("access-control-allow-origin") == "http://app.example"
    assert spec.headers.get("access-control-allow-credentials") == "true"
    preflight = requests.options(
        f"{server.http_url}/primus/spec",
        headers={"Origin": "http://app.example", "Access-Control-Request-Method": "GET"},
        timeout=10,
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers.get("access-control-allow-origin") == "http://app.example"
    assert "GET" in preflight.headers.get("access-control-allow-methods", "")
    assert preflight.headers.get(HEADER[0]) == HEADER[1]
    other = requests.get(f"{server.http_url}/primus/spec", headers={"Origin": "http://elsewhere.example"}, timeout=10)
    assert other.status_code == 403


@pytest.mark.parametrize("query", ["", "?token=wrong"], ids=["no-token", "wrong-token"])
def test_authorization_refused_gets_401_and_no_spark(start_example, query: str) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--token", "s3cret")
    with PrimusClient(server.ws_url("/primus?token=s3cret")) as admitted:
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(server.ws_url("/primus" + query), timeout=10)
        assert refused.value.status_code == 401
        assert "bearer" in str(refused.value.resp_headers.get("www-authenticate", "")).lower()
        # No spark was made for the refused client: the room still holds the admitted one only,
        # whose message comes back once.
        admitted.write("still alone")
        assert admitted.recv() == "still alone"
        admitted.expect_silence(0.5)
    plain = requests.get(f"{server.http_url}/primus/?transport=polling{query.replace('?', '&')}", timeout=10)
    assert plain.status_code == 401
    assert plain.headers.get(HEADER[0]) == HEADER[1]


def test_authorization_admitted_with_the_token(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--token", "s3cret")
    with PrimusClient(server.ws_url("/primus?token=s3cret")) as client:
        client.write("admitted")
        assert client.recv() == "admitted"


def test_heartbeats_keep_an_answering_client_open(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--ping-interval", "300")
    with PrimusClient(server.ws_url()) as client:
        deadline = time.monotonic() + 20
        while len(client.pings) < 5:
            assert time.monotonic() < deadline, f"only {len(client.pings)} pings"
            try:
                client.recv_text(1.0)  # answers pings as they come; no data is expected
                raise AssertionError("unexpected data message")
            except TimeoutError:
                pass
        assert all(p.isdigit() for p in client.pings), client.pings
        # Five intervals later, the spark is still there.
        client.write("still open")
        assert client.recv() == "still open"


def test_a_silent_client_is_ended_by_the_heartbeat(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--ping-interval", "300")
    client = PrimusClient(server.ws_url(), answer_pings=False)
    try:
        closed, _ = client.wait_closed(20)
        assert isinstance(closed, Closed)
        assert client.pings, "closed without a ping first"
    finally:
        client.close()


def test_a_message_over_the_limit_closes_with_1009_and_the_server_stays_up(start_example) -> None:  # noqa: ANN001
    server = start_example(EXAMPLE, "--max-length", "1000")
    # One frame over the limit.
    with PrimusClient(server.ws_url()) as client:
        client.write("x" * 2000)
        closed = client.expect_close(10)
        assert closed.code == 1009, closed
    # A message in fragments, each small, together over the limit.
    with PrimusClient(server.ws_url()) as client:
        payload = json.dumps("y" * 1500)
        client.ws.send_frame(websocket.ABNF.create_frame(payload[:600], websocket.ABNF.OPCODE_TEXT, fin=0))
        client.ws.send_frame(websocket.ABNF.create_frame(payload[600:1200], websocket.ABNF.OPCODE_CONT, fin=0))
        client.ws.send_frame(websocket.ABNF.create_frame(payload[1200:], websocket.ABNF.OPCODE_CONT, fin=1))
        closed = client.expect_close(10)
        assert closed.code == 1009, closed
    # Fragments under the limit make one message; the server is still serving.
    with PrimusClient(server.ws_url()) as client:
        payload = json.dumps("z" * 500)
        client.ws.send_frame(websocket.ABNF.create_frame(payload[:200], websocket.ABNF.OPCODE_TEXT, fin=0))
        client.ws.send_frame(websocket.ABNF.create_frame(payload[200:], websocket.ABNF.OPCODE_CONT, fin=1))
        assert client.recv() == "z" * 500
    assert server.alive()


def test_a_body_over_the_limit_gets_413_and_the_connection_closes(start_example) -> None:  # noqa: ANN001
    """Primus refuses a declared body over its limit at once, and the connection closes: the
    rest of the body is never read (the client sent only the head)."""
    server = start_example(EXAMPLE)
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            b"POST /primus/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            b"Content-Length: 5000000\r\n\r\n"
        )
        received = b""
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                break
            received += chunk
        else:
            raise AssertionError(f"connection still open after 10 s: {received[:200]!r}")
    head = received.split(b"\r\n\r\n", 1)[0].decode().lower()
    assert head.startswith("http/1.1 413"), head
    assert "connection: close" in head and "x-example: hummingbirdchat" in head, head
    with PrimusClient(server.ws_url()) as client:
        client.write("still serving")
        assert client.recv() == "still serving"
