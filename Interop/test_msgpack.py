"""The msgpack parser against Python's msgpack (the reference implementation's binding).

``primus-testserver --parser msgpack`` echoes every message; the client here is
websocket-client speaking Primus by hand with ``msgpack.packb``/``unpackb``: one binary
frame per message, each one MessagePack value, protocol messages included (the server's
``"primus::ping::N"`` is answered with ``"primus::pong::N"``, both msgpack strings).

Each value the echo returns must decode to what was sent and, because both sides write
every value in its smallest form, be byte-identical to what was sent: integers at every
width boundary, floats, str/bin/array/map at each header size, maps with their key order,
timestamps in all three forms and other extension values.
"""

from __future__ import annotations

import time
from typing import Any

import msgpack
import pytest
import websocket

from primus_support import Closed, PrimusClient, RECV_TIMEOUT, ServerProcess

PING_PREFIX = "primus::ping::"


def pack(value: Any) -> bytes:
    return msgpack.packb(value, use_bin_type=True)


def unpack(data: bytes) -> Any:
    # timestamp=0: timestamps as msgpack.Timestamp, so seconds and nanoseconds compare exactly.
    return msgpack.unpackb(data, raw=False, timestamp=0, strict_map_key=False)


class MsgpackClient:
    """A Primus client with the msgpack parser, over PrimusClient's frame handling."""

    def __init__(self, url: str, answer_pings: bool = True) -> None:
        self.client = PrimusClient(url)
        self.answer_pings = answer_pings
        self.pings: list[str] = []

    def send_bytes(self, data: bytes) -> None:
        self.client.ws.send(data, websocket.ABNF.OPCODE_BINARY)

    def write(self, value: Any) -> bytes:
        data = pack(value)
        self.send_bytes(data)
        return data

    def recv_bytes(self, timeout: float = RECV_TIMEOUT) -> bytes:
        """The next data message's bytes; pings are recorded, answered and skipped."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no data message within {timeout}s")
            opcode, payload = self.client.recv_frame(remaining)
            assert opcode == websocket.ABNF.OPCODE_BINARY, f"expected a binary frame, got {opcode}: {payload[:40]!r}"
            if payload[:1] and 0xA0 <= payload[0] <= 0xBF or payload[:1] in (b"\xd9", b"\xda", b"\xdb"):
                decoded = unpack(payload)
                if isinstance(decoded, str) and decoded.startswith(PING_PREFIX):
                    self.pings.append(decoded[len(PING_PREFIX):])
                    if self.answer_pings:
                        self.write("primus::pong::" + decoded[len(PING_PREFIX):])
                    continue
            return payload

    def recv(self, timeout: float = RECV_TIMEOUT) -> Any:
        return unpack(self.recv_bytes(timeout))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "MsgpackClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@pytest.fixture
def server(start_testserver) -> ServerProcess:  # noqa: ANN001
    return start_testserver("--parser", "msgpack")


# Every kind at every width boundary. Integers stay within what a Double holds exactly (the
# server's values are JavaScript numbers), plus 2^63 and -2^63, which a Double holds.
INTEGERS = [
    0, 1, 127, 128, 255, 256, 65535, 65536, 2**32 - 1, 2**32, 2**53, 2**63,
    -1, -32, -33, -127, -128, -129, -32767, -32768, -32769, -(2**31), -(2**31) - 1, -(2**53), -(2**63),
]
FLOATS = [0.5, -0.25, 0.1, 1e-300, 1e300, -1.7976931348623157e308, float("inf"), float("-inf"), -0.0]
STRINGS = ["", "a", "€", "🚀 astral", "x" * 31, "x" * 32, "y" * 255, "y" * 256, "z" * 65535, "z" * 65536]
BINARIES = [b"", b"\x00\xff", bytes(range(256)) * 1, b"\x01" * 255, b"\x02" * 256, b"\x03" * 65535, b"\x04" * 65536]
TIMESTAMPS = [
    msgpack.Timestamp(0, 0),  # timestamp 32
    msgpack.Timestamp(2**32 - 1, 0),  # the largest timestamp 32
    msgpack.Timestamp(2**32, 0),  # timestamp 64
    msgpack.Timestamp(1_700_000_000, 123_000_000),  # milliseconds, as JavaScript dates have
    msgpack.Timestamp(1_700_000_000, 123_456_000),  # microseconds, as Python datetimes have
    msgpack.Timestamp(2**34 - 1, 999_000_000),  # the largest timestamp 64 seconds
    msgpack.Timestamp(2**34, 0),  # timestamp 96
    msgpack.Timestamp(-1, 500_000_000),  # before 1970: timestamp 96
    msgpack.Timestamp(-62_135_596_800, 0),  # year 1
]
EXTENSIONS = [
    msgpack.ExtType(5, b"\x01"), msgpack.ExtType(5, b"\x01\x02"), msgpack.ExtType(5, b"\x01\x02\x03"),
    msgpack.ExtType(6, b"\x01" * 4), msgpack.ExtType(7, b"\x01" * 8), msgpack.ExtType(8, b"\x01" * 16),
    msgpack.ExtType(127, b""), msgpack.ExtType(0, b"\x09" * 255), msgpack.ExtType(1, b"\x09" * 256),
    msgpack.ExtType(2, b"\x09" * 65536),
]
CONTAINERS = [
    [], [1, 2, 3], list(range(15)), list(range(16)), list(range(65536)),
    {}, {"b": 1, "a": 2}, {str(i): i for i in range(15)}, {f"k{15 - i}": i for i in range(16)},
    {"z": {"y": [None, True, False, {"x": b"\x00", "w": msgpack.Timestamp(1, 0)}]}, "a": [[[]]]},
]

VALUES = (
    [pytest.param(v, id=f"int {v}") for v in INTEGERS]
    + [pytest.param(v, id=f"float {v!r}") for v in FLOATS]
    + [pytest.param(v, id=f"str {len(v)}") for v in STRINGS]
    + [pytest.param(v, id=f"bin {len(v)}") for v in BINARIES]
    + [pytest.param(v, id=f"timestamp {v.seconds}.{v.nanoseconds:09d}") for v in TIMESTAMPS]
    + [pytest.param(v, id=f"ext {v.code} of {len(v.data)}") for v in EXTENSIONS]
    + [pytest.param(v, id=f"container {i}") for i, v in enumerate(CONTAINERS)]
    + [pytest.param(None, id="nil"), pytest.param(True, id="true"), pytest.param(False, id="false")]
)


def same(a: Any, b: Any) -> bool:
    """Equal, with float signs of zero and dict key order compared too."""
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and a == 0 == b:
        return str(a) == str(b)
    return type(a) is type(b) and a == b


@pytest.mark.parametrize("value", VALUES)
def test_echo_is_the_same_value_and_the_same_bytes(server: ServerProcess, value: Any) -> None:
    with MsgpackClient(server.ws_url()) as client:
        sent = client.write(value)
        echoed = client.recv_bytes(timeout=15)
        assert same(unpack(echoed), value), f"{unpack(echoed)!r:.200} != {value!r:.200}"
        assert echoed == sent, f"echo differs: {echoed[:40].hex()} vs {sent[:40].hex()}"


def test_values_the_server_holds_as_numbers_or_dates_come_back_as_such(server: ServerProcess) -> None:
    """The server's values are JavaScript's: every number a Double, every date a Double of
    seconds. Integral floats come back as integers, 2^64-1 as the Double it rounds to, and a
    timestamp's nanoseconds to within a Date's precision."""
    with MsgpackClient(server.ws_url()) as client:
        client.write([2.0, -3.0, 2**64 - 1, 1.5])
        assert same(client.recv(), [2, -3, 2.0**64, 1.5])
        client.write(msgpack.Timestamp(1_700_000_000, 123_456_789))
        back = client.recv()
        assert back.seconds == 1_700_000_000 and abs(back.nanoseconds - 123_456_789) < 1000
        client.write({1: "int key", -2: "negative key", 2.5: "float key", None: "nil key"})
        assert same(client.recv(), {"1": "int key", "-2": "negative key", "2.5": "float key", "null": "nil key"})
        client.write({True: "bool key"})  # apart: in Python, True == 1 as a dict key
        assert same(client.recv(), {"true": "bool key"})
        # An extension of type -5 (Python's ExtType takes 0...127 only, so written by hand).
        client.send_bytes(bytes.fromhex("d4fb07"))
        assert client.recv_bytes() == bytes.fromhex("d4fb07")


def test_protocol_messages_are_msgpack_strings(start_testserver) -> None:  # noqa: ANN001
    server = start_testserver("--parser", "msgpack", "--ping-interval", "200")
    with MsgpackClient(server.ws_url()) as client:
        # The very first frame is a ping: a msgpack str.
        opcode, payload = client.client.recv_frame(5)
        assert opcode == websocket.ABNF.OPCODE_BINARY
        ping = unpack(payload)
        assert isinstance(ping, str) and ping.startswith(PING_PREFIX) and ping[len(PING_PREFIX):].isdigit(), ping
        assert payload == pack(ping)
        client.write("primus::pong::" + ping[len(PING_PREFIX):])
        # Answering pings keeps the spark for six intervals; it would be closed within two otherwise.
        deadline = time.monotonic() + 1.2
        while time.monotonic() < deadline:
            with pytest.raises(TimeoutError):
                client.recv_bytes(timeout=max(0.01, deadline - time.monotonic()))
        assert len(client.pings) >= 3, client.pings
        client.write("primus::id::")
        reply = client.recv()
        assert isinstance(reply, str) and reply.startswith("primus::id::") and len(reply) > len("primus::id::")
        client.write({"still": "here"})
        assert client.recv() == {"still": "here"}


def test_a_silent_client_is_closed(start_testserver) -> None:  # noqa: ANN001
    server = start_testserver("--parser", "msgpack", "--ping-interval", "200")
    with MsgpackClient(server.ws_url(), answer_pings=False) as client:
        with pytest.raises(Closed):
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                client.recv_bytes(timeout=deadline - time.monotonic())
        assert client.pings, "closed without a ping"


MALFORMED = [
    pytest.param(b"", id="empty"),
    pytest.param(b"\xc1", id="reserved 0xc1"),
    pytest.param(b"\xd9\x05a", id="str 8 truncated"),
    pytest.param(b"\xdb\xff\xff\xff\xff", id="str 32 of 4 GiB"),
    pytest.param(b"\xdd\xff\xff\xff\xff", id="array 32 of 4G elements"),
    pytest.param(b"\xdf\xff\xff\xff\xff", id="map 32 of 4G pairs"),
    pytest.param(b"\xc6\x7f\xff\xff\xff" + b"x" * 10, id="bin 32 truncated"),
    pytest.param(b"\xd5\xff\x00\x00", id="timestamp of 2 bytes"),
    pytest.param(b"\xd7\xff" + ((10**9) << 34).to_bytes(8, "big"), id="timestamp nanoseconds 1e9"),
    pytest.param(b"\xc0\xc0", id="trailing bytes"),
    pytest.param(b"\xa1\xff", id="invalid UTF-8"),
    pytest.param(b"\x81\x90\x01", id="array as map key"),
    pytest.param(b"\x91" * 100_000 + b"\xc0", id="nesting 100000 deep"),
]


@pytest.mark.parametrize("payload", MALFORMED)
def test_malformed_messages_are_dropped_and_the_connection_stays(server: ServerProcess, payload: bytes) -> None:
    with MsgpackClient(server.ws_url()) as client:
        client.send_bytes(payload)
        client.write({"after": payload[:8]})
        assert same(client.recv(), {"after": payload[:8]}), "the next message is echoed (and nothing for the bad one)"
    assert server.alive()


def test_many_malformed_messages_then_a_good_one(server: ServerProcess) -> None:
    with MsgpackClient(server.ws_url()) as client:
        for index in range(200):
            client.send_bytes(bytes([0xC1]) + index.to_bytes(2, "big"))
        client.write("done")
        assert client.recv() == "done"
    assert server.alive()


def test_a_text_frame_holding_msgpack_is_decoded(server: ServerProcess) -> None:
    """Primus's msgpack decoder takes the bytes of whatever frame it gets; a positive fixint
    is also valid UTF-8, so it can travel in a text frame."""
    with MsgpackClient(server.ws_url()) as client:
        client.client.ws.send(b"\x05", websocket.ABNF.OPCODE_TEXT)
        assert client.recv_bytes() == b"\x05"
