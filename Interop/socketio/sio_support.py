"""Helpers for the Socket.IO interop tests: the official python-socketio 5 clients against
``primus-testserver --transformer socket.io`` (``--raw``: the socket.io-protocol test contract at
``/socket.io/``; without: Primus at ``/primus``).

Every wait here polls a condition against a deadline; nothing sleeps in place of a condition.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

# In CI (CI=true) a missing client is a failure, never a silent skip.
if os.environ.get("CI") == "true":
    import socketio  # noqa: F401
else:
    pytest.importorskip("socketio", reason="pip install -r Interop/requirements-socketio.txt")

import engineio
import engineio.packet
import socketio

# Generous: a loaded two-core CI machine runs three builds beside the suite.
TIMEOUT = 20.0

# The event and acknowledgement arguments of the issue: a number, bytes, a nested object.
ARGS = (1, b"\x01\x02", {"3": [False]})

# (pytest id, python-socketio `transports=`, the transport once connected and settled)
TRANSPORTS = [
    pytest.param(["polling"], "polling", id="polling"),
    pytest.param(["websocket"], "websocket", id="websocket"),
    pytest.param(None, "websocket", id="upgrade"),
]


def start_raw(start_testserver, *extra: str):  # noqa: ANN001, ANN201
    """The socket.io-protocol test contract: `/socket.io/`, ping 300/200 ms, connect timeout 1 s."""
    return start_testserver("--transformer", "socket.io", "--raw", *extra)


def start_primus(start_testserver, *extra: str):  # noqa: ANN001, ANN201
    """Primus over Socket.IO at `/primus` (the usual test server: echo and `testserver` commands)."""
    return start_testserver("--transformer", "socket.io", *extra)


def wait_until(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    """Polls ``condition`` until it returns something truthy; fails with ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.01)


async def async_wait_until(condition: Callable[[], Any], what: str, timeout: float = TIMEOUT) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.01)


class WireOrderEngineIOClient(engineio.Client):
    """python-engineio's threaded client runs every `message` handler in a thread of its own, so
    Socket.IO packets (and a binary event's attachments) can be handled out of wire order under
    load. This one hands them, in the order they were read, to one dispatcher thread, and keeps
    the raw messages and the pings it saw, for tests that assert on the wire."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.wire_log: list[str | bytes] = []
        self.pings = 0
        self._inbox: queue.Queue[Any] = queue.Queue()
        threading.Thread(target=self._dispatch, daemon=True).start()

    def _dispatch(self) -> None:
        while True:
            data = self._inbox.get()
            self._trigger_event("message", data, run_async=False)

    def _receive_packet(self, pkt):  # noqa: ANN001, ANN202
        if pkt.packet_type == engineio.packet.MESSAGE:
            self.wire_log.append(pkt.data)
            self._inbox.put(pkt.data)
            return None
        if pkt.packet_type == engineio.packet.PING:
            self.pings += 1
        return super()._receive_packet(pkt)


class WireOrderClient(socketio.Client):
    """The official python-socketio 5 `Client`, fed its packets in wire order (see above)."""

    def _engineio_client_class(self):  # noqa: ANN202
        return WireOrderEngineIOClient


class Recorder:
    """Records everything a python-socketio client (sync or async) sees, on every namespace.

    A `question` event (the test server's `ask`) is answered with ``("got", *its args)``."""

    def __init__(self, sio: Any) -> None:
        self.lock = threading.Lock()
        self.events: list[tuple[str, str, tuple[Any, ...]]] = []
        self.connects: list[str] = []
        self.connect_errors: list[tuple[str, Any]] = []
        self.disconnects: list[tuple[str, Any]] = []
        sio.on("*", self._on_event, namespace="*")
        sio.on("connect", self._on_connect, namespace="*")
        sio.on("connect_error", self._on_connect_error, namespace="*")
        sio.on("disconnect", self._on_disconnect, namespace="*")

    def _on_event(self, event: str, namespace: str, *args: Any) -> Any:
        with self.lock:
            self.events.append((namespace, event, args))
        if event == "question":
            return ("got", *args)
        return None

    def _on_connect(self, namespace: str) -> None:
        with self.lock:
            self.connects.append(namespace)

    def _on_connect_error(self, namespace: str, data: Any = None) -> None:
        with self.lock:
            self.connect_errors.append((namespace, data))

    def _on_disconnect(self, namespace: str, reason: Any = None) -> None:
        with self.lock:
            self.disconnects.append((namespace, reason))

    def args_of(self, name: str, namespace: str = "/") -> list[tuple[Any, ...]]:
        """The arguments of every `name` event seen on `namespace`, in order."""
        with self.lock:
            return [args for ns, event, args in self.events if ns == namespace and event == name]

    def names(self, namespace: str = "/") -> list[str]:
        with self.lock:
            return [event for ns, event, _ in self.events if ns == namespace]

    def wait_event(self, name: str, namespace: str = "/", count: int = 1, timeout: float = TIMEOUT) -> list[tuple[Any, ...]]:
        return wait_until(lambda: (got := self.args_of(name, namespace)) and len(got) >= count and got,
                          f"{count} {name!r} event(s) on {namespace}: saw {self.events[-5:]!r}", timeout)

    async def async_wait_event(self, name: str, namespace: str = "/", count: int = 1, timeout: float = TIMEOUT) -> list[tuple[Any, ...]]:
        return await async_wait_until(lambda: (got := self.args_of(name, namespace)) and len(got) >= count and got,
                                      f"{count} {name!r} event(s) on {namespace}: saw {self.events[-5:]!r}", timeout)


class Clients:
    """Makes python-socketio 5 clients and disconnects them all at teardown."""

    def __init__(self) -> None:
        self.made: list[Any] = []

    def sync(self, reconnection: bool = False) -> tuple[WireOrderClient, Recorder]:
        sio = WireOrderClient(reconnection=reconnection)
        self.made.append(sio)
        return sio, Recorder(sio)

    def close_all(self) -> None:
        for sio in self.made:
            try:
                sio.shutdown()
            except Exception:  # noqa: BLE001 - a teardown of an already broken client
                pass


def connect(sio: Any, url: str, transports: list[str] | None, **kwargs: Any) -> None:
    """`sio.connect` with a generous namespace wait (the default of 1 s fails on a busy machine)."""
    sio.connect(url, transports=transports, wait_timeout=TIMEOUT, **kwargs)


def settle_transport(sio: Any, expected: str) -> None:
    """Waits until the client runs on ``expected`` (after polling→upgrade, the upgrade is done)."""
    wait_until(lambda: sio.transport() == expected, f"transport {expected} (now {sio.transport()})")


def fresh_client_round_trip(url: str, socketio_path: str = "socket.io") -> None:
    """The server still serves a new client: connect, one event echoed, disconnect."""
    sio = WireOrderClient(reconnection=False)
    recorder = Recorder(sio)
    try:
        connect(sio, url, ["polling"], socketio_path=socketio_path)
        sio.emit("message", "still up")
        assert recorder.wait_event("message-back")[0] == ("still up",)
    finally:
        sio.shutdown()

