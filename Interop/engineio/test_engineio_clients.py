"""The `engine.io` transformer against the official python-engineio clients.

python-engineio 4 (EIO=4) runs in the suite's own environment (``Interop/requirements-engineio.txt``)
with ``transports=['polling']``, ``['websocket']`` and the default polling-then-upgrade. The legacy
python-engineio 3 client (EIO=3) needs its own virtualenv (``requirements-eio3.txt`` beside this
file); its interpreter is named by ``PRIMUS_EIO3_PYTHON`` and those tests are skipped without it.

Each client runs as a subprocess (``eio_client.py``) so that it can be killed like a crashed
process, and so the same scenarios run under either client version.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from primus_support import ServerProcess, engineio_sparks as sparks

# In CI (CI=true) a missing client is a failure, never a silent skip.
if os.environ.get("CI") == "true":
    import engineio  # noqa: F401
else:
    pytest.importorskip("engineio", reason="pip install -r Interop/requirements-engineio.txt")

CLIENT = Path(__file__).resolve().parent / "eio_client.py"
EIO3_PYTHON = os.environ.get("PRIMUS_EIO3_PYTHON")

PING_INTERVAL_MS = 1000
PING_TIMEOUT_MS = 600

# (id, interpreter, transports, expected transport after connect, EIO flag for the server)
TRANSPORTS = [
    pytest.param(sys.executable, "polling", "polling", id="eio4-polling"),
    pytest.param(sys.executable, "websocket", "websocket", id="eio4-websocket"),
    pytest.param(sys.executable, "", "websocket", id="eio4-upgrade"),
]
if os.environ.get("CI") == "true" and not EIO3_PYTHON:
    raise RuntimeError("CI needs PRIMUS_EIO3_PYTHON (a python-engineio 3 virtualenv)")
needs_eio3 = pytest.mark.skipif(not EIO3_PYTHON, reason="set PRIMUS_EIO3_PYTHON to a python-engineio 3 virtualenv")
TRANSPORTS_EIO3 = [
    pytest.param(EIO3_PYTHON or "", "polling", "polling", id="eio3-polling", marks=needs_eio3),
    pytest.param(EIO3_PYTHON or "", "websocket", "websocket", id="eio3-websocket", marks=needs_eio3),
    pytest.param(EIO3_PYTHON or "", "", "websocket", id="eio3-upgrade", marks=needs_eio3),
]
ALL = TRANSPORTS + TRANSPORTS_EIO3


def start(start_testserver, *extra: str, interval_ms: int = 10_000, timeout_ms: int = 5_000) -> ServerProcess:  # noqa: ANN001
    # Generous heartbeats by default: 1,000 messages over polling take a few round trips of
    # 16 packets (python-engineio's limit), slower still on a busy CI machine.
    return start_testserver(
        "--transformer", "engine.io",
        "--ping-interval", str(interval_ms),
        "--ping-timeout", str(timeout_ms),
        "--allow-eio3",
        *extra,
    )


def run_client(python: str, scenario: str, url: str, transports: str, timeout: float = 90) -> dict:
    proc = subprocess.run(
        [python, str(CLIENT), scenario, url, transports],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"client failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize(("python", "transports", "expected"), ALL)
def test_echo_query_and_a_thousand_messages_in_order(start_testserver, python, transports, expected) -> None:  # noqa: ANN001
    server = start(start_testserver)
    result = run_client(python, "primus", f"{server.http_url}/primus/?foo=bar&answer=42", transports)
    assert result["transport"] == (expected if transports else "polling") or result["transport"] == expected
    assert result["final_transport"] == expected
    info = result["info"]
    assert info["id"] == result["sid"], "the spark id is the Engine.IO sid"
    assert info["query"]["foo"] == "bar" and info["query"]["answer"] == "42"
    assert info["query"]["EIO"] in ("3", "4")
    assert info["address"]["ip"] == "127.0.0.1"
    assert result["echo"] in (["hello € 😀", {"nested": [1, "two", None, True]}], ["hello €", {"nested": [1, "two", None, True]}])
    assert result["count"] == 1000 and result["in_order"]


@pytest.mark.parametrize(("python", "transports", "expected"), ALL)
def test_broadcasts_reach_polling_and_websocket_sessions_once_each_in_order(start_testserver, python, transports, expected) -> None:  # noqa: ANN001
    # The publisher (on the parametrized transport) and two more sessions, one polling and one
    # on a WebSocket, of the same client version: 300 broadcasts each, none lost, none doubled.
    server = start(start_testserver)
    result = run_client(python, "broadcast", f"{server.http_url}/primus/", transports)
    assert result["in_order"] == [True, True, True]


@pytest.mark.parametrize(("python", "transports", "expected"), ALL)
def test_raw_mode_echoes_text_and_binary_packets_as_they_are(start_testserver, python, transports, expected) -> None:  # noqa: ANN001
    server = start(start_testserver, "--raw")
    result = run_client(python, "raw", f"{server.http_url}/primus/", transports)
    assert result["final_transport"] == expected
    assert result["text"] == "plain text, not JSON €"
    assert result["binary_hex"] == b"\x00\x01\x02\xff binary".hex()
    assert result["in_order"]


@pytest.mark.parametrize(("python", "transports", "expected"), ALL)
def test_bytes_reach_the_spark_as_bytes_and_come_back_as_bytes(start_testserver, python, transports, expected) -> None:  # noqa: ANN001
    """Issue 11: a binary message (a WebSocket binary frame, a `b` record over polling) reaches
    the spark as bytes through the json parser and is echoed as binary; object keys keep their
    order."""
    server = start(start_testserver)
    result = run_client(python, "binary", f"{server.http_url}/primus/", transports)
    assert result["final_transport"] == expected
    assert result["binary_hex"] == b"\x00\x01\x02\xff bytes".hex()
    assert result["keys"] == [f"k{19 - index}" for index in range(20)]


@pytest.mark.parametrize(("python", "transports", "expected"), ALL)
def test_client_sees_the_servers_end(start_testserver, python, transports, expected) -> None:  # noqa: ANN001
    server = start(start_testserver)
    result = run_client(python, "end", f"{server.http_url}/primus/", transports)
    assert result["disconnected"], result
    assert result["seconds"] < 5
    assert "goodbye" in result["received"] and "primus::server::close" in result["received"], result


@pytest.mark.parametrize(("python", "transports", "expected"), ALL)
def test_server_sees_a_killed_client_go_within_the_heartbeat_window(start_testserver, python, transports, expected) -> None:  # noqa: ANN001
    server = start(start_testserver, interval_ms=PING_INTERVAL_MS, timeout_ms=PING_TIMEOUT_MS)
    proc = subprocess.Popen(
        [python, str(CLIENT), "hold", f"{server.http_url}/primus/", transports],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        sid = json.loads(line)["sid"]
        deadline = time.monotonic() + 10
        while sid not in sparks(server):
            assert time.monotonic() < deadline, "the client's spark never appeared"
            time.sleep(0.05)
        time.sleep(0.3)  # let an upgrade settle
    finally:
        proc.kill()
        proc.wait(timeout=5)
    killed = time.monotonic()
    window = (PING_INTERVAL_MS + PING_TIMEOUT_MS) / 1000
    while sid in sparks(server):
        assert time.monotonic() - killed < window + 1.0, f"spark {sid} still open {window + 1.0:.1f}s after the kill"
        time.sleep(0.05)
    assert server.alive()
