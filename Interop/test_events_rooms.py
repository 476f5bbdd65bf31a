"""Named events, acknowledgements and rooms, built in for every transformer, in the wire format
of Primus's primus-emitter plugin: an event is the Primus message {"type":0,"data":[name,...]}
(with "id" when an acknowledgement is wanted), an acknowledgement {"type":1,"id":N,"data":[...]}.
Clients here speak it by hand over the websockets transformer (python websocket-client) and over
SockJS; the test server's handlers are in Sources/primus-testserver/TestServer.swift."""

from __future__ import annotations

import json
import uuid

import pytest
import websocket

from primus_support import PrimusClient


def event(name, *args, ack=None):
    packet = {"type": 0, "data": [name, *args]}
    if ack is not None:
        packet["id"] = ack
    return packet


def next_event(client: PrimusClient, name: str, timeout: float = 5.0):
    """The next event called ``name``; other messages are skipped."""
    for _ in range(50):
        value = client.recv(timeout)
        if isinstance(value, dict) and value.get("type") == 0 and value["data"][0] == name:
            return value
    raise AssertionError(f"no {name} event")


def next_ack(client: PrimusClient, ack_id: int, timeout: float = 5.0):
    for _ in range(50):
        value = client.recv(timeout)
        if isinstance(value, dict) and value.get("type") == 1 and value.get("id") == ack_id:
            return value["data"]
    raise AssertionError(f"no acknowledgement {ack_id}")


@pytest.fixture
def server(start_testserver):
    return start_testserver()


def connect(server) -> PrimusClient:
    return PrimusClient(server.ws_url())


def test_events_reach_their_handlers_and_answer(server):
    client = connect(server)
    client.write(event("message", 1, "two", {"three": [3]}))
    assert next_event(client, "message-back")["data"][1:] == [1, "two", {"three": [3]}]
    client.write(event("message-with-ack", "a", [1, 2], ack=7))
    assert next_ack(client, 7) == ["a", [1, 2]]


def test_an_event_nobody_handles_is_dropped_and_data_still_flows(server):
    client = connect(server)
    client.write(event("nobody-listens", 1))
    client.write({"plain": "data"})
    assert client.recv() == {"plain": "data"}
    # Look-alikes that are not exactly a packet stay data.
    for lookalike in [{"type": 0, "data": ["x"], "extra": 1}, {"type": 2, "data": []}, {"type": 0, "data": [1]}, {"type": 1, "data": []}]:
        client.write(lookalike)
        assert client.recv() == lookalike


def test_server_acks_in_both_directions_and_timeouts(server):
    client = connect(server)
    # The server asks ("question", "what?") and waits 2 s for our acknowledgement.
    client.write(event("ask", 2000, "what?"))
    question = next_event(client, "question")
    assert question["data"][1:] == ["what?"]
    ack_id = question["id"]
    client.write({"type": 1, "id": ack_id, "data": ["forty-two"]})
    assert next_event(client, "answer")["data"][1:] == ["forty-two"]
    # A late or made-up acknowledgement is ignored.
    client.write({"type": 1, "id": ack_id, "data": ["again"]})
    client.write({"type": 1, "id": 999999, "data": ["made up"]})
    # Unanswered: the server's wait times out.
    client.write(event("ask", 200, "silence?"))
    next_event(client, "question")
    assert next_event(client, "no-answer")["data"][1:] == ["timeout"]


def test_rooms_join_leave_and_broadcast_excluding_the_sender(server):
    alice, bob, carol = connect(server), connect(server), connect(server)
    for client, rooms in [(alice, ["blue"]), (bob, ["blue", "red"]), (carol, ["red"])]:
        client.write(event("join", *rooms, ack=1))
        assert next_ack(client, 1) == [sorted(rooms)]
    alice.write(event("to-room", "blue", "hello blue"))
    assert next_event(bob, "room-message")["data"][1:] == ["hello blue"]
    # Alice (the sender) and Carol (not in blue) hear nothing; a marker shows nothing came before it.
    for client in (alice, carol):
        client.write("marker")
        assert client.recv() == "marker"
    # A plain write to a room reaches the sender too.
    carol.write(event("write-room", "red", {"to": "red"}))
    assert bob.recv() == {"to": "red"}
    assert carol.recv() == {"to": "red"}
    bob.write(event("leave", "red", ack=2))
    assert next_ack(bob, 2) == [["blue"]]
    carol.write(event("write-room", "red", "only carol"))
    assert carol.recv() == "only carol"
    bob.write("marker")
    assert bob.recv() == "marker"


def test_rooms_are_left_when_a_spark_ends(server):
    alice, bob = connect(server), connect(server)
    for client in (alice, bob):
        client.write(event("join", "green", ack=1))
        next_ack(client, 1)
    bob.ws.close()
    alice.write(event("write-room", "green", "after bob left"))
    assert alice.recv() == "after bob left"
    alice.write({"testserver": "sparks"})
    assert len(alice.recv()["sparks"]) == 1


def test_emit_to_everyone(server):
    clients = [connect(server) for _ in range(3)]
    clients[0].write(event("emit-all", "hi all"))
    for client in clients:
        assert next_event(client, "everyone")["data"][1:] == ["hi all"]


def test_events_over_sockjs(start_testserver):
    """The same wire inside SockJS frames: events work on every transformer."""
    server = start_testserver("--transformer", "sockjs")
    ws = websocket.create_connection(f"ws://127.0.0.1:{server.port}/primus/000/{uuid.uuid4().hex[:8]}/websocket", timeout=5)
    assert ws.recv() == "o"
    ws.send(json.dumps([json.dumps(event("message-with-ack", "over sockjs", ack=3))]))
    while True:
        frame = ws.recv()
        if frame.startswith("a["):
            values = [json.loads(m) for m in json.loads(frame[1:])]
            acks = [v for v in values if isinstance(v, dict) and v.get("type") == 1]
            if acks:
                assert acks[0] == {"type": 1, "id": 3, "data": ["over sockjs"]}
                break
    ws.close()
