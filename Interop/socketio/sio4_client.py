"""Drives the legacy official python-socketio 4.6.1 client (Socket.IO protocol v4, socket.io 2.x,
on EIO=3 through python-engineio 3.14.2) against our server. Runs in the EIO=3 virtualenv
(PRIMUS_EIO3_PYTHON): ``python sio4_client.py SCENARIO URL TRANSPORTS`` prints one JSON line with
what it saw and exits 0 (1 on an exception, with the traceback on stderr). Bytes are reported as
``{"$bytes": "<hex>"}``.

Scenarios (against ``primus-testserver --transformer socket.io --raw --allow-eio3``):
- ``events``: connects `/` (implicitly, as protocol v4 does) and `/custom`; on each: the `auth`
  event, `message` → `message-back`, `message-with-ack` acknowledged, the server's `question`
  answered; reports the transport it settled on.
- ``binary``: the same with bytes in the arguments (BINARY_EVENT, BINARY_ACK), both ways.
- ``unknown``: connects `/nope` beside `/`; reports the connect errors.

Every wait is bounded.
"""

from __future__ import annotations

import importlib.metadata
import json
import queue
import sys
import threading
import time
import traceback

import engineio
import engineio.packet
import socketio

TIMEOUT = 20.0
NAMESPACES = ("/", "/custom")
ARGS = [1, b"\x01\x02", {"3": [False]}]


class WireOrderEngineIO(engineio.Client):
    """python-engineio 3 runs each `message` handler in a thread of its own; this one hands the
    messages to one dispatcher thread in the order they were read (a binary event's attachments
    must follow its text part)."""

    def __init__(self, *args, **kwargs) -> None:  # noqa: ANN002, ANN003
        super().__init__(*args, **kwargs)
        self._inbox: queue.Queue = queue.Queue()
        threading.Thread(target=self._dispatch, daemon=True).start()

    def _dispatch(self) -> None:
        while True:
            data = self._inbox.get()
            self._trigger_event("message", data, run_async=False)

    def _receive_packet(self, pkt):  # noqa: ANN001, ANN202
        if pkt.packet_type == engineio.packet.MESSAGE:
            self._inbox.put(pkt.data)
            return None
        return super()._receive_packet(pkt)


class WireOrderClient(socketio.Client):
    def _engineio_client_class(self):  # noqa: ANN202
        return WireOrderEngineIO


class Peer:
    def __init__(self) -> None:
        self.sio = WireOrderClient(reconnection=False)
        self.cond = threading.Condition()
        self.events: list[tuple[str, str, list]] = []
        self.connects: list[str] = []
        self.errors: list[tuple[str, object]] = []
        for namespace in (*NAMESPACES, "/nope"):
            self.sio.on("connect", self._recorder("connect", namespace), namespace=namespace)
            self.sio.on("connect_error", self._recorder("connect_error", namespace), namespace=namespace)
            for name in ("auth", "message-back", "question", "answer"):
                self.sio.on(name, self._recorder(name, namespace), namespace=namespace)

    def _recorder(self, name: str, namespace: str):  # noqa: ANN202
        def handler(*args):  # noqa: ANN002, ANN202
            with self.cond:
                if name == "connect":
                    self.connects.append(namespace)
                elif name == "connect_error":
                    self.errors.append((namespace, args[0] if len(args) == 1 else list(args)))
                else:
                    self.events.append((namespace, name, list(args)))
                self.cond.notify_all()
            if name == "question":
                return ("got", *args)
            return None
        return handler

    def wait(self, condition, what: str):  # noqa: ANN001, ANN201
        deadline = time.monotonic() + TIMEOUT
        with self.cond:
            while not (value := condition()):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{what}: events {self.events[-5:]!r} errors {self.errors!r}")
                self.cond.wait(left)
            return value

    def event(self, name: str, namespace: str, count: int = 1) -> list:
        found = self.wait(lambda: (got := [args for ns, n, args in self.events if ns == namespace and n == name]) and len(got) >= count and got,
                          f"{count} {name} on {namespace}")
        return found[count - 1]


