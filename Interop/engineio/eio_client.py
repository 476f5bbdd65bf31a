"""Drives the official python-engineio client (4.x for EIO=4, 3.x for EIO=3) against our server.

Run as a script so the same scenarios work under either client version, each in its own
virtualenv: ``python eio_client.py SCENARIO URL TRANSPORTS`` prints one JSON line with what it
saw and exits 0 (1 on an exception, with the traceback on stderr).

Scenarios:
- ``primus``: through the Primus layer (JSON parser): the spark's query, text echo, 1,000
  messages in order. Primus heartbeats (``"primus::ping::<n>"``) are answered as a Primus
  client would.
- ``raw``: against ``--raw``: message packets echoed as they are, text and binary.
- ``binary``: through the Primus layer: bytes echoed as bytes, and an object's key order kept.
- ``end``: asks the server to ``end()`` the spark; reports what the client saw.
- ``hold``: connects, prints ``{"sid": ...}``, then stays until killed.

Every wait is bounded.
"""

from __future__ import annotations

import importlib.metadata
import json
import sys
import threading
import time
import traceback

import engineio
import engineio.packet

VERSION = importlib.metadata.version("python-engineio")
LEGACY = int(VERSION.split(".")[0]) < 4  # python-engineio 3: EIO=3

TIMEOUT = 15.0
URL = ""  # the server's address, for scenarios that open more sessions


class WireOrderClient(engineio.Client):
    """Both client versions run each `message` handler in a thread of its own, so handlers see
    messages in any order; this hands message packets over in the order they were read."""

    def __init__(self, on_message) -> None:  # noqa: ANN001
        super().__init__()
        self._on_wire_message = on_message

    def _receive_packet(self, pkt):  # noqa: ANN001, ANN202
        if pkt.packet_type == engineio.packet.MESSAGE:
            self._on_wire_message(pkt.data)
            return None
        return super()._receive_packet(pkt)


class Peer:
    def __init__(self, url: str, transports: list[str] | None) -> None:
        self.client = WireOrderClient(self._on_message)
        self.received: list[object] = []
        self.pings = 0
        self.disconnected = threading.Event()
        self.cond = threading.Condition()
        self.client.on("disconnect", self._on_disconnect)
        kwargs = {"engineio_path": "/primus"}
        if transports:
            kwargs["transports"] = transports
        self.client.connect(url, **kwargs)

    def _on_message(self, data: object) -> None:
        # python-engineio hands over JSON-decoded text when it parses (not bare numbers).
        if isinstance(data, str) and data.startswith("primus::ping::"):
            self.pings += 1
            self.client.send(json.dumps("primus::pong::" + data[len("primus::ping::"):]))
            return
        with self.cond:
            self.received.append(data)
            self.cond.notify_all()

    def _on_disconnect(self) -> None:
        self.disconnected.set()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[object]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(self.received)} of {count} messages: {self.received[-3:]!r}")
                self.cond.wait(left)
            taken, self.received = self.received[:count], self.received[count:]
            return taken

    def send_json(self, value: object) -> None:
        self.client.send(json.dumps(value))

    def transport(self) -> str:
        return self.client.transport()


def scenario_primus(peer: Peer) -> dict:
    result: dict = {"transport": peer.transport(), "sid": peer.client.sid}
    peer.send_json({"testserver": "info"})
    info = peer.wait_for(1)[0]
    result["info"] = info
    # python-engineio 3 counts v3 payload lengths in code points, not UTF-16 units as the
    # protocol (and our server) does, so it misreads characters outside the BMP over polling.
    peer.send_json("hello € 😀" if not LEGACY else "hello €")
    peer.send_json({"nested": [1, "two", None, True]})
    result["echo"] = peer.wait_for(2)
    count = 1000
    for index in range(count):
        peer.send_json({"n": index})
    echoed = peer.wait_for(count, timeout=60)
    result["in_order"] = [item.get("n") if isinstance(item, dict) else item for item in echoed] == list(range(count))
    result["count"] = len(echoed)
    result["final_transport"] = peer.transport()
    peer.client.disconnect()
    return result


def scenario_raw(peer: Peer) -> dict:
    result: dict = {"transport": peer.transport()}
    peer.client.send("plain text, not JSON €")
    peer.client.send(b"\x00\x01\x02\xff binary")
    first, second = peer.wait_for(2)
    result["text"] = first
    result["binary_hex"] = second.hex() if isinstance(second, (bytes, bytearray)) else repr(second)
    count = 1000
    for index in range(count):
        peer.client.send(f"m{index}")
    echoed = peer.wait_for(count, timeout=60)
    result["in_order"] = echoed == [f"m{index}" for index in range(count)]
    result["final_transport"] = peer.transport()
    peer.client.disconnect()
    return result


def scenario_binary(peer: Peer) -> dict:
    """Through the Primus layer: bytes come back as bytes, and an object's 20 keys in order."""
    result: dict = {"transport": peer.transport()}
    peer.client.send(b"\x00\x01\x02\xff bytes")
    peer.send_json({f"k{19 - index}": index for index in range(20)})
    first, second = peer.wait_for(2)
    result["binary_hex"] = first.hex() if isinstance(first, (bytes, bytearray)) else repr(first)
    result["keys"] = list(second.keys()) if isinstance(second, dict) else repr(second)
    result["final_transport"] = peer.transport()
    peer.client.disconnect()
    return result


def scenario_end(peer: Peer) -> dict:
    result: dict = {"transport": peer.transport()}
    started = time.monotonic()
    peer.send_json({"testserver": "end", "data": "goodbye"})
    result["disconnected"] = peer.disconnected.wait(TIMEOUT)
    result["seconds"] = round(time.monotonic() - started, 3)
    with peer.cond:
        result["received"] = list(peer.received)
    return result


def scenario_broadcast(peer: Peer) -> dict:
    """The peer broadcasts through the test server to itself and to two more sessions, one on
    polling and one on a WebSocket: every session gets every broadcast once, in order."""
    others = [Peer(URL, ["polling"]), Peer(URL, ["websocket"])]
    everyone = [peer, *others]
    count = 300
    for index in range(count):
        peer.send_json({"testserver": "broadcast", "data": {"n": index}})
    result: dict = {"transport": peer.transport()}
    result["in_order"] = []
    for each in everyone:
        got = each.wait_for(count, timeout=60)
        result["in_order"].append([item.get("n") if isinstance(item, dict) else item for item in got] == list(range(count)))
    for each in everyone:
        each.client.disconnect()
    return result


def scenario_hold(peer: Peer) -> dict:
    print(json.dumps({"sid": peer.client.sid, "transport": peer.transport()}), flush=True)
    while True:
        time.sleep(1)


def main() -> int:
    global URL
    scenario, url = sys.argv[1], sys.argv[2]
    URL = url
    transports = [t for t in sys.argv[3].split(",") if t] if len(sys.argv) > 3 else None
    try:
        peer = Peer(url, transports or None)
        result = {"primus": scenario_primus, "raw": scenario_raw, "binary": scenario_binary, "end": scenario_end, "hold": scenario_hold, "broadcast": scenario_broadcast}[scenario](peer)
        result["engineio_version"] = VERSION
        print(json.dumps(result), flush=True)
        return 0
    except Exception:  # noqa: BLE001 - reported to the test
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
