"""Failures of a three-node cluster (websockets transformer, Redis, HAProxy), each test on a
cluster of its own:

- ``kill -9`` of node 2: its clients (the Swift client, which reconnects by itself, and a raw
  websocket-client reconnected by the test) come back through HAProxy on the other nodes; what
  the Swift client buffered while away arrives once; with recovery on, the broadcasts sent while
  they were away arrive after the reconnect, in order, once; the registry forgets node 2.
  HAProxy's port is closed (runtime API) from just before the kill until those broadcasts went
  out, so the clients are surely away while they are sent.
- The same for the Swift client's own recovery (it opts in by default), in a test of its own.
- Recovery on its own, on direct connections: a client that left and came back on another node
  gets what it missed, from where it says it was, and a plain client never sees the envelopes.
- redis-server killed and restarted on its port while a client broadcasts: no node crashes,
  local delivery goes on, and cross-node delivery (broadcasts, writes to a spark) resumes.

Recovery on the wire (the cluster design of issue 16): a client opts in with ``_primus_recover`` in its
URL (empty, then its last sequence); sequenced messages arrive as ``{"primus::seq": S, "data": D}``
and a baseline as ``{"primus::seq": S}``; S is ``<ms>-<n>``, compared as a pair of numbers.
"""

from __future__ import annotations

import signal
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from cluster_support import RECOVERY, Cluster, RawPrimus, SwiftChat, holdings, registry, until

TIMEOUT = 10.0
# How long the registry may take to forget a dead node: its heartbeats' expiry, with room for a
# loaded machine.
REGISTRY_EXPIRY_DEADLINE = 60.0


def sequence(text: str) -> tuple[int, int]:
    ms, n = text.split("-")
    return int(ms), int(n)


class RecoveringPrimus(RawPrimus):
    """A raw websocket-client that opts in to recovery by hand, as our clients do: it sends
    ``_primus_recover`` (empty, or its last sequence) on each connection, unwraps envelopes,
    keeps the greatest sequence it saw, and drops (and counts) any sequenced message at or
    below it."""

    def __init__(self, ws_url: str, label: str, last: tuple[int, int] | None = None) -> None:
        self.last = last
        self.delivered: list[tuple[tuple[int, int], Any]] = []
        self.dropped: list[Any] = []
        super().__init__(self._url(ws_url), label)

    def _url(self, ws_url: str) -> str:
        position = "" if self.last is None else f"{self.last[0]}-{self.last[1]}"
        return f"{ws_url}?_primus_recover={position}"

    def reconnect(self, ws_url: str) -> None:
        self.close()
        RawPrimus.__init__(self, self._url(ws_url), self.label)

    def next_message(self, timeout: float = TIMEOUT) -> Any:  # noqa: ANN401
        deadline = time.monotonic() + timeout
        while True:
            value = self.client.recv(max(0.01, deadline - time.monotonic()))
            if not (isinstance(value, dict) and "primus::seq" in value and set(value) <= {"primus::seq", "data"}):
                return value
            seq = sequence(value["primus::seq"])
            if self.last is not None and seq <= self.last:
                self.dropped.append(value)
                continue
            self.last = seq
            if "data" in value:
                self.delivered.append((seq, value["data"]))
                return value["data"]


def connect_swift_clients(cluster: Cluster, bin_dir: Path) -> dict[str, SwiftChat]:
    """One Swift client per node, through HAProxy: each connects in turn (round robin), and the
    node that gained a spark is the one it landed on."""
    chats: dict[str, SwiftChat] = {}
    try:
        for index in range(6):
            if len(chats) == 3:
                break
            before = holdings(cluster)
            chat = SwiftChat(bin_dir, f"{cluster.haproxy.http_url}/primus", f"swift#{index}",
                             "--transformer", "websockets", "--parser", "json")
            try:
                chat.wait_story(lambda line: line.startswith("connected to"), "the Swift client connecting")
                gained = until(lambda: [name for name, ids in holdings(cluster).items() if ids - before[name]],
                               TIMEOUT, f"{chat.label}'s spark on a node")
            except BaseException:
                chat.close()
                raise
            node = gained[0]
            if node in chats:
                chat.close()
            else:
                chat.label = f"swift@{node}"
                chats[node] = chat
        assert set(chats) == {"node1", "node2", "node3"}, f"HAProxy did not spread the Swift clients: {list(chats)}"
    except BaseException:
        for chat in chats.values():
            chat.close()
        raise
    return chats


