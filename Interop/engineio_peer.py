"""The official python-engineio client speaking Primus, shared by the engine.io tests.

``EngineIOPrimusPeer`` is one client session on ``/primus`` with Primus's JSON parser: messages
are JSON texts, Primus heartbeats (``"primus::ping::<n>"``) are answered as a Primus client
would, and every wait is bounded. It runs in the suite's environment (python-engineio 4, used
in-process by Interop/hummingbird and Interop/vapor) and under python-engineio 3 (EIO=3, its own
virtualenv) through ``Interop/engineio/eio_client.py``, so it imports nothing but the client and
the standard library.
"""

from __future__ import annotations

import json
import re
import threading
import time
from typing import Any, Callable

import engineio
import engineio.packet

TIMEOUT = 15.0

# python-engineio decodes the JSON texts of message packets, except those that start with a
# digit (bare numbers, see python-engineio issue 75), which it hands over as text.
_BARE_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


class WireOrderClient(engineio.Client):
    """Both client versions run each `message` handler in a thread of its own, so handlers see
    messages in any order; this hands message packets over in the order they were read."""

    def __init__(self, on_message: Callable[[Any], None]) -> None:
        super().__init__()
        self._on_wire_message = on_message

    def _receive_packet(self, pkt):  # noqa: ANN001, ANN202
        if pkt.packet_type == engineio.packet.MESSAGE:
            self._on_wire_message(pkt.data)
            return None
        return super()._receive_packet(pkt)


class EngineIOPrimusPeer:
    """One python-engineio client session through Primus's engine.io transformer at ``/primus``.

    ``received`` holds the messages in the order they were read (heartbeats left out);
    ``disconnected`` is set when the session ends.
    """

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

    def _on_message(self, data: Any) -> None:  # noqa: ANN401
        if isinstance(data, str) and _BARE_NUMBER.fullmatch(data):
            data = json.loads(data)  # the bare numbers python-engineio left as text
        if isinstance(data, str) and data.startswith("primus::ping::"):
            self.pings += 1
            self.write("primus::pong::" + data[len("primus::ping::"):])
            return
        with self.cond:
            self.received.append(data)
            self.cond.notify_all()

    def _on_disconnect(self, *_: Any) -> None:  # noqa: ANN401 - python-engineio 4 passes a reason, 3 nothing
        self.disconnected.set()
        with self.cond:
            self.cond.notify_all()

    def write(self, value: Any) -> None:  # noqa: ANN401
        self.client.send(json.dumps(value))

    def wait_for(self, count: int, timeout: float = TIMEOUT) -> list[Any]:
        """The next ``count`` messages, in the order they were read."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.received) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"got {len(self.received)} of {count} messages: {self.received[-3:]!r}")
                self.cond.wait(left)
            taken, self.received = self.received[:count], self.received[count:]
            return taken

    def wait_for_value(self, value: Any, timeout: float = TIMEOUT) -> None:  # noqa: ANN401
        """Until ``value`` arrived, among other messages (which stay in ``received``); takes it."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while value not in self.received:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{value!r} not received within {timeout}s (got {self.received[-5:]!r})")
                self.cond.wait(left)
            self.received.remove(value)

    def wait_until(self, condition: Callable[[], bool], timeout: float = TIMEOUT) -> bool:
        """Whether ``condition()`` held within ``timeout``: checked at each message and at least
        every 20 ms (for conditions no message signals, such as the transport after an upgrade)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(min(left, 0.02))
        return True

    def transport(self) -> str:
        return self.client.transport()

    def close(self) -> None:
        """Disconnects, once what was written has gone out. python-engineio's write loop stops
        when the client is no longer connected, so a CLOSE queued while it still posts earlier
        packets is never sent; the client then waits on its pending poll until the server's
        next packet (the next heartbeat)."""
        queue = getattr(self.client, "queue", None)
        deadline = time.monotonic() + TIMEOUT
        while queue is not None and queue.unfinished_tasks and time.monotonic() < deadline and self.client.state == "connected":
            time.sleep(0.005)
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - the server may be gone already
            pass
