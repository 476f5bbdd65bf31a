"""Peers shared by the Hummingbird tests: an official python-engineio client speaking Primus
(JSON messages, heartbeats answered), with bounded waits."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import engineio
import engineio.packet

TIMEOUT = 15.0


class WireOrderClient(engineio.Client):
    """python-engineio runs each `message` handler in a thread of its own, so handlers can see
    messages out of order; this hands message packets over in the order they were read."""

    def __init__(self, on_message) -> None:  # noqa: ANN001
        super().__init__()
        self._on_wire_message = on_message

    def _receive_packet(self, pkt):  # noqa: ANN001, ANN202
        if pkt.packet_type == engineio.packet.MESSAGE:
            self._on_wire_message(pkt.data)
            return None
        return super()._receive_packet(pkt)


class EngineIOPrimus:
    """python-engineio 4 through Primus's engine.io transformer at ``/primus``."""

    def __init__(self, url: str, transports: list[str] | None) -> None:
        self.client = WireOrderClient(self._on_message)
        self.received: list[Any] = []
        self.pings = 0
        self.cond = threading.Condition()
        self.disconnected = threading.Event()
        self.client.on("disconnect", self._on_disconnect)
        kwargs: dict[str, Any] = {"engineio_path": "/primus"}
        if transports:
            kwargs["transports"] = transports
        self.client.connect(url, **kwargs)

    def _on_message(self, data: object) -> None:
        if isinstance(data, str) and data.startswith("primus::ping::"):
            self.pings += 1
            self.client.send(json.dumps("primus::pong::" + data[len("primus::ping::"):]))
            return
        with self.cond:
            self.received.append(data)
            self.cond.notify_all()

    def _on_disconnect(self, *_: object) -> None:
        self.disconnected.set()
        with self.cond:
            self.cond.notify_all()

    def write(self, value: Any) -> None:
        self.client.send(json.dumps(value))

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[Any]:
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"got {len(self.received)} of {count} messages: {self.received[-3:]!r}")
                self.cond.wait(left)
            taken, self.received = self.received[:count], self.received[count:]
            return taken

    def wait_until(self, predicate, timeout: float = TIMEOUT) -> None:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, "condition not met in time"
            time.sleep(0.02)

    def transport(self) -> str:
        return self.client.transport()

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - already gone
            pass