def test_kill_9_of_node2_its_clients_move_recover_and_the_registry_forgets_it(start_cluster, bin_dir: Path) -> None:  # noqa: ANN001
    cluster = start_cluster(*RECOVERY)
    proxy = cluster.haproxy.ws_url()
    sender = RawPrimus(cluster.node("node1").ws_url(), "sender@node1")
    chats: dict[str, SwiftChat] = {}
    raw = None
    try:
        chats = connect_swift_clients(cluster, bin_dir)
        for _ in range(3):  # round robin: one of three connections lands on node 2
            candidate = RecoveringPrimus(proxy, "raw-recovering")
            if candidate.info().get("node") == "node2":
                raw = candidate
                break
            candidate.close()
        assert raw is not None, "no raw client landed on node2 through HAProxy"
        sparks, nodes = until(lambda: (lambda r: r if set(r[1]) == {"node1", "node2", "node3"} else None)(registry(cluster)),
                              TIMEOUT, "three live nodes in the registry")
        assert sparks.get(raw.info()["id"]) == "node2", sparks

        token = uuid.uuid4().hex
        sender.write({"testserver": "broadcast", "data": {"t": token, "n": 0}})
        for peer in [raw, *chats.values()]:
            assert peer.next_message() == {"t": token, "n": 0}, peer.label
        assert raw.last is not None, "the recovering client got no sequence with the broadcast"

        swift2 = chats["node2"]
        story_mark = len(swift2.story)
        # HAProxy stops taking connections first, so node 2's clients stay away (their reconnects
        # are refused) until the broadcasts below were sent; open connections stay as they are.
        cluster.haproxy.set_listening(False)
        cluster.node("node2").kill(signal.SIGKILL)
        raw.client.wait_closed(TIMEOUT)
        gone_at = swift2.wait_story(lambda line: line in ("disconnected", "the server stopped pinging"),
                                    "the Swift client on node2 noticing", after=story_mark)
        swift2.write(f"buffered {token}")  # it has no connection: buffered until it is back
        for n in range(1, 6):
            sender.write({"testserver": "broadcast", "data": {"t": token, "n": n}})
        cluster.haproxy.wait_for_states({"node2": "DOWN"}, timeout=TIMEOUT)
        cluster.haproxy.set_listening(True)

        raw.reconnect(proxy)  # what it missed comes first; its info is asked for after
        swift2.wait_story(lambda line: line.startswith("connected to") or line == "reconnected",
                          "the Swift client reconnecting through HAProxy", timeout=30, after=gone_at)
        sender.write({"testserver": "broadcast", "data": {"t": token, "n": 6}})
        marker = {"t": token, "n": 6}
        missed = [{"t": token, "n": n} for n in range(1, 6)]

        assert raw.messages_until(marker) == missed, "raw client after reconnecting"
        new_node = raw.info()["node"]
        assert new_node in ("node1", "node3"), new_node
        for node in ("node1", "node3"):
            assert chats[node].messages_until(marker) == missed, chats[node].label
        got = swift2.messages_until(marker, timeout=30)
        echoes = [m for m in got if m == f"buffered {token}"]
        if not echoes:  # its reply may come after the marker, never twice
            echoes = [m for m in [swift2.next_message(TIMEOUT)] if m == f"buffered {token}"]
        assert echoes == [f"buffered {token}"], f"the line buffered while away: {got!r}"
        swift_broadcasts = [m for m in got if isinstance(m, dict)]

        def node2_forgotten() -> Any:  # noqa: ANN401
            sparks, nodes = registry(cluster)
            return (sparks, nodes) if "node2" not in nodes and "node2" not in sparks.values() else None

        sparks, nodes = until(node2_forgotten, REGISTRY_EXPIRY_DEADLINE, "the registry forgetting node2", interval=0.5)
        assert sorted(nodes) == ["node1", "node3"], nodes
        assert sparks.get(raw.info()["id"]) == new_node, sparks
        assert cluster.node("node1").alive() and cluster.node("node3").alive()
        # Whatever the Swift client got of what it missed came in order and once (that it gets
        # all of it is the next test's).
        assert swift_broadcasts == [m for m in missed if m in swift_broadcasts], swift_broadcasts
    finally:
        for peer in [sender, raw, *chats.values()]:
            if peer is not None:
                peer.close()


