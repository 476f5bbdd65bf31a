"""PrimusVapor: the demo chat mounted on a Vapor 4 application (``Examples/VaporChat``), through
Vapor's own HTTP server, against python websocket-client and plain HTTP requests.

Alone in ``#general`` a chat message comes back to its sender (an echo); two clients in the room
both get each other's messages. The example's own Vapor middleware marks every answer it wraps
with ``x-example: VaporChat`` — the page, Primus's plain answers, its refusals and the ``101`` of
an upgrade — which shows Vapor's middleware ran around Primus's.
"""

from __future__ import annotations

import socket
import time

import pytest
import requests
import websocket

from primus_support import Closed, PrimusClient, ServerProcess

EXAMPLE = "VaporChat"


def _recv_until(client: PrimusClient, wanted: object, skippable: list[object]) -> None:
    """Receive until ``wanted``; only messages in ``skippable`` may come before it."""
    for _ in range(len(skippable) + 1):
        got = client.recv()
        if got == wanted:
            return
        assert got in skippable, f"expected {wanted!r}, got {got!r}"
    raise AssertionError(f"{wanted!r} never arrived")


def _echo(server: ServerProcess, query: str = "") -> dict[str, str]:
    """Connects, checks the echo, and returns the 101's headers."""
    with PrimusClient(server.ws_url("/primus" + query)) as client:
        headers = {k.lower(): v for k, v in client.ws.getheaders().items()}
        client.write({"text": "hello € 😀", "name": "py"})
        assert client.recv() == {"text": "hello € 😀", "name": "py"}
        return headers


