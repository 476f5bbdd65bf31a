"""HAProxy in front of three nodes (Scripts/cluster/haproxy.cfg), on its own: the nodes run
without Redis, so nothing but the proxy decides where a request goes.

- WebSockets are balanced round robin and pass through as tunnels; a SERVERID cookie pins one,
  and HAProxy strips the cookie before the node sees it (``indirect``).
- The polling transports (engine.io polling, SockJS xhr, BrowserChannel) keep every request of a
  session on the node that holds it, as long as the client returns the SERVERID cookie; without
  it, requests land on nodes that never heard of the session (the control that shows the cookie
  is what does the work).
- A node killed with SIGKILL is taken out by the health check; new clients reach the others,
  and the node comes back in once it answers again.
"""

from __future__ import annotations

import json
import signal
import uuid
from pathlib import Path

import requests

from browserchannel.bc_client import BackChannel, BCSession
from cluster_support import OfficialEngineIO, RawPrimus, SwiftChat, sparks_of, until

TIMEOUT = 10.0


def test_websockets_are_spread_round_robin_and_pass_through(start_cluster) -> None:  # noqa: ANN001
    cluster = start_cluster(redis=False)
    proxy = cluster.haproxy.ws_url()
    clients = [RawPrimus(proxy, f"ws#{i}") for i in range(6)]
    try:
        ids = []
        for index, client in enumerate(clients):
            assert client.request({"echo": index}) == {"echo": index}
            info = client.info()
            ids.append(info["id"])
            # HAProxy adds X-Forwarded-For; the SERVERID cookie it inserts is never forwarded.
            assert info["headers"].get("x-forwarded-for") == "127.0.0.1", info["headers"]
            assert "SERVERID" not in info["headers"].get("cookie", ""), info["headers"]
        held = {node.name: sparks_of(node) for node in cluster.nodes}
        assert {name: len(sparks) for name, sparks in held.items()} == {"node1": 2, "node2": 2, "node3": 2}, held
        assert set().union(*held.values()) == set(ids)
    finally:
        for client in clients:
            client.close()


def test_a_websocket_with_a_serverid_cookie_reaches_that_node(start_cluster) -> None:  # noqa: ANN001
    cluster = start_cluster(redis=False)
    pinned = [RawPrimus(cluster.haproxy.ws_url(), f"pinned#{i}", headers={"Cookie": "SERVERID=node2"}) for i in range(3)]
    try:
        ids = {client.info()["id"] for client in pinned}
        assert ids <= sparks_of(cluster.node("node2")), "a SERVERID=node2 cookie did not pin the WebSocket to node2"
    finally:
        for client in pinned:
            client.close()


def test_engineio_polling_and_upgrading_sessions_stay_on_their_node(start_cluster) -> None:  # noqa: ANN001
    """python-engineio keeps HAProxy's cookie in its requests session (and sends it on the
    upgrade), so a session's many polls and posts all reach its node."""
    cluster = start_cluster("--transformer", "engine.io", redis=False)
    polling = OfficialEngineIO(cluster.haproxy.http_url, "eio-polling", ["polling"])
    upgrading = [OfficialEngineIO(cluster.haproxy.http_url, f"eio-upgrade#{i}") for i in range(3)]
    try:
        for index in range(200):
            polling.write({"n": index})
        echoed = [polling.next_message() for _ in range(200)]
        assert echoed == [{"n": index} for index in range(200)]
        assert polling.transport() == "polling"
        for client in upgrading:
            assert client.peer.wait_until(lambda c=client: c.transport() == "websocket"), f"{client.label} did not upgrade"
            client.write({"upgraded": client.label})
            assert client.next_message() == {"upgraded": client.label}
        assert not polling.peer.disconnected.is_set() and not any(c.peer.disconnected.is_set() for c in upgrading)
        # The four sessions are spread over the nodes (round robin on their first request).
        held = {node.name: sparks_of(node, transformer="engine.io") for node in cluster.nodes}
        assert sum(len(s) for s in held.values()) == 4 and all(held.values()), held
    finally:
        for client in (polling, *upgrading):
            client.close()


def test_without_the_cookie_an_engineio_session_is_lost_between_nodes(start_cluster) -> None:  # noqa: ANN001
    """The control: the same requests without the SERVERID cookie go round robin, and two nodes
    out of three answer that they do not know the session."""
    cluster = start_cluster("--transformer", "engine.io", redis=False)
    base = f"{cluster.haproxy.http_url}/primus/?EIO=4&transport=polling"
    handshake = requests.get(base, timeout=TIMEOUT)
    assert handshake.status_code == 200 and handshake.text.startswith("0{"), handshake.text
    cookie = handshake.cookies.get("SERVERID")
    assert cookie in ("node1", "node2", "node3"), handshake.headers
    sid = json.loads(handshake.text[1:])["sid"]
    message = '4"hello"'
    without = [requests.post(f"{base}&sid={sid}", data=message, timeout=TIMEOUT).status_code for _ in range(3)]
    assert sorted(without) == [200, 400, 400], without
    with_cookie = [
        requests.post(f"{base}&sid={sid}", data=message, cookies={"SERVERID": cookie}, timeout=TIMEOUT).status_code
        for _ in range(3)
    ]
    assert with_cookie == [200, 200, 200]


