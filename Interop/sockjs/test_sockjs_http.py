"""Section 3 of the SockJS protocol checked by hand against ``primus-testserver --transformer sockjs
--raw``: every status code, content type, cache and CORS header, the 2010 close, the response limit,
JSESSIONID, callback validation, HTTP/1.0, bad input, and clients that vanish mid-stream."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
import requests
import websocket

NO_CACHE = "no-store, no-cache, no-transform, must-revalidate, max-age=0"


@pytest.fixture
def server(start_testserver):
    return start_testserver(
        "--transformer", "sockjs", "--raw", "--max-length", "1000",
        "--heartbeat-delay", "25000", "--disconnect-delay", "1000",
    )


def sid() -> str:
    return uuid.uuid4().hex[:8]


def session_url(server, service: str, session: str, transport: str) -> str:
    return f"{server.http_url}/{service}/000/{session}/{transport}"


def raw_request(server, request: bytes, until: bytes | None = None, timeout: float = 5.0) -> bytes:
    """Sends ``request`` on a new socket; reads until ``until`` appears or the server closes."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=timeout) as sock:
        sock.sendall(request)
        data = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            data += chunk
            if until is not None and until in data:
                break
        return data


# ------------------------------------------------------------------ greeting, info, iframe


@pytest.mark.parametrize("path", ["/echo", "/echo/"])
def test_greeting(server, path):
    r = requests.get(server.http_url + path, timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].replace(" ", "").lower() == "text/plain;charset=utf-8"
    assert r.text == "Welcome to SockJS!\n"
    assert "set-cookie" not in r.headers


def test_info_without_origin(server):
    r = requests.get(server.http_url + "/echo/info", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].replace(" ", "").lower() == "application/json;charset=utf-8"
    assert r.headers["cache-control"] == NO_CACHE
    assert r.headers["access-control-allow-origin"] == "*"
    assert "access-control-allow-credentials" not in r.headers
    body = r.json()
    assert body["websocket"] is True
    assert body["cookie_needed"] is False
    assert body["origins"] == ["*:*"]
    assert 0 <= body["entropy"] < 2**32
    assert requests.get(server.http_url + "/echo/info", timeout=5).json()["entropy"] != body["entropy"] or True
    entropies = {requests.get(server.http_url + "/echo/info", timeout=5).json()["entropy"] for _ in range(5)}
    assert len(entropies) > 1


@pytest.mark.parametrize("origin", ["http://example.com", "null"])
def test_info_echoes_the_origin_with_credentials(server, origin):
    r = requests.get(server.http_url + "/echo/info", headers={"Origin": origin}, timeout=5)
    assert r.headers["access-control-allow-origin"] == origin
    assert r.headers["access-control-allow-credentials"] == "true"


def test_info_flags_of_the_other_services(server):
    assert requests.get(server.http_url + "/disabled_websocket_echo/info", timeout=5).json()["websocket"] is False
    r = requests.get(server.http_url + "/cookie_needed_echo/info", timeout=5)
    assert r.json()["cookie_needed"] is True
    assert "set-cookie" not in r.headers


@pytest.mark.parametrize(
    ("path", "methods"),
    [("/echo/info", "OPTIONS, GET"), ("/echo/000/x/xhr", "OPTIONS, POST"), ("/echo/000/x/xhr_send", "OPTIONS, POST"),
     ("/echo/000/x/xhr_streaming", "OPTIONS, POST")],
)
def test_preflights(server, path, methods):
    r = requests.options(server.http_url + path, headers={"Origin": "http://a.example", "Access-Control-Request-Headers": "a, b"}, timeout=5)
    assert r.status_code == 204
    assert r.content == b""
    assert r.headers["cache-control"].startswith("public, max-age=")
    assert int(r.headers["cache-control"].split("=")[1]) >= 1_000_000
    assert int(r.headers["access-control-max-age"]) >= 1_000_000
    assert "expires" in r.headers
    assert r.headers["access-control-allow-methods"] == methods
    assert r.headers["access-control-allow-headers"] == "a, b"
    assert r.headers["access-control-allow-origin"] == "http://a.example"
    bare = requests.options(server.http_url + path, timeout=5)
    assert "access-control-allow-headers" not in bare.headers


