"""The official sockjs-client 1.6 (Debian's node-sockjs-client) in Node against our SockJS server:
the test services of ``primus-testserver --transformer sockjs --raw`` and the Primus layer."""

from __future__ import annotations

import json

import pytest

from sockjs_support import run_official_client

TRANSPORTS = ["websocket", "xhr-streaming", "xhr-polling", "eventsource"]

# JSON, UTF-8 and the characters SockJS must escape on the way out.
MESSAGES = [
    '{"a":[1,2,3],"b":"c"}',
    "plain text",
    "za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144 \u2603 \U0001f600",
    "line\u2028sep\u2029para\u0000nul\u0001\u001f\u200c\u200f\u2060\u206f\ufff0\uffff end",
    '"quotes" and \\backslashes\\ and \n newlines \t tabs',
    "",
]


@pytest.fixture
def sockjs_raw(start_testserver):
    return start_testserver("--transformer", "sockjs", "--raw")


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_echo_service_echoes_every_message_intact(sockjs_raw, transport):
    events = run_official_client(f"{sockjs_raw.http_url}/echo", transport, MESSAGES, close_after=len(MESSAGES))
    assert events[0]["event"] == "open"
    assert events[0]["transport"] == transport
    received = [e["data"] for e in events if e["event"] == "message"]
    assert received == MESSAGES
    assert events[-1]["event"] == "close"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_close_service_closes_with_3000_go_away(sockjs_raw, transport):
    events = run_official_client(f"{sockjs_raw.http_url}/close", transport, [])
    assert [e["event"] for e in events] == ["open", "close"]
    assert events[-1]["code"] == 3000
    assert events[-1]["reason"] == "Go away!"


def test_disabled_websocket_service_refuses_the_websocket_transport(sockjs_raw):
    events = run_official_client(f"{sockjs_raw.http_url}/disabled_websocket_echo", "websocket", ["x"], timeout_ms=8000)
    # /info says websocket:false, so the client has no transport left and gives up.
    assert events[-1]["event"] == "close"
    assert events[-1]["code"] == 2000
    assert not any(e["event"] == "message" for e in events)


@pytest.mark.parametrize("transport", ["xhr-streaming", "xhr-polling"])
def test_cookie_needed_service_still_echoes(sockjs_raw, transport):
    events = run_official_client(f"{sockjs_raw.http_url}/cookie_needed_echo", transport, ["hi"], close_after=1)
    assert [e["data"] for e in events if e["event"] == "message"] == ["hi"]


@pytest.mark.parametrize("transport", ["xhr-streaming", "eventsource"])
def test_streams_past_the_response_limit_reconnect_without_losing_messages(sockjs_raw, transport):
    # 4096-byte limit: 40 messages of 300 bytes need several streams.
    messages = [f"{i:03d}" + "x" * 297 for i in range(40)]
    events = run_official_client(f"{sockjs_raw.http_url}/echo", transport, messages, close_after=len(messages), timeout_ms=30000)
    assert [e["data"] for e in events if e["event"] == "message"] == messages


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_primus_layer_over_each_transport(start_testserver, transport):
    """A plain Primus JSON front-end's wire: each SockJS message is the parser's JSON text."""
    server = start_testserver("--transformer", "sockjs")
    sent = [json.dumps({"hello": "world", "n": 1}), json.dumps("text \u2028"), json.dumps([1, 2, 3])]
    events = run_official_client(f"{server.http_url}/primus", transport, sent, close_after=len(sent))
    data = [json.loads(e["data"]) for e in events if e["event"] == "message"]
    echoes = [d for d in data if not (isinstance(d, str) and d.startswith("primus::"))]
    assert echoes == [json.loads(m) for m in sent]


def test_primus_info_reports_real_headers_address_and_query(start_testserver):
    server = start_testserver("--transformer", "sockjs")
    command = json.dumps({"testserver": "info"})
    events = run_official_client(f"{server.http_url}/primus?room=blue&n=1", "xhr-streaming", [command], close_after=1)
    info = [json.loads(e["data"]) for e in events if e["event"] == "message"][0]
    assert info["query"]["room"] == "blue"
    assert info["query"]["n"] == "1"
    assert info["address"]["ip"] == "127.0.0.1"
    assert info["address"]["port"] > 0
    assert "host" in info["headers"]


def test_primus_server_end_reaches_the_client_before_the_close(start_testserver):
    server = start_testserver("--transformer", "sockjs")
    command = json.dumps({"testserver": "end", "data": "bye"})
    events = run_official_client(f"{server.http_url}/primus", "xhr-polling", [command])
    data = [json.loads(e["data"]) for e in events if e["event"] == "message"]
    assert "bye" in data
    assert "primus::server::close" in data
    assert events[-1]["event"] == "close"
    assert (events[-1]["code"], events[-1]["reason"]) == (1000, "Normal closure")