def settle(peer: Peer, transports: list[str] | None) -> str:
    expected = "polling" if transports == ["polling"] else "websocket"
    deadline = time.monotonic() + TIMEOUT
    while peer.sio.transport() != expected and time.monotonic() < deadline:
        time.sleep(0.01)
    return peer.sio.transport()


def scenario_events(url: str, transports: list[str] | None) -> dict:
    peer = Peer()
    peer.sio.connect(url, transports=transports, namespaces=list(NAMESPACES))
    peer.wait(lambda: set(peer.connects) >= set(NAMESPACES), "both namespaces connected")
    result: dict = {"connects": sorted(set(peer.connects)), "namespaces": {}}
    for namespace in NAMESPACES:
        seen: dict = {"auth": peer.event("auth", namespace)}
        peer.sio.emit("message", ("hello", namespace), namespace=namespace)
        seen["message-back"] = peer.event("message-back", namespace)
        seen["ack"] = list(peer.sio.call("message-with-ack", ("ack me", 42), namespace=namespace, timeout=TIMEOUT))
        peer.sio.emit("ask", (TIMEOUT * 1000, "what?"), namespace=namespace)
        seen["question"] = peer.event("question", namespace)
        seen["answer"] = peer.event("answer", namespace)
        result["namespaces"][namespace] = seen
    result["final_transport"] = settle(peer, transports)
    peer.sio.emit("message", "after settling", namespace="/custom")
    result["after"] = peer.event("message-back", "/custom", count=2)
    result["errors"] = peer.errors
    peer.sio.disconnect()
    return result


def scenario_binary(url: str, transports: list[str] | None) -> dict:
    """Bytes in event and ack arguments, both ways: BINARY_EVENT and BINARY_ACK on protocol v4."""
    peer = Peer()
    peer.sio.connect(url, transports=transports, namespaces=list(NAMESPACES))
    peer.wait(lambda: set(peer.connects) >= set(NAMESPACES), "both namespaces connected")
    result: dict = {"namespaces": {}}
    for namespace in NAMESPACES:
        seen: dict = {}
        peer.sio.emit("message", tuple(ARGS), namespace=namespace)
        seen["message-back"] = peer.event("message-back", namespace)
        seen["ack"] = list(peer.sio.call("message-with-ack", tuple(ARGS), namespace=namespace, timeout=TIMEOUT))
        peer.sio.emit("ask", (TIMEOUT * 1000, *ARGS), namespace=namespace)
        seen["question"] = peer.event("question", namespace)
        seen["answer"] = peer.event("answer", namespace)
        result["namespaces"][namespace] = seen
    result["final_transport"] = settle(peer, transports)
    result["errors"] = peer.errors
    peer.sio.disconnect()
    return result


def scenario_unknown(url: str, transports: list[str] | None) -> dict:
    peer = Peer()
    peer.sio.connect(url, transports=transports, namespaces=["/", "/nope"])
    peer.wait(lambda: peer.errors, "a connect error for /nope")
    result = {"connects": sorted(set(peer.connects)), "errors": peer.errors}
    # The session stays: `/` still answers.
    peer.sio.emit("message", "still here")
    result["after"] = peer.event("message-back", "/")
    peer.sio.disconnect()
    return result


def as_json(value: object) -> object:
    if isinstance(value, (bytes, bytearray)):
        return {"$bytes": bytes(value).hex()}
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [as_json(item) for item in value]
    return value


def main() -> int:
    scenario, url = sys.argv[1], sys.argv[2]
    transports = [t for t in sys.argv[3].split(",") if t] if len(sys.argv) > 3 else []
    try:
        result = {"events": scenario_events, "binary": scenario_binary, "unknown": scenario_unknown}[scenario](url, transports or None)
        result["socketio_version"] = importlib.metadata.version("python-socketio")
        result["engineio_version"] = importlib.metadata.version("python-engineio")
        print(json.dumps(as_json(result)), flush=True)
        return 0
    except Exception:  # noqa: BLE001 - reported to the test
        traceback.print_exc()
        return 1


if __name__ == "__main__":
    sys.exit(main())