@pytest.mark.parametrize("path", ["/echo/iframe.html", "/echo/iframe-a.html", "/echo/iframe-0.1.2.html", "/echo/iframe-a.html?t=1234"])
def test_iframe_page_is_cached_and_revalidated(server, path):
    r = requests.get(server.http_url + path, timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].replace(" ", "").lower() == "text/html;charset=utf-8"
    assert r.headers["cache-control"] == "public, max-age=31536000"
    assert "expires" in r.headers
    assert "last-modified" not in r.headers
    assert "SockJS.bootstrap_iframe()" in r.text
    etag = r.headers["etag"]
    again = requests.get(server.http_url + path, headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304
    assert again.content == b""
    assert "content-type" not in again.headers


@pytest.mark.parametrize("path", ["/echo/iframe.htm", "/echo/IFRAME.HTML", "/echo/iframe-/.html", "/echo/iframe.HTML", "/echo/iframe.xhtml"])
def test_iframe_lookalikes_are_404(server, path):
    assert requests.get(server.http_url + path, timeout=5).status_code == 404


@pytest.mark.parametrize(
    "path",
    ["/echo/a/a.b/xhr", "/echo/a.b/a/xhr", "/echo//a/xhr", "/echo/a//xhr", "/echo/a/b/xhr/", "/echo/a/b/nonsense", "/nowhere/a/b/xhr", "/echo/a/b"],
)
def test_bad_session_urls_are_404(server, path):
    assert requests.post(server.http_url + path, timeout=5).status_code == 404


# ------------------------------------------------------------------ xhr polling and sending


def test_xhr_polling_round_trip(server):
    s = sid()
    r = requests.post(session_url(server, "echo", s, "xhr"), headers={"Origin": "http://o.example"}, timeout=5)
    assert r.status_code == 200
    assert r.text == "o\n"
    assert r.headers["content-type"].replace(" ", "").lower() == "application/javascript;charset=utf-8"
    assert r.headers["cache-control"] == NO_CACHE
    assert r.headers["access-control-allow-origin"] == "http://o.example"
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "expires" not in r.headers and "last-modified" not in r.headers
    sent = requests.post(session_url(server, "echo", s, "xhr_send"), data='["x","\\u2028"]', timeout=5)
    assert sent.status_code == 204
    assert sent.content == b""
    assert sent.headers["content-type"].replace(" ", "").lower() == "text/plain;charset=utf-8"
    r = requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
    assert r.text == 'a["x","\\u2028"]\n'


def test_xhr_send_errors(server):
    s = sid()
    assert requests.post(session_url(server, "echo", s, "xhr_send"), data='["x"]', timeout=5).status_code == 404
    requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
    broken = requests.post(session_url(server, "echo", s, "xhr_send"), data='["x', timeout=5)
    assert broken.status_code == 500
    assert broken.text == "Broken JSON encoding."
    for body in ['{"a":1}', '[1]', '"x"', "nonsense"]:
        r = requests.post(session_url(server, "echo", s, "xhr_send"), data=body, timeout=5)
        assert (r.status_code, r.text) == (500, "Broken JSON encoding."), body
    empty = requests.post(session_url(server, "echo", s, "xhr_send"), data="", timeout=5)
    assert (empty.status_code, empty.text) == (500, "Payload expected.")
    # Nothing reached the session from the bad bodies; a good one still does.
    assert requests.post(session_url(server, "echo", s, "xhr_send"), data='["ok"]', timeout=5).status_code == 204
    assert requests.post(session_url(server, "echo", s, "xhr"), timeout=5).text == 'a["ok"]\n'


def test_xhr_send_accepts_any_content_type_and_empty_arrays(server):
    s = sid()
    requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
    for content_type in ["text/plain", "application/json", "application/xml", "T"]:
        r = requests.post(session_url(server, "echo", s, "xhr_send"), data='["' + content_type + '"]', headers={"Content-Type": content_type}, timeout=5)
        assert r.status_code == 204
    assert requests.post(session_url(server, "echo", s, "xhr_send"), data="[]", timeout=5).status_code == 204
    r = requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
    assert r.text == 'a["text/plain","application/json","application/xml","T"]\n'


def test_oversize_body_is_413_and_the_session_keeps_working(server):
    s = sid()
    requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
    big = json.dumps(["x" * 5000])
    r = requests.post(session_url(server, "echo", s, "xhr_send"), data=big, timeout=5)
    assert r.status_code == 413
    # A new connection: the 413 closed the old one.
    assert requests.post(session_url(server, "echo", s, "xhr_send"), data='["small"]', timeout=5).status_code == 204
    assert requests.post(session_url(server, "echo", s, "xhr"), timeout=5).text == 'a["small"]\n'


def test_second_receiver_gets_2010_and_the_first_keeps_the_session(server):
    s = sid()
    with requests.post(session_url(server, "echo", s, "xhr_streaming"), stream=True, timeout=5) as first:
        lines = first.iter_lines()
        assert next(lines) == b"h" * 2048
        assert next(lines) == b"o"
        second = requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
        assert second.text == 'c[2010,"Another connection still open"]\n'
        requests.post(session_url(server, "echo", s, "xhr_send"), data='["still here"]', timeout=5)
        assert next(lines) == b'a["still here"]'


def test_closed_session_repeats_the_close_frame(server):
    s = sid()
    assert requests.post(session_url(server, "close", s, "xhr"), timeout=5).text == "o\n"
    assert requests.post(session_url(server, "close", s, "xhr"), timeout=5).text == 'c[3000,"Go away!"]\n'
    assert requests.post(session_url(server, "close", s, "xhr"), timeout=5).text == 'c[3000,"Go away!"]\n'


def test_session_expires_after_the_disconnect_delay(server):
    s = sid()
    requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
    assert requests.post(session_url(server, "echo", s, "xhr_send"), data='["a"]', timeout=5).status_code == 204
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if requests.post(session_url(server, "echo", s, "xhr_send"), data='["a"]', timeout=5).status_code == 404:
            break
        time.sleep(0.2)
    else:
        pytest.fail("the session never expired")
    # The same id now opens a fresh session.
    assert requests.post(session_url(server, "echo", s, "xhr"), timeout=5).text == "o\n"


# ------------------------------------------------------------------ streaming transports


def test_xhr_streaming_prelude_frames_and_response_limit(server):
    s = sid()
    with requests.post(session_url(server, "echo", s, "xhr_streaming"), stream=True, timeout=10) as r:
        assert r.headers["content-type"].replace(" ", "").lower() == "application/javascript;charset=utf-8"
        assert r.headers["cache-control"] == NO_CACHE
        lines = r.iter_lines()
        assert next(lines) == b"h" * 2048
        assert next(lines) == b"o"
        # 4096-byte limit: the stream ends once that much went out; it keeps what fits.
        payload = "x" * 1000
        for _ in range(5):
            requests.post(session_url(server, "echo", s, "xhr_send"), data=json.dumps([payload]), timeout=5)
        received = [line for line in lines]
        assert 1 <= len(received) <= 5
        assert all(line == ('a["' + payload + '"]').encode() for line in received)
    # The rest waits for the next receiver.
    if len(received) < 5:
        rest = requests.post(session_url(server, "echo", s, "xhr"), timeout=5).text
        assert len(received) + rest.count(payload) == 5


def test_eventsource(server):
    s = sid()
    with requests.get(session_url(server, "echo", s, "eventsource"), stream=True, timeout=5) as r:
        assert r.status_code == 200
        assert r.headers["content-type"] == "text/event-stream"
        assert r.headers["cache-control"] == NO_CACHE
        raw = r.raw
        assert raw.read(2) == b"\r\n"
        assert raw.read(len(b"data: o\r\n\r\n")) == b"data: o\r\n\r\n"
        requests.post(session_url(server, "echo", s, "xhr_send"), data='["\\u2028"]', timeout=5)
        expected = b'data: a["\\u2028"]\r\n\r\n'
        assert raw.read(len(expected)) == expected


def test_htmlfile(server):
    s = sid()
    with requests.get(session_url(server, "echo", s, "htmlfile") + "?c=%63allback", stream=True, timeout=5) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].replace(" ", "").lower() == "text/html;charset=utf-8"
        assert r.headers["cache-control"] == NO_CACHE
        data = b""
        frame = b'<script>\np("o");\n</script>\r\n'
        deadline = time.monotonic() + 5
        while frame not in data and time.monotonic() < deadline:
            data += r.raw.read1(65536) if hasattr(r.raw, "read1") else r.raw.read(1)
        head, _, _ = data.partition(frame)
        assert len(head) > 1024
        assert b"parent.callback" in head
        assert head.lower().startswith(b"<!doctype html>")


