"""Primus 8's middleware over real sockets: ``primus-testserver --authorize-token`` and
``--cors-origin`` against python websocket-client, requests, and raw HTTP.

The answers are Primus's (``../shared/reference/primus-v8.md`` section 4): a refusal is ``401``
with ``{"error":"unauthorized"}`` and ``WWW-Authenticate: Bearer``, also as the raw answer to a
WebSocket upgrade (with ``Connection: close``); CORS refusals are ``403`` text with Primus's body;
preflights are answered before authorization.
"""

from __future__ import annotations

import json
import socket

import pytest
import requests
import websocket  # websocket-client

from primus_support import ServerProcess

TIMEOUT = 5
TOKEN = "s3cret"
UNAUTHORIZED = b'{"error":"unauthorized"}'


def raw_exchange(server: ServerProcess, request: str, timeout: float = TIMEOUT) -> tuple[str, dict[str, str], bytes, bool]:
    """Sends ``request`` as is and reads the answer: status line, headers (lower-case names),
    body (by Content-Length), and whether the server then closed the connection."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request.encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, f"connection closed before the head: {data!r}"
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(body) < length:
            chunk = sock.recv(65536)
            assert chunk, "connection closed inside the body"
            body += chunk
        # After the answer the server either closes (recv returns b"") or keeps the connection
        # open (recv times out).
        sock.settimeout(1.0)
        try:
            closed = sock.recv(1) == b""
        except socket.timeout:
            closed = False
        return lines[0], headers, body, closed


def upgrade_request(path: str, extra: str = "") -> str:
    return (
        f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        f"{extra}\r\n"
    )


# ----------------------------------------------------------------------------- authorization


def test_plain_request_without_token_is_401(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--authorize-token", TOKEN)
    r = requests.get(f"{server.http_url}/primus", timeout=TIMEOUT)
    assert r.status_code == 401
    assert r.headers["content-type"] == "application/json"
    assert r.headers["www-authenticate"] == "Bearer"
    assert r.headers["content-length"] == str(len(UNAUTHORIZED))
    assert r.content == UNAUTHORIZED
    # The HTTP layers ran first: the refusal is not cacheable.
    assert r.headers["cache-control"] == "no-store, no-cache, must-revalidate, max-age=0"
    assert r.headers["pragma"] == "no-cache"


def test_plain_request_with_token_reaches_the_transformer(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--authorize-token", TOKEN)
    r = requests.get(f"{server.http_url}/primus?token={TOKEN}", timeout=TIMEOUT)
    assert r.status_code == 426  # websockets answers plain requests with Upgrade Required
    r = requests.get(f"{server.http_url}/primus", headers={"Authorization": f"Bearer {TOKEN}"}, timeout=TIMEOUT)
    assert r.status_code == 426
    r = requests.get(f"{server.http_url}/primus?token=wrong", timeout=TIMEOUT)
    assert r.status_code == 401


def test_spec_and_library_are_served_without_token(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--authorize-token", TOKEN)
    assert requests.get(f"{server.http_url}/primus/spec", timeout=TIMEOUT).status_code == 200
    library = requests.get(f"{server.http_url}/primus/primus.js", timeout=TIMEOUT)
    assert library.status_code == 200


def test_library_is_compiled_with_authorization(start_testserver) -> None:  # noqa: ANN001
    # With a hook the client must not treat a refusal as a timeout to retry.
    server: ServerProcess = start_testserver("--authorize-token", TOKEN)
    library = requests.get(f"{server.http_url}/primus/primus.js", timeout=TIMEOUT).text
    assert "authorization: true" in library
    plain: ServerProcess = start_testserver()
    assert "authorization: false" in requests.get(f"{plain.http_url}/primus/primus.js", timeout=TIMEOUT).text


def test_websocket_upgrade_without_token_sees_401_and_body(start_testserver) -> None:  # noqa: ANN001
    """Checklist 34: a refused upgrade: 401, WWW-Authenticate and the JSON body."""
    server: ServerProcess = start_testserver("--authorize-token", TOKEN)
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(server.ws_url("/primus"), timeout=TIMEOUT)
    assert refused.value.status_code == 401
    headers = refused.value.resp_headers
    assert headers["content-type"] == "application/json"
    assert headers["www-authenticate"] == "Bearer"
    assert headers["connection"].lower() == "close"
    assert refused.value.resp_body == UNAUTHORIZED


def test_websocket_upgrade_refusal_is_a_raw_answer_then_close(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--authorize-token", TOKEN)
    status, headers, body, closed = raw_exchange(server, upgrade_request("/primus?token=nope"))
    assert status == "HTTP/1.1 401 Unauthorized"
    assert headers["connection"].lower() == "close"
    assert headers["content-type"] == "application/json"
    assert headers["www-authenticate"] == "Bearer"
    assert body == UNAUTHORIZED
    assert closed


def test_websocket_upgrade_refusal_bytes_are_primus_raw_answer(start_testserver) -> None:  # noqa: ANN001
    # Primus writes this answer itself on the socket (middleware/authorization.js), so every byte
    # is its: the status line, then Connection, Content-Type, Content-Length, WWW-Authenticate.
    server: ServerProcess = start_testserver("--authorize-token", TOKEN)
    with socket.create_connection(("127.0.0.1", server.port), timeout=TIMEOUT) as sock:
        sock.sendall(upgrade_request("/primus").encode())
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    assert data == (
        b"HTTP/1.1 401 Unauthorized\r\nConnection: close\r\nContent-Type: application/json\r\n"
        b"Content-Length: 24\r\nWWW-Authenticate: Bearer\r\n\r\n" + UNAUTHORIZED
    )


@pytest.mark.parametrize("how", ["query", "header"])
def test_websocket_with_token_connects_and_echoes(start_testserver, how: str) -> None:  # noqa: ANN001
    """Checklist 35: an accepted upgrade connects and echoes."""
    server: ServerProcess = start_testserver("--authorize-token", TOKEN)
    if how == "query":
        ws = websocket.create_connection(server.ws_url(f"/primus?token={TOKEN}"), timeout=TIMEOUT)
    else:
        ws = websocket.create_connection(server.ws_url("/primus"), timeout=TIMEOUT,
                                         header=[f"Authorization: Bearer {TOKEN}"])
    try:
        ws.send(json.dumps({"hello": how}))
        while True:
            frame = json.loads(ws.recv())
            if isinstance(frame, str) and frame.startswith("primus::"):
                continue  # a ping
            assert frame == {"hello": how}
            break
    finally:
        ws.close()


def test_engineio_polling_requests_are_each_authorized(start_testserver) -> None:  # noqa: ANN001
    """Checklist 31 and 35 over engine.io: every polling request is authorized."""
    server: ServerProcess = start_testserver("--transformer", "engine.io", "--authorize-token", TOKEN)
    base = f"{server.http_url}/primus/"
    refused = requests.get(base, params={"EIO": "4", "transport": "polling"}, timeout=TIMEOUT)
    assert refused.status_code == 401
    assert refused.content == UNAUTHORIZED
    assert refused.headers["www-authenticate"] == "Bearer"

    with requests.Session() as session:
        handshake = session.get(base, params={"EIO": "4", "transport": "polling", "token": TOKEN}, timeout=TIMEOUT)
        assert handshake.status_code == 200
        assert handshake.text.startswith("0{")
        sid = json.loads(handshake.text[1:])["sid"]

        # The session is open, yet a poll of it without the token is refused…
        poll = session.get(base, params={"EIO": "4", "transport": "polling", "sid": sid}, timeout=TIMEOUT)
        assert poll.status_code == 401
        assert poll.content == UNAUTHORIZED
        post = session.post(base, params={"EIO": "4", "transport": "polling", "sid": sid}, data="4hello", timeout=TIMEOUT)
        assert post.status_code == 401

        # …and with the token (here as a Bearer header) it goes through.
        bearer = {"Authorization": f"Bearer {TOKEN}"}
        post = session.post(base, params={"EIO": "4", "transport": "polling", "sid": sid}, data='4"hello"',
                            headers=bearer, timeout=TIMEOUT)
        assert post.status_code == 200
        assert post.text == "ok"
        poll = session.get(base, params={"EIO": "4", "transport": "polling", "sid": sid}, headers=bearer, timeout=TIMEOUT)
        assert poll.status_code == 200
        assert '4"hello"' in poll.text


# ----------------------------------------------------------------------------- CORS


def test_cors_refusal_is_403_with_primus_body(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--cors-origin", "https://a.example", "--cors-origin", "https://b.example")
    r = requests.get(f"{server.http_url}/primus/spec", headers={"Origin": "https://evil.example"}, timeout=TIMEOUT)
    assert r.status_code == 403
    assert r.headers["content-type"] == "text/plain"
    assert r.text == "Invalid HTTP Access Control (CORS) request:\n  Origin: https://evil.example\n  Method: GET"

    allowed = requests.get(f"{server.http_url}/primus/spec", headers={"Origin": "https://b.example"}, timeout=TIMEOUT)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://b.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["vary"] == "Origin"


def test_cors_preflight_answer(start_testserver) -> None:  # noqa: ANN001
    # Preflights carry no credentials, so they are answered before authorization.
    server: ServerProcess = start_testserver("--cors-origin", "https://a.example", "--authorize-token", TOKEN)
    r = requests.options(
        f"{server.http_url}/primus/",
        headers={
            "Origin": "https://a.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
        },
        timeout=TIMEOUT,
    )
    assert r.status_code == 200
    assert r.content == b""
    assert r.headers["content-length"] == "0"
    assert r.headers["access-control-allow-origin"] == "https://a.example"
    assert r.headers["vary"] == "Origin"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert r.headers["access-control-max-age"] == "2592000"
    assert r.headers["access-control-allow-methods"] == "GET, HEAD, PUT, POST, DELETE, OPTIONS"
    assert r.headers["access-control-allow-headers"] == "authorization, content-type"


def test_cors_does_not_check_upgrades(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--cors-origin", "https://a.example")
    ws = websocket.create_connection(server.ws_url("/primus"), timeout=TIMEOUT, origin="https://evil.example")
    ws.close()