def test_page_library_and_spec_through_vapor(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--ping-interval", "2500")
    page = requests.get(f"{server.http_url}/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].split(";")[0].strip() == "text/html"
    assert "/primus/primus.js" in page.text
    assert page.headers["x-example"] == EXAMPLE

    spec = requests.get(f"{server.http_url}/primus/spec", timeout=10)
    assert spec.status_code == 200
    assert spec.json()["pathname"] == "/primus"
    assert spec.json()["pingInterval"] == 2500
    assert spec.headers["x-example"] == EXAMPLE

    library = requests.get(f"{server.http_url}/primus/primus.js", timeout=10)
    assert library.status_code == 200
    assert "javascript" in library.headers["content-type"]
    assert "Primus" in library.text and len(library.text) > 10_000
    assert library.headers["x-example"] == EXAMPLE

    # HEAD is answered by Vapor from the GET route, without the body.
    head = requests.head(f"{server.http_url}/primus/spec", timeout=10)
    assert head.status_code == 200 and head.content == b""

    # A plain request the websockets transformer does not serve: Primus answers, not Vapor.
    plain = requests.get(f"{server.http_url}/primus", timeout=10)
    assert plain.status_code == 426
    assert plain.headers["x-example"] == EXAMPLE


def test_echo_alone_in_general_and_middleware_on_the_101(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE)
    headers = _echo(server)
    assert headers["x-example"] == EXAMPLE, headers
    assert headers["upgrade"].lower() == "websocket"


def test_broadcast_reaches_two_clients(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE)
    with PrimusClient(server.ws_url()) as a, PrimusClient(server.ws_url()) as b:
        # Each spark is in the room once its own hello came back to it.
        hellos: list[object] = [{"hello": "a"}, {"hello": "b"}]
        a.write(hellos[0])
        _recv_until(a, hellos[0], [])
        b.write(hellos[1])
        _recv_until(b, hellos[1], [hellos[0]])
        a.write("from a")
        _recv_until(b, "from a", [hellos[0]])
        _recv_until(a, "from a", [hellos[1]])
        # Rooms are Primus's: b moves to #other, and a's next message no longer reaches it.
        b.write("/join other")
        _recv_until(b, "* you are in #other", ["from a"])
        a.write("only a")
        # b's hello and a's own message come from different sparks: either may reach a first.
        _recv_until(a, "only a", [hellos[1]])
        b.expect_silence(0.5)


def test_authorization_refused_then_admitted(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--token", "s3cret")
    for query in ("", "?token=wrong"):
        with pytest.raises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(server.ws_url("/primus" + query), timeout=10)
        assert refused.value.status_code == 401
        headers = {k.lower(): v for k, v in (refused.value.resp_headers or {}).items()}
        assert headers.get("x-example") == EXAMPLE, headers
        assert "bearer" in headers.get("www-authenticate", "").lower(), headers
    # Plain requests go through the same authorization.
    assert requests.get(f"{server.http_url}/primus", timeout=10).status_code == 401
    # A refused upgrade closes its connection, as Primus answers it (Vapor would keep it).
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
        raw.sendall(
            b"GET /primus HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        answer = b""
        while chunk := raw.recv(4096):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    headers = _echo(server, "?token=s3cret")
    assert headers["x-example"] == EXAMPLE


def test_cors_on_a_cross_origin_request(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--cors-origin", "http://allowed.test")
    allowed = requests.get(f"{server.http_url}/primus/spec", headers={"Origin": "http://allowed.test"}, timeout=10)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://allowed.test"
    assert allowed.headers["x-example"] == EXAMPLE
    preflight = requests.options(
        f"{server.http_url}/primus/spec",
        headers={"Origin": "http://allowed.test", "Access-Control-Request-Method": "POST"},
        timeout=10,
    )
    assert preflight.status_code in (200, 204)
    assert preflight.headers["access-control-allow-origin"] == "http://allowed.test"
    assert "POST" in preflight.headers["access-control-allow-methods"]
    other = requests.get(f"{server.http_url}/primus/spec", headers={"Origin": "http://other.test"}, timeout=10)
    assert other.headers.get("access-control-allow-origin") != "http://other.test"


def test_heartbeats_keep_an_answering_spark_open(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--ping-interval", "300")
    with PrimusClient(server.ws_url()) as client:
        # Several intervals: a spark that did not answer would have been ended after one.
        deadline = time.monotonic() + 15
        while len(client.pings) < 4:
            assert time.monotonic() < deadline, f"only {len(client.pings)} pings within 15 s"
            client.expect_silence(0.3)
        client.write("still here")
        assert client.recv() == "still here"


def test_heartbeats_end_a_silent_spark(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--ping-interval", "300")
    client = PrimusClient(server.ws_url(), answer_pings=False)
    try:
        closed, _ = client.wait_closed(15)
        assert client.pings, "closed before any ping"
        assert isinstance(closed, Closed)
    finally:
        client.close()


def test_message_over_the_limit_closes_with_1009_and_the_server_stays(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE, "--max-length", "4096")
    with PrimusClient(server.ws_url()) as client:
        client.write("x" * 1000)
        assert client.recv() == "x" * 1000
        client.write("y" * 8000)
        assert client.expect_close(10).code == 1009
    # The limit counts whole messages: fragments that add up past it close the same way.
    with PrimusClient(server.ws_url()) as client:
        client.ws.send_frame(websocket.ABNF(fin=0, opcode=websocket.ABNF.OPCODE_TEXT, data='"' + "z" * 3000))
        client.ws.send_frame(websocket.ABNF(fin=1, opcode=websocket.ABNF.OPCODE_CONT, data="z" * 3000 + '"'))
        assert client.expect_close(10).code == 1009
    assert server.alive()
    _echo(server)


def test_malformed_upgrades_get_an_answer_and_the_server_stays(start_example) -> None:  # noqa: ANN001
    server: ServerProcess = start_example(EXAMPLE)
    for extra in ("", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n"):
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as raw:
            raw.sendall(
                (
                    "GET /primus HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + extra
                    + "\r\n"
                ).encode()
            )
            answer = b""
            while b"\r\n\r\n" not in answer:
                chunk = raw.recv(4096)
                if not chunk:
                    break
                answer += chunk
        assert answer.startswith(b"HTTP/1.1 400"), answer[:200]
    _echo(server)


def test_permessage_deflate_is_agreed_through_vapor(start_example) -> None:  # noqa: ANN001
    from websockets.sync.client import connect

    server: ServerProcess = start_example(EXAMPLE, "--compression")
    with connect(server.ws_url(), open_timeout=10) as ws:
        extensions = ws.response.headers.get("sec-websocket-extensions", "")
        assert "permessage-deflate" in extensions, extensions
        assert ws.response.headers.get("x-example") == EXAMPLE
        text = '"' + "compressible " * 500 + '"'
        ws.send(text)
        assert ws.recv(timeout=10) == text