@pytest.mark.parametrize("transport", ["htmlfile", "jsonp"])
@pytest.mark.parametrize(
    ("query", "message"),
    [("", '"callback" parameter required'), ("?c=", '"callback" parameter required'), ("?c=%20", 'invalid "callback" parameter'),
     ("?c=x%3Cscript%3E", 'invalid "callback" parameter'), ("?c=a(b)", 'invalid "callback" parameter'), ("?c=a%22b", 'invalid "callback" parameter')],
)
def test_callback_validation(server, transport, query, message):
    r = requests.get(session_url(server, "echo", sid(), transport) + query, timeout=5)
    assert r.status_code == 500
    assert r.text == message


def test_jsonp_polling_and_jsonp_send(server):
    s = sid()
    r = requests.get(session_url(server, "echo", s, "jsonp") + "?c=my_cb.x-1", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].replace(" ", "").lower() == "application/javascript;charset=utf-8"
    assert r.text == '/**/my_cb.x-1("o");\r\n'
    form = requests.post(session_url(server, "echo", s, "jsonp_send"), data={"d": '["form \\u2028 <x>"]'}, timeout=5)
    assert (form.status_code, form.text) == (200, "ok")
    assert form.headers["content-type"].replace(" ", "").lower() == "text/plain;charset=utf-8"
    body = requests.post(session_url(server, "echo", s, "jsonp_send"), data='["raw"]', headers={"Content-Type": "text/plain"}, timeout=5)
    assert (body.status_code, body.text) == (200, "ok")
    r = requests.get(session_url(server, "echo", s, "jsonp") + "?c=cb", timeout=5)
    # The frame's own escape (\u2028) is escaped again as a JavaScript string.
    assert r.text == '/**/cb("a[\\"form \\\\u2028 <x>\\",\\"raw\\"]");\r\n'
    bad = requests.post(session_url(server, "echo", s, "jsonp_send"), data={"d": '["x'}, timeout=5)
    assert (bad.status_code, bad.text) == (500, "Broken JSON encoding.")
    empty = requests.post(session_url(server, "echo", s, "jsonp_send"), data={"d": ""}, timeout=5)
    assert (empty.status_code, empty.text) == (500, "Payload expected.")


