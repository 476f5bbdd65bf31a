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


def test_demo_broadcasts_to_every_spark_sender_included(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo("--transformer", "websockets", "--parser", "json")
    with PrimusClient(demo.ws_url()) as a, PrimusClient(demo.ws_url()) as b:
        # Make sure both sparks are registered before broadcasting: each sends a
        # hello, and each hello must come back to both.
        a.write({"hello": "a"})
        assert a.recv() == {"hello": "a"}
        assert b.recv() == {"hello": "a"}
        b.write("pongРУССКИЙ")
        assert a.recv() == "pongРУССКИЙ"
        assert b.recv() == "pongРУССКИЙ"


def test_demo_answers_heartbeat_clients(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo("--ping-interval", "300")
    with PrimusClient(demo.ws_url()) as client:
        client.expect_silence(1.2)
        assert client.pings, "demo never pinged with --ping-interval 300"
        client.write(0)
        assert client.recv() == 0