def test_sockjs_xhr_polling_sessions_stay_on_their_node(start_cluster) -> None:  # noqa: ANN001
    cluster = start_cluster("--transformer", "sockjs", redis=False)
    sessions = []
    for index in range(3):
        http = requests.Session()  # keeps SERVERID, as a browser keeps cookies
        base = f"{cluster.haproxy.http_url}/primus/000/{uuid.uuid4().hex}"
        assert http.post(base + "/xhr", timeout=TIMEOUT).text == "o\n"
        sessions.append((http, base))
    assert len({http.cookies.get("SERVERID") for http, _ in sessions}) == 3, "three sessions, three nodes"
    for round_ in range(10):
        for index, (http, base) in enumerate(sessions):
            value = {"session": index, "round": round_}
            sent = http.post(base + "/xhr_send", data=json.dumps([json.dumps(value)]), timeout=TIMEOUT)
            assert sent.status_code == 204, (index, round_, sent.status_code, sent.text)
            answer = http.post(base + "/xhr", timeout=TIMEOUT).text
            assert answer.startswith("a["), answer
            assert [json.loads(m) for m in json.loads(answer[1:])] == [value]
    # The control: without the cookie, the session is unknown on the two other nodes.
    http, base = sessions[0]
    codes = [requests.post(base + "/xhr_send", data='["\\"x\\""]', timeout=TIMEOUT).status_code for _ in range(3)]
    assert sorted(codes) == [204, 404, 404], codes


def test_browserchannel_sessions_stay_on_their_node(start_cluster) -> None:  # noqa: ANN001
    cluster = start_cluster("--transformer", "browserchannel", redis=False)
    sessions: list[tuple[BCSession, BackChannel]] = []
    try:
        for _ in range(3):
            bc = BCSession(f"{cluster.haproxy.http_url}/primus")
            created = bc.create()
            assert created.status_code == 200, (created.status_code, created.text)
            # The back channel on the session's cookie jar (bc_client opens it without one).
            response = bc.http.get(
                bc.url("bind", RID="rpc", SID=bc.sid, CI=0, AID=bc.last_aid, TYPE="xmlhttp", zx="z4", t=1),
                stream=True, timeout=TIMEOUT,
            )
            assert response.status_code == 200, (response.status_code, response.text)
            sessions.append((bc, BackChannel(response).start()))
        assert len({bc.http.cookies.get("SERVERID") for bc, _ in sessions}) == 3
        for round_ in range(5):
            for index, (bc, back) in enumerate(sessions):
                value = {"session": index, "round": round_}
                assert bc.send([json.dumps(value)]).status_code == 200
                while True:
                    _, data = back.next_data(TIMEOUT)
                    if not data.startswith('"primus::ping::'):
                        break
                assert json.loads(data) == value
    finally:
        for _, back in sessions:
            back.close()


def test_a_killed_node_is_taken_out_and_comes_back(start_cluster) -> None:  # noqa: ANN001
    cluster = start_cluster(redis=False)
    node2 = cluster.node("node2")
    node2.kill(signal.SIGKILL)
    cluster.haproxy.wait_for_states({"node1": "UP", "node2": "DOWN", "node3": "UP"}, timeout=TIMEOUT)
    clients = [RawPrimus(cluster.haproxy.ws_url(), f"after-kill#{i}") for i in range(4)]
    try:
        ids = {client.info()["id"] for client in clients}
        assert ids == sparks_of(cluster.node("node1")) | sparks_of(cluster.node("node3"))
        node2.start()  # the same port
        cluster.haproxy.wait_for_states({"node2": "UP"}, timeout=TIMEOUT)
        back = [RawPrimus(cluster.haproxy.ws_url(), f"after-restart#{i}") for i in range(3)]
        clients += back
        assert {c.info()["id"] for c in back} & sparks_of(node2), "no new client reached the restarted node2"
    finally:
        for client in clients:
            client.close()


def test_swift_client_on_engineio_keeps_its_session_through_haproxy(start_cluster, bin_dir: Path) -> None:  # noqa: ANN001
    """The Swift client starts engine.io sessions on polling: behind a sticky proxy it must
    return the SERVERID cookie on every request of the session, as a browser does."""
    cluster = start_cluster("--transformer", "engine.io", redis=False)
    chat = SwiftChat(bin_dir, f"{cluster.haproxy.http_url}/primus", "swift-eio",
                     "--transformer", "engine.io", "--parser", "json")
    try:
        chat.wait_story(lambda line: line.startswith("connected to"), "the Swift client connecting")
        for index in range(5):
            chat.write(f"line {index}")
        assert [chat.next_message() for _ in range(5)] == [f"line {index}" for index in range(5)]
        problems = [line for line in chat.story if "error" in line or line == "disconnected"]
        assert problems == [], f"the Swift client lost its session behind HAProxy: {problems}"
    finally:
        chat.close()