def test_jsessionid_cookie(server):
    s = sid()
    r = requests.post(session_url(server, "cookie_needed_echo", s, "xhr"), timeout=5)
    assert r.headers["set-cookie"] == "JSESSIONID=dummy; path=/"
    r = requests.post(session_url(server, "cookie_needed_echo", s, "xhr_send"), data='["a"]', headers={"Cookie": "JSESSIONID=abcdef"}, timeout=5)
    assert r.headers["set-cookie"] == "JSESSIONID=abcdef; path=/"
    plain = requests.post(session_url(server, "echo", sid(), "xhr"), timeout=5)
    assert "set-cookie" not in plain.headers


def test_heartbeat_frames(start_testserver):
    server = start_testserver("--transformer", "sockjs", "--raw", "--heartbeat-delay", "200")
    with requests.post(session_url(server, "echo", sid(), "xhr_streaming"), stream=True, timeout=10) as r:
        lines = r.iter_lines()
        assert next(lines) == b"h" * 2048
        assert next(lines) == b"o"
        assert next(lines) == b"h"
    # A poll is answered by the heartbeat too.
    s = sid()
    requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
    assert requests.post(session_url(server, "echo", s, "xhr"), timeout=5).text == "h\n"


# ------------------------------------------------------------------ HTTP/1.0 and vanishing clients


