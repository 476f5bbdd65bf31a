"""The binary (BinaryPack) and ejson parsers against a real primus-testserver.

websocket-client speaks Primus by hand: for ``--parser binary`` every message, heartbeat pings
and pongs included, is one BinaryPack value in a binary frame (Interop/binarypack_support.py,
written from the format); for ``--parser ejson`` every message is EJSON text, whose dates,
bytes and special numbers are checked in their EJSON forms.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
import websocket

from binarypack_support import pack, unpack
from primus_support import PING_RE, RECV_TIMEOUT, PrimusClient, ServerProcess


class BinaryPackClient(PrimusClient):
    """A Primus client for the binary parser: BinaryPack values in binary frames, pings
    answered with BinaryPack pongs and recorded, never returned as data."""

    def write(self, value: Any) -> None:
        self.ws.send(pack(value), websocket.ABNF.OPCODE_BINARY)

    def recv_packet(self, timeout: float = RECV_TIMEOUT) -> bytes:
        """The bytes of the next data message (pings handled and skipped)."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no data message within {timeout}s")
            opcode, payload = self.recv_frame(remaining)
            assert opcode == websocket.ABNF.OPCODE_BINARY, f"expected a binary frame, got opcode {opcode}"
            value = unpack(payload)
            if isinstance(value, str):
                ping = PING_RE.match(value)
                if ping:
                    self.pings.append(ping.group(1))
                    if self.answer_pings:
                        self.write(f"primus::pong::{ping.group(1)}")
                    continue
            return payload

    def recv(self, timeout: float = RECV_TIMEOUT) -> Any:
        return unpack(self.recv_packet(timeout))


def wait_for_pings(client: PrimusClient, count: int, timeout: float, receive) -> None:
    """Reads until ``count`` pings were answered; any data message meanwhile is a failure."""
    deadline = time.monotonic() + timeout
    while len(client.pings) < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"only {len(client.pings)} pings within {timeout}s"
        try:
            message = receive(min(remaining, 0.5))
        except TimeoutError:
            continue
        raise AssertionError(f"unexpected data message {message!r} (an answered pong echoed back?)")


# --------------------------------------------------------------------------- binary

BINARY_VALUES = [
    pytest.param(None, id="null"),
    pytest.param(True, id="true"),
    pytest.param(False, id="false"),
    pytest.param(0, id="zero"),
    pytest.param(-32, id="negative-fixnum"),
    pytest.param(200, id="uint8"),
    pytest.param(-100, id="int8"),
    pytest.param(60000, id="uint16"),
    pytest.param(-30000, id="int16"),
    pytest.param(4_000_000_000, id="uint32"),
    pytest.param(-2_000_000_000, id="int32"),
    pytest.param(2**40, id="int64"),
    pytest.param(-(2**40), id="negative-int64"),
    pytest.param(2**63, id="uint64"),
    pytest.param(2.5, id="float64"),
    pytest.param(-0.1, id="negative-float64"),
    pytest.param("", id="empty-string"),
    pytest.param("hello", id="fixstr"),
    pytest.param("€🚀 astral", id="utf8"),
    pytest.param("x" * 300, id="str16"),
    pytest.param("y" * 70000, id="str32"),
    pytest.param(b"", id="empty-raw"),
    pytest.param(b"\x00\x01\xfe\xff", id="raw"),
    pytest.param(bytes(range(256)) * 300, id="raw32"),
    pytest.param([], id="empty-array"),
    pytest.param([1, "two", 3.5, None, True, b"\x07"], id="array"),
    pytest.param(list(range(20)), id="array16"),
    pytest.param({}, id="empty-map"),
    pytest.param({"zebra": 1, "apple": {"nested": [1, {"deep": b"\x01"}]}, "mango": None}, id="map-in-order"),
    pytest.param({f"k{i}": i for i in range(20)}, id="map16"),
]


@pytest.mark.parametrize("value", BINARY_VALUES)
def test_binary_echoes_every_kind_of_value(start_testserver, value: Any) -> None:
    server: ServerProcess = start_testserver("--parser", "binary")
    with BinaryPackClient(server.ws_url(), timeout=15) as client:
        client.write(value)
        packet = client.recv_packet(timeout=15)
        echoed = unpack(packet)
        assert echoed == value
        assert type(echoed) is type(value)
        if isinstance(value, dict):
            assert list(echoed) == list(value)
        # The server writes the same bytes as the format's packer.
        assert packet == pack(value)


def test_binary_heartbeats_are_binarypack_and_pongs_are_understood(start_testserver) -> None:
    server = start_testserver("--parser", "binary", "--ping-interval", "200")
    with BinaryPackClient(server.ws_url()) as client:
        wait_for_pings(client, 4, timeout=10, receive=client.recv)
        assert all(ping.isdigit() for ping in client.pings)
        client.write({"after": "pings"})
        assert client.recv() == {"after": "pings"}