def test_the_swift_client_gets_the_broadcasts_it_missed_while_its_node_was_down(start_cluster, bin_dir: Path) -> None:  # noqa: ANN001
    """With recovery on, the Swift client (which opts in by default) reconnects through HAProxy
    after its node was killed and receives what was broadcast meanwhile, in order, once."""
    cluster = start_cluster(*RECOVERY)
    before = holdings(cluster)
    chat = SwiftChat(bin_dir, f"{cluster.haproxy.http_url}/primus", "swift", "--transformer", "websockets", "--parser", "json")
    sender = None
    try:
        chat.wait_story(lambda line: line.startswith("connected to"), "the Swift client connecting")
        node = until(lambda: [name for name, ids in holdings(cluster).items() if ids - before[name]],
                     TIMEOUT, "the Swift client's spark on a node")[0]
        survivor = next(n for n in cluster.nodes if n.name != node)
        sender = RawPrimus(survivor.ws_url(), f"sender@{survivor.name}")
        token = uuid.uuid4().hex
        sender.write({"testserver": "broadcast", "data": {"t": token, "n": 0}})
        assert chat.next_message() == {"t": token, "n": 0}

        mark = len(chat.story)
        cluster.haproxy.set_listening(False)  # its reconnects are refused until the broadcasts went out
        cluster.node(node).kill(signal.SIGKILL)
        gone_at = chat.wait_story(lambda line: line in ("disconnected", "the server stopped pinging"),
                                  "the Swift client noticing", after=mark)
        missed = [{"t": token, "n": n} for n in (1, 2, 3)]
        for value in missed:
            sender.write({"testserver": "broadcast", "data": value})
        cluster.haproxy.wait_for_states({node: "DOWN"}, timeout=TIMEOUT)
        cluster.haproxy.set_listening(True)
        chat.wait_story(lambda line: line.startswith("connected to") or line == "reconnected",
                        "the Swift client reconnecting through HAProxy", timeout=30, after=gone_at)
        marker = {"t": token, "n": 4}
        sender.write({"testserver": "broadcast", "data": marker})
        got = chat.messages_until(marker, timeout=30)
        assert got == missed, (
            f"the Swift client got {got!r} of the broadcasts sent while it was away (the server keeps them "
            f"for clients that send _primus_recover; stderr {chat.story[-6:]!r})")
    finally:
        for peer in (chat, sender):
            if peer is not None:
                peer.close()


def test_recovery_replays_what_a_client_missed_from_where_it_was(start_cluster) -> None:  # noqa: ANN001
    cluster = start_cluster(*RECOVERY)
    node1, node2, node3 = (cluster.node(n) for n in ("node1", "node2", "node3"))
    sender = RawPrimus(node1.ws_url(), "sender@node1")
    plain = RawPrimus(node3.ws_url(), "plain@node3")
    recovering = RecoveringPrimus(node2.ws_url(), "recovering")
    late = None
    try:
        token = uuid.uuid4().hex

        def send(n: int) -> dict[str, Any]:
            sender.write({"testserver": "broadcast", "data": {"t": token, "n": n}})
            return {"t": token, "n": n}

        first = send(0)
        assert recovering.next_message() == first
        assert plain.next_message() == first
        recovering.close()
        missed = [send(n) for n in (1, 2, 3)]
        recovering.reconnect(node3.ws_url())  # back, on another node
        marker = send(4)
        assert recovering.messages_until(marker) == missed
        assert [data for _, data in recovering.delivered] == [{"t": token, "n": n} for n in range(5)]
        seqs = [seq for seq, _ in recovering.delivered]
        assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs), seqs

        # A client that says it saw up to message 2 gets 3 and 4, then what comes live.
        late = RecoveringPrimus(node1.ws_url(), "late", last=recovering.delivered[2][0])
        marker = send(5)
        assert late.messages_until(marker) == [{"t": token, "n": 3}, {"t": token, "n": 4}]

        # A plain Primus client sent nothing about recovery and sees no envelope.
        assert plain.messages_until(marker) == [{"t": token, "n": n} for n in range(1, 5)]
        assert not [text for text in plain.client.raw_log if "primus::seq" in text], plain.client.raw_log
    finally:
        for peer in (sender, plain, recovering, late):
            if peer is not None:
                peer.close()


