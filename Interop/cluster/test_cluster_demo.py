"""``run-cluster --demo``: three primus-demo nodes sharing Redis behind HAProxy. The chat page
comes through the proxy, and two terminal chat clients (the Swift client) that HAProxy put on
different nodes hear each other."""

from __future__ import annotations

import uuid
from pathlib import Path

import requests

from cluster_support import SwiftChat, registry, until

TIMEOUT = 10.0


def test_demo_nodes_chat_across_nodes_through_haproxy(start_cluster, bin_dir: Path) -> None:  # noqa: ANN001
    cluster = start_cluster(product="primus-demo")  # its registry prefix is primus-demo
    page = requests.get(cluster.haproxy.http_url + "/", timeout=TIMEOUT)
    assert page.status_code == 200 and "<html" in page.text.lower(), page.status_code
    chats = []
    try:
        for index in range(2):  # one connection each: round robin puts them on two nodes
            chat = SwiftChat(bin_dir, f"{cluster.haproxy.http_url}/primus", f"chat#{index}",
                             "--transformer", "websockets", "--parser", "json")
            chats.append(chat)
            chat.wait_story(lambda line: line.startswith("connected to"), f"{chat.label} connecting")
        sparks = until(lambda: (lambda s: s if len(s) == 2 else None)(registry(cluster, prefix="primus-demo")[0]),
                       TIMEOUT, "both chat clients in the registry")
        assert len(set(sparks.values())) == 2, f"the two chat clients share a node: {sparks}"
        line = f"hello from the first node {uuid.uuid4().hex}"
        chats[0].write(line)
        for chat in chats:
            assert chat.messages_until(line) == [], chat.label
    finally:
        for chat in chats:
            chat.close()
