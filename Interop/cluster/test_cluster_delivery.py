"""Delivery across three engine.io nodes sharing Redis, behind HAProxy (issue 16, "Tests").

Clients are spread over the nodes: python websocket-client speaking Engine.IO over a WebSocket,
directly to each node and through HAProxy; the official python-engineio client through HAProxy,
upgrading to a WebSocket (three) and on polling only (one, kept on its node by HAProxy's cookie).
Each test opens fresh clients on the module's cluster, and asks every client's ``info`` for the
node it landed on (``--node-id``).

"Once" is checked with a marker: each client reads until a second broadcast from the same node,
which Redis delivers after the first, and nothing but the expected messages may come before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from cluster_support import Cluster, OfficialEngineIO, Peer, RawEngineIO, event


@dataclass
class Spread:
    """The clients of one test, with the node and spark id of each."""

    peers: list[Peer] = field(default_factory=list)
    node: dict[str, str] = field(default_factory=dict)
    spark: dict[str, str] = field(default_factory=dict)
    via_haproxy: set[str] = field(default_factory=set)

    def add(self, peer: Peer, via_haproxy: bool) -> None:
        info = peer.info()
        assert info.get("node") in ("node1", "node2", "node3"), f"{peer.label}: info has no node id: {info!r}"
        self.peers.append(peer)
        self.node[peer.label] = info["node"]
        self.spark[peer.label] = info["id"]
        if via_haproxy:
            self.via_haproxy.add(peer.label)

    def named(self, label: str) -> Peer:
        return next(p for p in self.peers if p.label == label)

    def on(self, node: str, via_haproxy: bool | None = None) -> list[Peer]:
        return [p for p in self.peers if self.node[p.label] == node
                and (via_haproxy is None or (p.label in self.via_haproxy) == via_haproxy)]


@pytest.fixture
def clients(engineio_cluster: Cluster) -> Iterator[Spread]:
    cluster = engineio_cluster
    spread = Spread()
    try:
        for node in cluster.nodes:
            spread.add(RawEngineIO(f"ws://127.0.0.1:{node.port}", f"ws@{node.name}"), via_haproxy=False)
        proxy_ws = f"ws://127.0.0.1:{cluster.haproxy.port}"
        for index in range(3):
            spread.add(RawEngineIO(proxy_ws, f"ws-haproxy#{index}"), via_haproxy=True)
        for index in range(3):
            spread.add(OfficialEngineIO(cluster.haproxy.http_url, f"eio-upgrade#{index}"), via_haproxy=True)
        spread.add(OfficialEngineIO(cluster.haproxy.http_url, "eio-polling", ["polling"]), via_haproxy=True)
        for peer in spread.peers:
            if isinstance(peer, OfficialEngineIO) and peer.label.startswith("eio-upgrade"):
                assert peer.peer.wait_until(lambda p=peer: p.transport() == "websocket"), f"{peer.label} did not upgrade"
        through = {spread.node[label] for label in spread.via_haproxy}
        assert through == {"node1", "node2", "node3"}, f"HAProxy did not spread the clients: {spread.node}"
        yield spread
    finally:
        for peer in spread.peers:
            peer.close()


def broadcast(sender: Peer, data: object) -> None:
    sender.write({"testserver": "broadcast", "data": data})


def test_a_broadcast_from_node1_reaches_every_client_once(clients: Spread) -> None:
    token = uuid.uuid4().hex
    sender = clients.named("ws@node1")
    broadcast(sender, {"broadcast": token})
    broadcast(sender, {"marker": token})
    for peer in clients.peers:
        got = peer.messages_until({"marker": token})
        assert got == [{"broadcast": token}], f"{peer.label} on {clients.node[peer.label]}: {got!r}"


def test_a_room_write_reaches_only_the_rooms_members_on_every_node(clients: Spread) -> None:
    token = uuid.uuid4().hex
    room = f"room-{token}"
    members = [clients.named("ws@node1"), clients.named("ws@node3")] + [
        p for p in clients.peers if isinstance(p, OfficialEngineIO)]
    others = [p for p in clients.peers if p not in members]
    assert {clients.node[p.label] for p in members} == {"node1", "node2", "node3"}, clients.node
    assert {clients.node[p.label] for p in others} == {"node1", "node2", "node3"}, clients.node
    for ack_id, member in enumerate(members, start=1):
        member.write(event("join", room, ack=ack_id))
        assert member.ack(ack_id) == [[room]], member.label

    # A plain write to the room, from a spark on node 2 that is not in it.
    writer = clients.named("ws@node2")
    writer.write(event("write-room", room, {"room": token}))
    broadcast(writer, {"marker": token})
    for peer in clients.peers:
        expected = [{"room": token}] if peer in members else []
        got = peer.messages_until({"marker": token})
        assert got == expected, f"{peer.label} on {clients.node[peer.label]} ({'member' if peer in members else 'not a member'}): {got!r}"

    # An event to the room's other members, from a member on node 1 (left out as the sender).
    emitter = clients.named("ws@node1")
    emitter.write(event("to-room", room, "to the others"))
    broadcast(emitter, {"marker2": token})
    for peer in clients.peers:
        expected = [event("room-message", "to the others")] if peer in members and peer is not emitter else []
        got = peer.messages_until({"marker2": token})
        assert got == expected, f"{peer.label} on {clients.node[peer.label]}: {got!r}"


def test_a_write_on_node1_reaches_a_spark_held_by_node3(clients: Spread) -> None:
    token = uuid.uuid4().hex
    writer = clients.named("ws@node1")
    targets = clients.on("node3")
    assert any(t.label in clients.via_haproxy for t in targets) and any(
        t.label not in clients.via_haproxy for t in targets), clients.node
    for target in targets:
        answer = writer.request({"testserver": "write", "spark": clients.spark[target.label], "data": {"to": target.label, "t": token}})
        assert answer == {"written": True}, f"write to {target.label} on node3: {answer!r}"
    unknown = writer.request({"testserver": "write", "spark": "no-such-spark-" + token, "data": "lost"})
    assert unknown == {"written": False}, unknown
    broadcast(writer, {"marker": token})
    for peer in clients.peers:
        expected = [{"to": peer.label, "t": token}] if peer in targets else []
        got = peer.messages_until({"marker": token})
        assert got == expected, f"{peer.label} on {clients.node[peer.label]}: {got!r}"