def test_redis_killed_and_restarted_under_load(start_cluster) -> None:  # noqa: ANN001
    cluster = start_cluster()
    assert cluster.redis is not None
    peers = {node.name: RawPrimus(node.ws_url(), f"client@{node.name}") for node in cluster.nodes}
    ids = {name: peer.info()["id"] for name, peer in peers.items()}
    loader = RawPrimus(cluster.node("node1").ws_url(), "loader@node1")
    sent = [0]
    stop = threading.Event()
    errors: list[BaseException] = []

    def load() -> None:
        try:
            while not stop.is_set():
                sent[0] += 1
                loader.write({"testserver": "broadcast", "data": {"load": sent[0]}})
                try:  # read its own broadcasts back (so nothing piles up), which paces the load
                    while True:
                        loader.client.recv_text(0.01)
                except TimeoutError:
                    pass
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    def load_beyond(peer: RawPrimus, floor: int, timeout: float) -> int:
        """Reads ``peer`` until a load broadcast numbered above ``floor`` arrives."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = peer.next_message(max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            if isinstance(value, dict) and value.get("load", 0) > floor:
                return value["load"]
        raise AssertionError(f"{peer.label}: no load broadcast above {floor} within {timeout:.0f}s "
                             f"(sent {sent[0]}; nodes alive {[n.alive() for n in cluster.nodes]})")

    def written(writer: RawPrimus, spark: str, data: Any, timeout: float) -> None:  # noqa: ANN401
        """Asks until the write reports ``written: true`` (the registry may still be refilling)."""
        deadline = time.monotonic() + timeout
        answers = []
        while time.monotonic() < deadline:
            writer.write({"testserver": "write", "spark": spark, "data": data})
            while True:
                value = writer.next_message(TIMEOUT)
                if isinstance(value, dict) and "written" in value:
                    break
            answers.append(value)
            if value == {"written": True}:
                return
            time.sleep(0.2)  # pacing between attempts
        raise AssertionError(f"write to {spark} never succeeded: {answers[-3:]!r}")

    def read_until(peer: RawPrimus, wanted: Any, timeout: float) -> list[Any]:  # noqa: ANN401
        """Reads ``peer`` until ``wanted`` arrives (load broadcasts keep coming meanwhile)."""
        seen: list[Any] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                value = peer.next_message(max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                break
            seen.append(value)
            if value == wanted:
                return seen
        raise AssertionError(f"{peer.label}: no {wanted!r} within {timeout:.0f}s (last {seen[-3:]!r})")

    thread = threading.Thread(target=load, daemon=True)
    thread.start()
    try:
        load_beyond(peers["node3"], 0, TIMEOUT)  # cross-node delivery works before
        cluster.redis.kill(signal.SIGKILL)
        at_kill = sent[0]
        # Redis is away: no node crashes, and node 1's own clients still get its broadcasts.
        load_beyond(peers["node1"], at_kill + 50, 30)
        assert all(node.alive() for node in cluster.nodes), cluster.exited()

        cluster.redis.start()  # same port
        at_restart = sent[0]
        for name in ("node2", "node3"):
            load_beyond(peers[name], at_restart, 30)
        written(peers["node1"], ids["node3"], {"after": "restart"}, 30)
        assert {"after": "restart"} in read_until(peers["node3"], {"after": "restart"}, 30), \
            "the write to node3's spark after the restart"
        until(lambda: set(registry(cluster)[1]) == {"node1", "node2", "node3"}, 30,
              "every node back in the registry")
        assert not errors, errors
        assert all(node.alive() for node in cluster.nodes), cluster.exited()
    finally:
        stop.set()
        thread.join(5)
        for peer in (*peers.values(), loader):
            peer.close()
