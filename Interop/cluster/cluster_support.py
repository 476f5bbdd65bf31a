"""Clients of the cluster tests, all behind one small interface: ``write(value)`` and
``next_message(timeout)`` (the next Primus data message, decoded; heartbeats answered and
skipped). Each knows its ``label`` for failure messages.

- ``RawPrimus``: python websocket-client on the websockets transformer (``PrimusClient``).
- ``RawEngineIO``: python websocket-client speaking Engine.IO 4 over a WebSocket by hand.
- ``OfficialEngineIO``: the official python-engineio client (polling, upgraded or not).
- ``SwiftChat``: the Swift client, as ``primus-demo --client`` (the terminal client): it prints
  each message as a line of JSON and writes each line of its input as a JSON string.

The cluster itself is ``Scripts/cluster/primus_cluster.py`` (``Cluster``), imported from there.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any, Callable

import websocket

from engineio_peer import EngineIOPrimusPeer
from primus_support import REPO_ROOT, PrimusClient

sys.path.insert(0, str(REPO_ROOT / "Scripts" / "cluster"))
from primus_cluster import Cluster, ClusterError, Node, redis_command  # noqa: E402,F401

TIMEOUT = 10.0
# Node flags for missed-message recovery: a window far wider than any test.
RECOVERY = ("--recover-count", "1000", "--recover-ms", "60000")


def event(name: str, *args: Any, ack: int | None = None) -> dict[str, Any]:
    """A primus-emitter event packet (Interop/test_events_rooms.py has the wire format)."""
    packet: dict[str, Any] = {"type": 0, "data": [name, *args]}
    if ack is not None:
        packet["id"] = ack
    return packet


def until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.1) -> Any:
    """Polls ``condition`` until it returns something truthy (returned), or fails after ``timeout``."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = condition()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"{what}: not within {timeout:.0f}s (last: {last!r})")


class Peer:
    """The interface every client of these tests offers."""

    label = "peer"

    def write(self, value: Any) -> None:  # noqa: ANN401
        raise NotImplementedError

    def next_message(self, timeout: float = TIMEOUT) -> Any:  # noqa: ANN401
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    # -- built on the two above
    def request(self, value: Any, timeout: float = TIMEOUT) -> Any:  # noqa: ANN401
        self.write(value)
        return self.next_message(timeout)

    def info(self) -> dict[str, Any]:
        """The test server's ``info`` about this client's spark (``id``, ``node`` …)."""
        reply = self.request({"testserver": "info"})
        assert isinstance(reply, dict) and "id" in reply, f"{self.label}: unexpected info reply {reply!r}"
        return reply

    def messages_until(self, marker: Any, timeout: float = TIMEOUT) -> list[Any]:  # noqa: ANN401
        """Every message before ``marker`` (which is consumed), in arrival order."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{self.label}: no {marker!r} within {timeout:.0f}s (saw {seen[-5:]!r})")
            try:
                value = self.next_message(left)
            except TimeoutError:
                continue
            if value == marker:
                return seen
            seen.append(value)

    def ack(self, ack_id: int, timeout: float = TIMEOUT) -> Any:  # noqa: ANN401
        """The acknowledgement ``ack_id`` (other messages before it are dropped)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.next_message(max(0.01, deadline - time.monotonic()))
            if isinstance(value, dict) and value.get("type") == 1 and value.get("id") == ack_id:
                return value["data"]
        raise AssertionError(f"{self.label}: no acknowledgement {ack_id}")


class RawPrimus(Peer):
    """websocket-client on the websockets transformer (Interop's ``PrimusClient``)."""

    def __init__(self, url: str, label: str, headers: dict[str, str] | None = None) -> None:
        self.label = label
        self.client = PrimusClient(url, headers=headers)

    def write(self, value: Any) -> None:  # noqa: ANN401
        self.client.write(value)

    def next_message(self, timeout: float = TIMEOUT) -> Any:  # noqa: ANN401
        return self.client.recv(timeout)

    def close(self) -> None:
        self.client.close()


class RawEngineIO(Peer):
    """websocket-client speaking Engine.IO 4 over a WebSocket by hand, Primus's JSON inside:
    ``4<json>`` is a message; the server's ``2`` ping is answered ``3``; Primus heartbeats too."""

    def __init__(self, base_ws: str, label: str, pathname: str = "/primus", query: str = "") -> None:
        self.label = label
        url = f"{base_ws}{pathname}/?EIO=4&transport=websocket" + (f"&{query}" if query else "")
        self.ws = websocket.create_connection(url, timeout=TIMEOUT)
        opened = self.ws.recv()
        assert isinstance(opened, str) and opened.startswith("0{"), f"{label}: no Engine.IO open packet: {opened!r}"
        self.sid = json.loads(opened[1:])["sid"]

    def write(self, value: Any) -> None:  # noqa: ANN401
        self.ws.send("4" + json.dumps(value))

    def next_message(self, timeout: float = TIMEOUT) -> Any:  # noqa: ANN401
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"{self.label}: no message within {timeout:.1f}s")
            self.ws.settimeout(left)
            try:
                frame = self.ws.recv()
            except websocket.WebSocketTimeoutException as exc:
                raise TimeoutError(f"{self.label}: no message within {timeout:.1f}s") from exc
            if frame == "2":
                self.ws.send("3")
                continue
            if not isinstance(frame, str) or not frame.startswith("4"):
                raise AssertionError(f"{self.label}: unexpected Engine.IO packet {frame!r}")
            value = json.loads(frame[1:])
            if isinstance(value, str) and value.startswith("primus::ping::"):
                self.write("primus::pong::" + value[len("primus::ping::"):])
                continue
            return value

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except Exception:  # noqa: BLE001 - the node may be gone
            pass


