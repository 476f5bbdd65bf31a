"""Socket.IO protocol v4 (socket.io 2.x clients, on EIO=3): the official python-socketio 4.6.1
client (with python-engineio 3.14.2) against `primus-testserver --transformer socket.io --raw
--allow-eio3`. The client lives in the EIO=3 virtualenv (``PRIMUS_EIO3_PYTHON``; requirements in
../engineio/requirements-eio3.txt and requirements-sio4.txt beside this file) and runs as a
subprocess (``sio4_client.py``), as Interop/engineio does for python-engineio 3.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from sio_support import start_raw

CLIENT = Path(__file__).resolve().parent / "sio4_client.py"
EIO3_PYTHON = os.environ.get("PRIMUS_EIO3_PYTHON")
if os.environ.get("CI") == "true" and not EIO3_PYTHON:
    raise RuntimeError("CI needs PRIMUS_EIO3_PYTHON (the EIO=3 virtualenv with python-socketio 4.6.1)")
pytestmark = pytest.mark.skipif(not EIO3_PYTHON, reason="set PRIMUS_EIO3_PYTHON to the EIO=3 virtualenv")

TRANSPORTS = [
    pytest.param("polling", "polling", id="polling"),
    pytest.param("websocket", "websocket", id="websocket"),
    pytest.param("", "websocket", id="upgrade"),
]

BYTES = {"$bytes": "0102"}


def run_client(scenario: str, url: str, transports: str, timeout: float = 120) -> dict:
    proc = subprocess.run(
        [EIO3_PYTHON or "", str(CLIENT), scenario, url, transports],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert proc.returncode == 0, f"python-socketio 4 client failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    assert result["socketio_version"] == "4.6.1" and result["engineio_version"].startswith("3."), result
    return result


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_protocol_v4_connect_namespaces_events_and_acks(start_testserver, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver, "--allow-eio3")
    result = run_client("events", server.http_url, transports)
    assert result["connects"] == ["/", "/custom"], "`/` implicitly, `/custom` by CONNECT"
    assert result["errors"] == []
    for namespace in ("/", "/custom"):
        seen = result["namespaces"][namespace]
        assert len(seen["auth"]) == 1 and isinstance(seen["auth"][0], dict), seen["auth"]
        assert seen["message-back"] == ["hello", namespace]
        assert seen["ack"] == ["ack me", 42]
        assert seen["question"] == ["what?"]
        assert seen["answer"] == ["got", "what?"]
    assert result["final_transport"] == expected
    assert result["after"] == ["after settling"]


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS)
def test_protocol_v4_binary_events_and_acks_both_ways(start_testserver, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver, "--allow-eio3")
    result = run_client("binary", server.http_url, transports)
    args = [1, BYTES, {"3": [False]}]
    for namespace in ("/", "/custom"):
        seen = result["namespaces"][namespace]
        assert seen["message-back"] == args
        assert seen["ack"] == args
        assert seen["question"] == args
        assert seen["answer"] == ["got", *args]
    assert result["final_transport"] == expected and result["errors"] == []


@pytest.mark.parametrize(("transports", "expected"), TRANSPORTS[:2])
def test_protocol_v4_unknown_namespace_is_refused_with_a_string_error(start_testserver, transports, expected) -> None:  # noqa: ANN001
    server = start_raw(start_testserver, "--allow-eio3")
    result = run_client("unknown", server.http_url, transports)
    assert result["connects"] == ["/"]
    assert result["errors"] == [["/nope", "Invalid namespace"]], "protocol v4 errors are plain strings"
    assert result["after"] == ["still here"]
