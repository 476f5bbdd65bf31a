"""The Primus layer over SockJS, unchanged: heartbeats, broadcast, authorization and middleware
work as on websockets (``primus-testserver --transformer sockjs``). Clients speak SockJS by hand:
websocket-client on the ``websocket`` transport, requests on ``xhr``/``xhr_send``."""

from __future__ import annotations

import json
import time
import uuid

import pytest
import requests
import websocket


def sid() -> str:
    return uuid.uuid4().hex[:8]


class SockJSWebSocket:
    """A SockJS session on the websocket transport carrying Primus JSON messages."""

    def __init__(self, server, query: str = "", timeout: float = 5.0):
        url = f"ws://127.0.0.1:{server.port}/primus/000/{sid()}/websocket{query}"
        self.ws = websocket.create_connection(url, timeout=timeout)
        assert self.ws.recv() == "o"
        self.pending: list = []

    def send(self, value) -> None:
        self.ws.send(json.dumps([json.dumps(value)]))

    def next_frame(self) -> str:
        return self.ws.recv()

    def next_data(self, skip_pings: bool = True, answer_pings: bool = True):
        """The next Primus value; pings are answered (or skipped) on the way."""
        while True:
            if self.pending:
                value = self.pending.pop(0)
            else:
                frame = self.ws.recv()
                if frame == "h":
                    continue
                assert frame.startswith("a["), frame
                self.pending = [json.loads(m) for m in json.loads(frame[1:])]
                continue
            if isinstance(value, str) and value.startswith("primus::ping::"):
                if answer_pings:
                    self.send("primus::pong::" + value[len("primus::ping::"):])
                if skip_pings:
                    continue
            return value

    def close(self) -> None:
        self.ws.close()


class SockJSPolling:
    """A SockJS session on xhr polling carrying Primus JSON messages."""

    def __init__(self, server, query: str = ""):
        self.base = f"{server.http_url}/primus/000/{sid()}"
        self.query = query
        assert requests.post(self.base + "/xhr" + query, timeout=5).text == "o\n"

    def send(self, value) -> None:
        r = requests.post(self.base + "/xhr_send" + self.query, data=json.dumps([json.dumps(value)]), timeout=5)
        assert r.status_code == 204, r.text

    def poll(self) -> list:
        text = requests.post(self.base + "/xhr" + self.query, timeout=10).text
        if text.startswith("a["):
            return [json.loads(m) for m in json.loads(text[1:])]
        return [text.strip()]


def test_heartbeats_keep_an_answering_client_and_end_a_silent_one(start_testserver):
    server = start_testserver("--transformer", "sockjs", "--ping-interval", "300")
    answering = SockJSWebSocket(server)
    silent = SockJSWebSocket(server)
    pings = 0
    silent_closed = False
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        frame = answering.next_frame()
        if frame.startswith("a["):
            for message in json.loads(frame[1:]):
                value = json.loads(message)
                if isinstance(value, str) and value.startswith("primus::ping::"):
                    pings += 1
                    answering.send("primus::pong::" + value[len("primus::ping::"):])
        if not silent_closed:
            silent.ws.settimeout(0.05)
            try:
                while True:
                    frame = silent.ws.recv()
                    if frame.startswith("c[") or frame == "":
                        silent_closed = True
                        break
            except websocket.WebSocketTimeoutException:
                pass
            except websocket.WebSocketConnectionClosedException:
                silent_closed = True
    assert pings >= 3
    assert silent_closed
    # The answering client is still served.
    answering.send({"still": "here"})
    assert answering.next_data() == {"still": "here"}
    answering.close()


def test_broadcast_reaches_websocket_and_polling_sessions(start_testserver):
    server = start_testserver("--transformer", "sockjs")
    ws_client = SockJSWebSocket(server)
    poller = SockJSPolling(server)
    ws_client.send({"testserver": "broadcast", "data": "to everyone \u2028"})
    assert ws_client.next_data() == "to everyone \u2028"
    assert "to everyone \u2028" in poller.poll()
    ws_client.close()


def test_authorization_runs_on_every_sockjs_request(start_testserver):
    server = start_testserver("--transformer", "sockjs", "--authorize-token", "sesame")
    assert requests.get(server.http_url + "/primus/info", timeout=5).status_code == 401
    assert requests.post(f"{server.http_url}/primus/000/{sid()}/xhr", timeout=5).status_code == 401
    with pytest.raises(websocket.WebSocketBadStatusException) as refused:
        websocket.create_connection(f"ws://127.0.0.1:{server.port}/primus/000/{sid()}/websocket", timeout=5)
    assert refused.value.status_code == 401
    assert requests.get(server.http_url + "/primus/info?token=sesame", timeout=5).status_code == 200
    admitted = SockJSPolling(server, "?token=sesame")
    # A send without the token is refused too: authorization is per request, not per session.
    r = requests.post(admitted.base + "/xhr_send", data=json.dumps([json.dumps("x")]), timeout=5)
    assert r.status_code == 401
    admitted.send({"echo": 1})
    assert {"echo": 1} in admitted.poll()
    ws_client = SockJSWebSocket(server, "?token=sesame")
    ws_client.send("hello")
    assert ws_client.next_data() == "hello"
    ws_client.close()


def test_failing_middleware_answers_before_sockjs(start_testserver):
    server = start_testserver("--transformer", "sockjs", "--failing-middleware")
    r = requests.get(server.http_url + "/primus/info", timeout=5)
    assert r.status_code == 500
    assert r.json() == {"error": "I failed"}


def test_spec_and_library_are_served_beside_sockjs(start_testserver):
    server = start_testserver("--transformer", "sockjs")
    spec = requests.get(server.http_url + "/primus/spec", timeout=5).json()
    assert spec["transformer"] == "sockjs"
    library = requests.get(server.http_url + "/primus/primus.js", timeout=5)
    assert library.status_code == 200
    # /primusfoo is Primus's (prefix match) but not a SockJS path.
    assert requests.get(server.http_url + "/primusfoo/info", timeout=5).status_code == 404


def test_primus_query_and_headers_reach_the_spark_on_websocket(start_testserver):
    server = start_testserver("--transformer", "sockjs")
    client = SockJSWebSocket(server, "?team=red")
    client.send({"testserver": "info"})
    info = client.next_data()
    assert info["query"]["team"] == "red"
    assert info["address"]["port"] > 0
    assert "sec-websocket-key" in info["headers"]
    client.close()


@pytest.mark.parametrize("transport", ["websocket", "xhr"])
def test_a_binary_parser_is_refused_with_a_reason_not_corrupted(start_testserver, transport):
    """SockJS frames carry text: a binary parser's first message closes the session, saying why."""
    server = start_testserver("--transformer", "sockjs", "--parser", "msgpack", "--ping-interval", "200")
    refused = 'c[3003,"SockJS carries text only: use a text parser"]'
    if transport == "websocket":
        client = SockJSWebSocket(server)
        assert client.next_frame() == refused
        client.close()
    else:
        base = f"{server.http_url}/primus/000/{sid()}"
        assert requests.post(base + "/xhr", timeout=5).text == "o\n"
        assert requests.post(base + "/xhr", timeout=5).text == refused + "\n"
