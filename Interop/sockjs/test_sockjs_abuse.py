"""One hostile SockJS client must not exhaust the server: outbound budgets on sessions nobody
reads, the spark limits on sessions, and bad input that leaves everyone else served."""

from __future__ import annotations

import json
import uuid

import pytest
import requests


def sid() -> str:
    return uuid.uuid4().hex[:8]


def poll_all(base: str, limit: int = 20) -> list[str]:
    """Polls until the close frame; returns every frame."""
    frames = []
    for _ in range(limit):
        text = requests.post(base + "/xhr", timeout=5).text.rstrip("\n")
        frames.append(text)
        if text.startswith("c["):
            return frames
    pytest.fail(f"no close frame in {frames}")


@pytest.mark.parametrize("raw", [True, False])
def test_a_session_nobody_reads_is_closed_at_its_budget(start_testserver, raw):
    args = ["--transformer", "sockjs", "--max-buffered-bytes", "10000"]
    server = start_testserver(*(args + ["--raw"] if raw else args))
    base = f"{server.http_url}/{'echo' if raw else 'primus'}/000/{sid()}"
    assert requests.post(base + "/xhr", timeout=5).text == "o\n"
    payload = "x" * 1000
    for _ in range(50):
        message = payload if raw else json.dumps(payload)
        assert requests.post(base + "/xhr_send", data=json.dumps([message]), timeout=5).status_code == 204
    frames = poll_all(base)
    delivered = sum(frame.count(payload) for frame in frames)
    # What fit in the budget arrives; the rest was refused by closing the session.
    assert delivered <= 12
    assert frames[-1].startswith("c[")
    # Everyone else is still served.
    other = f"{server.http_url}/{'echo' if raw else 'primus'}/000/{sid()}"
    assert requests.post(other + "/xhr", timeout=5).text == "o\n"


def test_sessions_count_against_the_spark_limits(start_testserver):
    server = start_testserver("--transformer", "sockjs", "--max-sparks-per-address", "3")
    opened = [f"{server.http_url}/primus/000/{sid()}" for _ in range(3)]
    for base in opened:
        assert requests.post(base + "/xhr", timeout=5).text == "o\n"
    # The address holds as many sparks as it may: a fourth session is refused, and no session
    # object is left behind for it.
    fourth = f"{server.http_url}/primus/000/{sid()}"
    assert requests.post(fourth + "/xhr", timeout=5).status_code == 503
    assert requests.post(fourth + "/xhr_send", data='["x"]', timeout=5).status_code == 404
    command = json.dumps([json.dumps({"testserver": "sparks"})])
    assert requests.post(opened[0] + "/xhr_send", data=command, timeout=5).status_code == 204
    frame = requests.post(opened[0] + "/xhr", timeout=5).text
    values = [json.loads(m) for m in json.loads(frame[1:])]
    listed = [v["sparks"] for v in values if isinstance(v, dict) and "sparks" in v]
    assert len(listed) == 1
    assert len(listed[0]) == 3


def test_garbage_in_every_place_leaves_the_server_up(start_testserver):
    server = start_testserver("--transformer", "sockjs")
    base = f"{server.http_url}/primus/000/{sid()}"
    requests.post(base + "/xhr", timeout=5)
    bad_bodies = [b"\xff\xfe", b"[" * 10000, b'["' + b"\\ud800" + b'"]', b"[\"\\u12\"]", b"null", b'["ok"' + b" " * 1000]
    for body in bad_bodies:
        r = requests.post(base + "/xhr_send", data=body, timeout=5)
        assert r.status_code in (204, 500), (body[:20], r.status_code)
    # Invalid JSON inside a well-formed SockJS array reaches Primus, which answers as Primus does.
    assert requests.post(base + "/xhr_send", data=json.dumps(["{not json"]), timeout=5).status_code == 204
    for path in [f"/primus/a/{sid()}/xhr?c=%", f"/primus/%00/%00{sid()}/xhr", "/primus/" + "a" * 5000 + f"/{sid()}/xhr"]:
        assert requests.post(server.http_url + path, timeout=5).status_code in (200, 404, 414, 431, 400)
    assert requests.get(server.http_url + "/primus/info", timeout=5).status_code == 200