class OfficialEngineIO(Peer):
    """The official python-engineio client (Interop/engineio_peer.py), which keeps cookies in its
    requests session and sends them on the upgrade too, as a browser does."""

    def __init__(self, http_url: str, label: str, transports: list[str] | None = None) -> None:
        self.label = label
        self.peer = EngineIOPrimusPeer(http_url, transports)

    def write(self, value: Any) -> None:  # noqa: ANN401
        self.peer.write(value)

    def next_message(self, timeout: float = TIMEOUT) -> Any:  # noqa: ANN401
        try:
            return self.peer.wait_for(1, timeout)[0]
        except TimeoutError as exc:
            raise TimeoutError(f"{self.label}: {exc}") from exc

    def transport(self) -> str:
        return self.peer.transport()

    def close(self) -> None:
        self.peer.close()


class SwiftChat(Peer):
    """The Swift client (``PrimusClient``) as ``primus-demo --client URL``: stdout lines are
    messages (JSON), stderr lines its connection's story (``connected to``, ``reconnected`` …).
    It writes each input line as a JSON string, so it cannot send test server commands."""

    def __init__(self, bin_dir: Path, url: str, label: str, *extra: str) -> None:
        self.label = label
        self.proc = subprocess.Popen(
            [str(bin_dir / "primus-demo"), "--client", url, *extra],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1,
        )
        self.messages: "queue.Queue[Any]" = queue.Queue()
        self.story: list[str] = []
        self._story_changed = threading.Condition()
        threading.Thread(target=self._read_stdout, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    def _read_stdout(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\n")
            try:
                self.messages.put(json.loads(line))
            except ValueError:
                self.messages.put(("not JSON", line))

    def _read_stderr(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            with self._story_changed:
                self.story.append(line.rstrip("\n"))
                self._story_changed.notify_all()

    def wait_story(self, predicate: Callable[[str], bool], what: str, timeout: float = 30.0, after: int = 0) -> int:
        """Index of the first stderr line from ``after`` on that satisfies ``predicate``."""
        deadline = time.monotonic() + timeout
        with self._story_changed:
            while True:
                for index in range(after, len(self.story)):
                    if predicate(self.story[index]):
                        return index
                left = deadline - time.monotonic()
                if left <= 0 or self.proc.poll() is not None:
                    raise AssertionError(f"{self.label}: {what} not seen (stderr: {self.story[-10:]!r}, "
                                         f"exit {self.proc.poll()})")
                self._story_changed.wait(min(left, 0.2))

    def write(self, value: Any) -> None:  # noqa: ANN401
        assert isinstance(value, str) and "\n" not in value, "the terminal client writes single-line strings"
        assert self.proc.stdin is not None
        self.proc.stdin.write(value + "\n")
        self.proc.stdin.flush()

    def next_message(self, timeout: float = TIMEOUT) -> Any:  # noqa: ANN401
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"{self.label}: no message within {timeout:.1f}s (stderr: {self.story[-5:]!r})") from None

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


def sparks_of(node: Node, pathname: str = "/primus", transformer: str = "websockets") -> set[str]:
    """The spark ids a node holds, asked directly over a connection of its own (left out)."""
    if transformer == "engine.io":
        asker: Peer = RawEngineIO(f"ws://127.0.0.1:{node.port}", f"asker@{node.name}", pathname)
    else:
        asker = RawPrimus(f"ws://127.0.0.1:{node.port}{pathname}", f"asker@{node.name}")
    try:
        own = asker.info()["id"]
        sparks = asker.request({"testserver": "sparks"})["sparks"]
        return set(sparks) - {own}
    finally:
        asker.close()


def registry(cluster: Cluster, prefix: str = "primus") -> tuple[dict[str, str], list[str]]:
    """The cluster's registry in Redis: spark id → node id (``<prefix>:sparks``), and the live
    nodes (``<prefix>:nodes``)."""
    assert cluster.redis is not None
    flat = cluster.redis.command("HGETALL", f"{prefix}:sparks")
    sparks = {flat[i].decode(): flat[i + 1].decode() for i in range(0, len(flat), 2)}
    nodes = [member.decode() for member in cluster.redis.command("ZRANGE", f"{prefix}:nodes", 0, -1)]
    return sparks, nodes


def holdings(cluster: Cluster) -> dict[str, set[str]]:
    """The spark ids each running node holds (websockets transformer)."""
    return {node.name: sparks_of(node) for node in cluster.nodes if node.alive()}