def test_binary_malformed_message_is_dropped_and_the_connection_stays(start_testserver) -> None:
    server = start_testserver("--parser", "binary")
    with BinaryPackClient(server.ws_url()) as client:
        for garbage in (b"\xc4", b"\xdb\xff\xff\xff\xff", b"\x92\x01", b"\x01\x02", b"\xb2\xc3\x28"):
            client.ws.send(garbage, websocket.ABNF.OPCODE_BINARY)
        client.write("still here")
        assert client.recv() == "still here"


def test_binary_spark_reads_testserver_commands(start_testserver) -> None:
    server = start_testserver("--parser", "binary")
    with BinaryPackClient(server.ws_url()) as client:
        client.write({"testserver": "info"})
        info = client.recv()
        assert isinstance(info, dict) and info["id"]


# --------------------------------------------------------------------------- ejson

EJSON_ECHOES = [
    pytest.param('{"d":{"$date":1358205756553},"b":{"$binary":"c3VyZS4="}}', None, id="docs-date-and-binary"),
    pytest.param('{"$escape":{"$date":10000}}', None, id="docs-escaped-date-key"),
    pytest.param('{"$escape":{"$date":{"$date":32491}}}', None, id="docs-date-under-escaped-key"),
    pytest.param('{"$InfNaN":1}', None, id="infinity"),
    pytest.param('{"$InfNaN":-1}', None, id="negative-infinity"),
    pytest.param('{"$InfNaN":0}', None, id="nan"),
    pytest.param('{"$binary":""}', None, id="empty-binary"),
    pytest.param('{"$type":"msgpack-ext-5","$value":"AQI="}', None, id="extension"),
    pytest.param(
        '{"$type":"oid","$value":"c896e40bf6e51bbdc9adcf59"}',
        '{"$escape":{"$type":"oid","$value":"c896e40bf6e51bbdc9adcf59"}}',
        id="unknown-custom-type-is-data",
    ),
    pytest.param('{"$binary":"AAH-_w"}', '{"$binary":"AAH+/w=="}', id="url-safe-base64"),
    pytest.param('{"z":1,"a":[{"$date":0},{"$binary":"AA=="},{"b":{"$InfNaN":-1}}],"m":null}', None, id="nested-in-order"),
    pytest.param('[1,"two",null,true,2.5,{"$other":1}]', None, id="plain-json"),
    pytest.param('"line\\u2028para\\u2029"', None, id="line-separators-escaped"),
    pytest.param('"€🚀"', None, id="utf8"),
    pytest.param('{ "$date" : 1700000000123 }', '{"$date":1700000000123}', id="whitespace"),
]


@pytest.mark.parametrize(("sent", "expected"), EJSON_ECHOES)
def test_ejson_echoes_every_kind_of_value(start_testserver, sent: str, expected: str | None) -> None:
    server = start_testserver("--parser", "ejson")
    with PrimusClient(server.ws_url()) as client:
        client.send_raw_text(sent)
        assert client.recv_text() == (expected or sent)


def test_ejson_dates_and_bytes_from_python(start_testserver) -> None:
    server = start_testserver("--parser", "ejson")
    now = int(time.time() * 1000)
    value = {"at": {"$date": now}, "blob": {"$binary": "AAECAwT/"}, "list": [{"$date": -1500}]}
    with PrimusClient(server.ws_url()) as client:
        client.write(value)
        echoed = client.recv()
        assert echoed == value
        assert list(echoed) == ["at", "blob", "list"]


def test_ejson_heartbeats_are_json_strings_and_pongs_are_understood(start_testserver) -> None:
    server = start_testserver("--parser", "ejson", "--ping-interval", "200")
    with PrimusClient(server.ws_url()) as client:
        wait_for_pings(client, 4, timeout=10, receive=client.recv_text)
        client.write({"after": {"$date": 1}})
        assert client.recv() == {"after": {"$date": 1}}
        assert json.loads(client.raw_log[-1]) == {"after": {"$date": 1}}


def test_ejson_malformed_message_is_dropped_and_the_connection_stays(start_testserver) -> None:
    server = start_testserver("--parser", "ejson")
    with PrimusClient(server.ws_url()) as client:
        for garbage in ('{"$date":"soon"}', '{"$binary":5}', '{"$binary":"@@@@"}', '{"$escape":1}', "{nope"):
            client.send_raw_text(garbage)
        client.send_raw_text('{"still":"here"}')
        assert client.recv_text() == '{"still":"here"}'
