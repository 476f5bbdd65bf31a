"""Plain HTTP on the Primus server: /primus/spec, 426 on the pathname, 404 outside."""

from __future__ import annotations

import requests

from primus_support import ServerProcess

TIMEOUT = 5


def test_spec_defaults(testserver: ServerProcess) -> None:
    """Checklist 20: the spec of a default server."""
    r = requests.get(f"{testserver.http_url}/primus/spec", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0].strip() == "application/json"
    assert r.json() == {
        "pingInterval": 30000,
        "pathname": "/primus",
        "version": "8.0.9",
        "parser": "json",
        "transformer": "websockets",
    }


def test_spec_reflects_flags(start_testserver) -> None:  # noqa: ANN001
    """Checklist 12: the server applies its options (the spec shows them)."""
    server: ServerProcess = start_testserver(
        "--transformer", "websockets", "--parser", "json",
        "--pathname", "/realtime", "--ping-interval", "1234",
    )
    r = requests.get(f"{server.http_url}/realtime/spec", timeout=TIMEOUT)
    assert r.status_code == 200
    spec = r.json()
    assert spec["pingInterval"] == 1234
    assert spec["pathname"] == "/realtime"
    assert spec["parser"] == "json"
    assert spec["transformer"] == "websockets"


def test_spec_ping_interval_false_when_disabled(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--ping-interval", "0")
    r = requests.get(f"{server.http_url}/primus/spec", timeout=TIMEOUT)
    assert r.status_code == 200
    assert r.json()["pingInterval"] is False


def test_plain_get_on_pathname_is_426(testserver: ServerProcess) -> None:
    r = requests.get(f"{testserver.http_url}/primus", timeout=TIMEOUT)
    assert r.status_code == 426
    assert r.headers["content-type"].split(";")[0].strip() == "text/plain"
    assert r.text == "Upgrade Required"


def test_plain_get_with_query_on_pathname_is_426(testserver: ServerProcess) -> None:
    r = requests.get(f"{testserver.http_url}/primus?foo=bar", timeout=TIMEOUT)
    assert r.status_code == 426


def test_path_outside_pathname_is_404(testserver: ServerProcess) -> None:
    for path in ("/", "/other", "/prim", "/favicon.ico"):
        r = requests.get(f"{testserver.http_url}{path}", timeout=TIMEOUT)
        assert r.status_code == 404, path


def test_server_survives_http_keep_alive(testserver: ServerProcess) -> None:
    """Several requests on one kept-alive connection all get answers."""
    with requests.Session() as s:
        for _ in range(5):
            assert s.get(f"{testserver.http_url}/primus/spec", timeout=TIMEOUT).status_code == 200
        assert s.get(f"{testserver.http_url}/nope", timeout=TIMEOUT).status_code == 404


def test_readiness_line_printed_once(testserver: ServerProcess) -> None:
    requests.get(f"{testserver.http_url}/primus/spec", timeout=TIMEOUT)
    ready = [line for line in testserver.stdout_lines if line.startswith("listening on ")]
    assert ready == [f"listening on http://127.0.0.1:{testserver.port}"]