def test_http_1_0_polling_and_streaming(server):
    s = sid()
    head = f"POST /echo/000/{s}/xhr HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode()
    reply = raw_request(server, head)
    assert reply.startswith(b"HTTP/1.0 200") or reply.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding" not in reply.lower()
    assert reply.endswith(b"\r\n\r\no\n")
    # A stream over HTTP/1.0 is delimited by the connection's end, not chunked.
    s = sid()
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(f"POST /echo/000/{s}/xhr_streaming HTTP/1.0\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
        data = b""
        while b"\no\n" not in data:
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
        assert b"transfer-encoding" not in data.lower()
        for _ in range(3):
            requests.post(session_url(server, "echo", s, "xhr_send"), data=json.dumps(["y" * 2000]), timeout=5)
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        assert data.count(b'a["' + b"y" * 2000 + b'"]\n') >= 2


def test_http_1_1_streaming_is_chunked_and_keeps_the_connection(server):
    s = sid()
    request = f"POST /echo/000/{s}/xhr_streaming HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode()
    reply = raw_request(server, request, until=b"\no\n")
    assert b"transfer-encoding: chunked" in reply.lower()


def test_client_vanishing_mid_stream_interrupts_the_session(server):
    s = sid()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"POST /echo/000/{s}/xhr_streaming HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
        data = b""
        while b"\no\n" not in data:
            data += sock.recv(65536)
    # The server noticed: the next receiver hears the session was interrupted (or, once it
    # expired, a fresh one opens).
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        text = requests.post(session_url(server, "echo", s, "xhr"), timeout=5).text
        if text in ('c[1002,"Connection interrupted"]\n', "o\n"):
            break
        time.sleep(0.05)
    assert text in ('c[1002,"Connection interrupted"]\n', "o\n")
    assert requests.get(server.http_url + "/echo/info", timeout=5).status_code == 200


def test_client_vanishing_mid_poll_is_noticed(server):
    s = sid()
    requests.post(session_url(server, "echo", s, "xhr"), timeout=5)
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"POST /echo/000/{s}/xhr HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n".encode())
        # The poll is parked once a second receiver is refused with 2010.
        deadline = time.monotonic() + 5
        while requests.post(session_url(server, "echo", s, "xhr"), timeout=5).text != 'c[2010,"Another connection still open"]\n':
            assert time.monotonic() < deadline, "the poll never parked"
            time.sleep(0.02)
    deadline = time.monotonic() + 5
    text = ""
    while time.monotonic() < deadline:
        text = requests.post(session_url(server, "echo", s, "xhr"), timeout=5).text
        if text != 'c[2010,"Another connection still open"]\n':
            break
        time.sleep(0.05)
    assert text in ('c[1002,"Connection interrupted"]\n', "o\n")


# ------------------------------------------------------------------ websocket


def test_websocket_without_upgrade(server):
    r = requests.get(session_url(server, "echo", sid(), "websocket"), timeout=5)
    assert r.status_code == 400
    assert r.text == 'Can "Upgrade" only to "WebSocket".'
    r = requests.post(session_url(server, "echo", sid(), "websocket"), timeout=5)
    assert r.status_code == 405
    assert r.headers["allow"] == "GET"
    assert r.content == b""
    assert "content-type" not in r.headers
    assert requests.get(server.http_url + "/disabled_websocket_echo/000/x/websocket", timeout=5).status_code == 404


def test_websocket_framing(server):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/echo/000/{sid()}/websocket", timeout=5)
    try:
        assert ws.recv() == "o"
        ws.send('["a","b\\u2028"]')
        assert ws.recv() == 'a["a"]'
        assert ws.recv() == 'a["b\\u2028"]'
        ws.send('"bare"')
        assert ws.recv() == 'a["bare"]'
        ws.send("")
        ws.send("[]")
        ws.send('["after empties"]')
        assert ws.recv() == 'a["after empties"]'
        ws.send('["broken')
        with pytest.raises((websocket.WebSocketConnectionClosedException, ConnectionError, OSError)):
            while True:
                assert ws.recv() in ("", None) or True
                if not ws.connected:
                    raise websocket.WebSocketConnectionClosedException()
    finally:
        ws.close()


def test_websocket_close_service(server):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/close/000/{sid()}/websocket", timeout=5)
    assert ws.recv() == "o"
    assert ws.recv() == 'c[3000,"Go away!"]'
    ws.close()


def test_raw_websocket(server):
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/echo/websocket", timeout=5)
    ws.send("no framing \u2028")
    assert ws.recv() == "no framing \u2028"
    ws.close()
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/close/websocket", timeout=5)
    opcode, frame = ws.recv_data_frame(True)
    assert opcode == websocket.ABNF.OPCODE_CLOSE
    assert int.from_bytes(frame.data[:2], "big") == 3000
    ws.close()
