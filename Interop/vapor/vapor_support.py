"""Helpers of the PrimusVapor tests: the example's name, and the official python-engineio client
driven in-process with every wait bounded."""

from __future__ import annotations

import json
import signal
import threading
import time
from typing import Any

import engineio

from primus_support import ServerProcess

EXAMPLE = "VaporChat"
TIMEOUT = 15.0


class EngineIOPeer:
    """One python-engineio 4 client session on ``/primus`` speaking Primus's JSON parser:
    messages are JSON texts, and Primus heartbeats are answered as a Primus client would."""

    def __init__(self, url: str, transports: list[str] | None) -> None:
        self.client = engineio.Client()
        self.received: list[Any] = []
        self.cond = threading.Condition()
        self.disconnected = threading.Event()
        self.client.on("message", self._on_message)
        self.client.on("disconnect", self._on_disconnect)
        kwargs: dict[str, Any] = {"engineio_path": "/primus"}
        if transports:
            kwargs["transports"] = transports
        self.client.connect(url, **kwargs)

    def _on_message(self, data: Any) -> None:  # noqa: ANN401
        # python-engineio already decodes JSON texts it can (not bare numbers): decode the rest.
        value = data
        if isinstance(data, str):
            try:
                value = json.loads(data)
            except ValueError:
                value = data
        if isinstance(value, str) and value.startswith("primus::ping::"):
            self.write("primus::pong::" + value[len("primus::ping::"):])
            return
        with self.cond:
            self.received.append(value)
            self.cond.notify_all()

    def _on_disconnect(self, *_: Any) -> None:  # noqa: ANN401
        self.disconnected.set()
        with self.cond:
            self.cond.notify_all()

    def write(self, value: Any) -> None:  # noqa: ANN401
        self.client.send(json.dumps(value))

    def wait_for(self, value: Any, timeout: float = TIMEOUT) -> None:  # noqa: ANN401
        """Until ``value`` arrived (python-engineio hands messages to threads, so any order)."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while value not in self.received:
                left = deadline - time.monotonic()
                assert left > 0, f"{value!r} not received within {timeout}s (got {self.received[-5:]!r})"
                self.cond.wait(left)
            self.received.remove(value)

    def wait_until(self, condition, timeout: float = TIMEOUT) -> bool:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        with self.cond:
            while not condition():
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True

    def transport(self) -> str:
        return self.client.transport()

    def close(self) -> None:
        try:
            self.client.disconnect()
        except Exception:  # noqa: BLE001 - the server may be gone already
            pass


def terminate(server: ServerProcess, timeout: float = 30.0) -> int:
    """SIGTERM, then the exit status (the example shuts down gracefully and exits 0)."""
    assert server.proc is not None
    server.proc.send_signal(signal.SIGTERM)
    return server.proc.wait(timeout=timeout)
