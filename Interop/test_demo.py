"""primus-demo: an HTML page at / and a chat at /primus (every message to every spark)."""

from __future__ import annotations

import requests

from primus_support import PrimusClient, ServerProcess


def test_demo_serves_html_page(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo()
    r = requests.get(f"{demo.http_url}/", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0].strip() == "text/html"
    assert "<html" in r.text.lower()


def test_demo_spec(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo("--ping-interval", "2500")
    r = requests.get(f"{demo.http_url}/primus/spec", timeout=5)
    assert r.status_code == 200
    spec = r.json()
    assert spec["pathname"] == "/primus"
    assert spec["pingInterval"] == 2500


def _recv_until(client: PrimusClient, wanted: object, skippable: list[object]) -> None:
    """Receive until ``wanted``; only messages in ``skippable`` may come before it."""
    for _ in range(len(skippable) + 1):
        got = client.recv()
        if got == wanted:
            return
        assert got in skippable, f"expected {wanted!r}, got {got!r}"
    raise AssertionError(f"{wanted!r} never arrived")


def test_demo_broadcasts_to_every_spark_sender_included(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo("--transformer", "websockets", "--parser", "json")
    with PrimusClient(demo.ws_url()) as a, PrimusClient(demo.ws_url()) as b:
        # Each spark is known to the server once its own hello came back to it (sender
        # included); a's hello reaches b only if b was registered by then.
        hellos: list[object] = [{"hello": "a"}, {"hello": "b"}]
        a.write(hellos[0])
        _recv_until(a, hellos[0], [])
        b.write(hellos[1])
        _recv_until(b, hellos[1], [hellos[0]])
        b.write("pongРУССКИЙ")
        _recv_until(a, "pongРУССКИЙ", [hellos[1]])
        # Messages of different senders are not ordered against each other: a's hello
        # may still be on its way to b.
        _recv_until(b, "pongРУССКИЙ", [hellos[0]])


def test_demo_answers_heartbeat_clients(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo("--ping-interval", "300")
    with PrimusClient(demo.ws_url()) as client:
        client.expect_silence(1.2)
        assert client.pings, "demo never pinged with --ping-interval 300"
        client.write(0)
        assert client.recv() == 0
