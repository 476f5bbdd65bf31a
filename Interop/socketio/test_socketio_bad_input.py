"""Bad Socket.IO input against `primus-testserver --transformer socket.io --raw`, sent by a raw
python-engineio 4 client (real Engine.IO sessions, over polling and over a WebSocket, carrying
hand-written Socket.IO packets). Each gets the reference server's answer (socket.io 4 with
socket.io-parser 4.2): a malformed packet closes the Engine.IO session; an unknown namespace is
refused with `4/ns,{"message":"Invalid namespace"}` and the session stays, but a packet for a
namespace the session has not joined closes it; an ACK for an id never asked is ignored. After each, the server is up and a new official client works.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from sio_support import WireOrderEngineIOClient, fresh_client_round_trip, start_raw, wait_until

RAW_TRANSPORTS = [
    pytest.param(["polling"], id="polling"),
    pytest.param(["websocket"], id="websocket"),
]


def placeholders(count: int) -> list[dict[str, Any]]:
    return [{"_placeholder": True, "num": index} for index in range(count)]


class RawSession:
    """One Engine.IO session to `/socket.io/` that sends Socket.IO packets as they are written."""

    def __init__(self, url: str, transports: list[str]) -> None:
        self.eio = WireOrderEngineIOClient()
        self.closed: list[Any] = []
        self.eio.on("disconnect", lambda *reason: self.closed.append(reason))
        self.eio.connect(url, transports=transports, engineio_path="socket.io")

    def send(self, packet: str | bytes) -> None:
        self.eio.send(packet)

    def received(self) -> list[str | bytes]:
        return list(self.eio.wire_log)

    def wait_for(self, predicate, what: str) -> str:  # noqa: ANN001
        found = wait_until(lambda: [m for m in self.received() if isinstance(m, str) and predicate(m)],
                           f"{what}; received {self.received()[-5:]!r}")
        return found[0]

    def connect(self, namespace: str = "") -> str:
        """CONNECT (`0` or `0/ns,`): returns the socket id the server answered with."""
        prefix = f"0{namespace}," if namespace else "0"
        self.send(prefix)
        reply = self.wait_for(lambda m: m.startswith(prefix + "{"), f"the CONNECT answer for {namespace or '/'}")
        return json.loads(reply[len(prefix):])["sid"]

    def round_trip(self, text: str) -> None:
        """`message` → `message-back` on `/`: the session is alive and in step."""
        self.send("2" + json.dumps(["message", text]))
        self.wait_for(lambda m: m.startswith("2[") and json.loads(m[1:]) == ["message-back", text], f"message-back {text!r}")
        assert not self.closed

    def expect_closed(self) -> None:
        wait_until(lambda: self.closed, f"the server to close the session; received {self.received()[-5:]!r}")

    def close(self) -> None:
        self.eio.disconnect()


@pytest.fixture
def sessions():  # noqa: ANN201
    made: list[RawSession] = []
    yield made
    for session in made:
        session.close()


def open_session(sessions, server, transports) -> RawSession:  # noqa: ANN001
    session = RawSession(server.http_url, transports)
    sessions.append(session)
    session.connect()
    return session


MALFORMED = [
    pytest.param("abc", id="unknown-type-letter"),
    pytest.param("9", id="unknown-type-digit"),
    pytest.param("2{}", id="event-object"),
    pytest.param("2[]", id="event-empty-array"),
    pytest.param('2abc["message","x"]', id="event-bad-ack-id"),
    pytest.param('2["message",', id="event-truncated-json"),
    pytest.param('5x-["message"]', id="binary-bad-count"),
]


@pytest.mark.parametrize("transports", RAW_TRANSPORTS)
@pytest.mark.parametrize("packet", MALFORMED)
def test_a_malformed_packet_closes_the_session(start_testserver, sessions, transports, packet) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    session = open_session(sessions, server, transports)
    session.round_trip("before")
    session.send(packet)
    session.expect_closed()
    assert server.alive()
    fresh_client_round_trip(server.http_url)


@pytest.mark.parametrize("transports", RAW_TRANSPORTS)
def test_an_unknown_namespace_is_refused_and_the_session_stays(start_testserver, sessions, transports) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    session = open_session(sessions, server, transports)
    session.send("0/nowhere,")
    reply = session.wait_for(lambda m: m.startswith("4/nowhere,"), "the CONNECT_ERROR for /nowhere")
    assert json.loads(reply[len("4/nowhere,"):]) == {"message": "Invalid namespace"}
    # The session stays: `/` goes on and `/custom` still connects.
    session.round_trip("after")
    assert session.connect("/custom")
    assert not session.closed
    fresh_client_round_trip(server.http_url)


@pytest.mark.parametrize("transports", RAW_TRANSPORTS)
@pytest.mark.parametrize("packet", [
    pytest.param('2/nowhere,["message","lost"]', id="event"),
    pytest.param('3/nowhere,1["lost"]', id="ack"),
    pytest.param("1/nowhere,", id="disconnect"),
    pytest.param("0", id="connect-twice"),
])
def test_a_packet_for_a_namespace_the_session_has_not_joined_closes_it(start_testserver, sessions, transports, packet) -> None:  # noqa: ANN001
    """The reference's "invalid state": anything but CONNECT for a namespace without a socket, or a
    second CONNECT for one that has a socket, closes the connection (socket.io's client.ts)."""
    server = start_raw(start_testserver)
    session = open_session(sessions, server, transports)
    session.round_trip("before")
    session.send(packet)
    session.expect_closed()
    assert not any(isinstance(m, str) and "lost" in m for m in session.received())
    assert server.alive()
    fresh_client_round_trip(server.http_url)


@pytest.mark.parametrize("transports", RAW_TRANSPORTS)
def test_an_ack_for_an_unknown_id_is_ignored(start_testserver, sessions, transports) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    session = open_session(sessions, server, transports)
    session.send('3999["nobody asked"]')
    session.send("3123[]")
    session.round_trip("still here")
    # A real ack still works after the stray ones.
    session.send('21["message-with-ack","real"]')
    reply = session.wait_for(lambda m: m.startswith("31["), "the acknowledgement of id 1")
    assert json.loads(reply[2:]) == ["real"]
    assert server.alive()


@pytest.mark.parametrize("transports", RAW_TRANSPORTS)
def test_a_binary_event_whose_attachment_count_lies_closes_the_session(start_testserver, sessions, transports) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    # It announces one attachment and sends text instead.
    session = open_session(sessions, server, transports)
    session.send('51-["message","x"]')
    session.send('2["message","after"]')
    session.expect_closed()
    # Its placeholder points past the attachments it has.
    session = open_session(sessions, server, transports)
    session.send("51-" + json.dumps(["message", {"_placeholder": True, "num": 7}]))
    session.send(b"\x01")
    session.expect_closed()
    # An attachment nobody announced.
    session = open_session(sessions, server, transports)
    session.round_trip("before")
    session.send(b"\x02\x03")
    session.expect_closed()
    assert server.alive()
    fresh_client_round_trip(server.http_url)


@pytest.mark.parametrize("transports", RAW_TRANSPORTS)
def test_more_attachments_than_the_limit_close_the_session_and_the_limit_itself_passes(start_testserver, sessions, transports) -> None:  # noqa: ANN001
    server = start_raw(start_testserver)
    # Ten attachments (the default limit) are fine.
    session = open_session(sessions, server, transports)
    session.send("510-" + json.dumps(["message", *placeholders(10)]))
    for index in range(10):
        session.send(bytes([index]) * (index + 1))
    reply = session.wait_for(lambda m: m.startswith("5"), "the binary message-back")
    assert reply.startswith("510-["), reply
    assert json.loads(reply[len("510-"):]) == ["message-back", *placeholders(10)]
    wait_until(lambda: len([m for m in session.received() if isinstance(m, bytes)]) >= 10, "ten attachments back")
    assert [m for m in session.received() if isinstance(m, bytes)] == [bytes([index]) * (index + 1) for index in range(10)]
    # Eleven are refused at once: the session closes before any attachment is sent.
    session = open_session(sessions, server, transports)
    session.send("511-" + json.dumps(["message", *placeholders(11)]))
    session.expect_closed()
    assert server.alive()
    fresh_client_round_trip(server.http_url)
