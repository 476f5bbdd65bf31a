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
import time
import traceback
from pathlib import Path

sys.path.append(str(Path(__file__).resolve().parent.parent))  # Interop/, for engineio_peer
from engineio_peer import TIMEOUT, EngineIOPrimusPeer as Peer  # noqa: E402

VERSION = importlib.metadata.version("python-engineio")
LEGACY = int(VERSION.split(".")[0]) < 4  # python-engineio 3: EIO=3

URL = ""  # the server's address, for scenarios that open more sessions


def scenario_primus(peer: Peer) -> dict:
    result: dict = {"transport": peer.transport(), "sid": peer.client.sid}
    peer.write({"testserver": "info"})
    info = peer.wait_for(1)[0]
    result["info"] = info
    # python-engineio 3 counts v3 payload lengths in code points, not UTF-16 units as the
    # protocol (and our server) does, so it misreads characters outside the BMP over polling.
    peer.write("hello € 😀" if not LEGACY else "hello €")
    peer.write({"nested": [1, "two", None, True]})
    result["echo"] = peer.wait_for(2)
    count = 1000
    for index in range(count):
        peer.write({"n": index})
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
    peer.write({f"k{19 - index}": index for index in range(20)})
    first, second = peer.wait_for(2)
    result["binary_hex"] = first.hex() if isinstance(first, (bytes, bytearray)) else repr(first)
    result["keys"] = list(second.keys()) if isinstance(second, dict) else repr(second)
    result["final_transport"] = peer.transport()
    peer.client.disconnect()
    return result


def scenario_end(peer: Peer) -> dict:
    result: dict = {"transport": peer.transport()}
    started = time.monotonic()
    peer.write({"testserver": "end", "data": "goodbye"})
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
        peer.write({"testserver": "broadcast", "data": {"n": index}})
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
