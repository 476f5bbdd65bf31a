"""`primus-testserver --raw`: a plain WebSocket echo, checked by hand and by Autobahn.

The Autobahn cases run through kosoku (pinned in requirements.txt); permessage-deflate
(12.*, 13.*) runs in test_compression.py against `--compression`, and the slow performance
cases (9.*) are excluded. Reports land in
Interop/reports/autobahn/ (gitignored): index.json plus one JSON/HTML file per case.
"""

from __future__ import annotations

import pytest
import websocket

from primus_support import REPORTS_DIR, SUMMARY_LINES, ServerProcess, run_kosoku

AUTOBAHN_EXCLUDES = ["9.*", "12.*", "13.*"]
AUTOBAHN_TIMEOUT = 240  # seconds; the run takes about 11 s


def test_raw_echoes_text_as_text(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--raw", "--pathname", "/")
    ws = websocket.create_connection(server.ws_url("/"), timeout=5)
    try:
        ws.send("not json at all €")
        opcode, data = ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_TEXT
        assert data.decode("utf-8") == "not json at all €"
    finally:
        ws.close(timeout=1)


def test_raw_echoes_binary_as_binary(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--raw", "--pathname", "/")
    ws = websocket.create_connection(server.ws_url("/"), timeout=5)
    try:
        ws.send_binary(bytes(range(256)))
        opcode, data = ws.recv_data()
        assert opcode == websocket.ABNF.OPCODE_BINARY
        assert data == bytes(range(256))
    finally:
        ws.close(timeout=1)


def test_raw_sends_no_primus_heartbeat(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--raw", "--pathname", "/", "--ping-interval", "200")
    ws = websocket.create_connection(server.ws_url("/"), timeout=0.8)
    try:
        with pytest.raises(websocket.WebSocketTimeoutException):
            ws.recv()
    finally:
        ws.close(timeout=1)


def test_autobahn_conformance(start_testserver) -> None:  # noqa: ANN001
    server: ServerProcess = start_testserver("--raw", "--pathname", "/")
    outdir = REPORTS_DIR / "autobahn"
    run = run_kosoku(server.port, outdir, exclude=AUTOBAHN_EXCLUDES, timeout=AUTOBAHN_TIMEOUT)
    failed = run.with_behavior("FAILED", "ERROR")
    not_ok = sorted(
        ((cid, e["behavior"], e["behaviorClose"]) for cid, e in run.cases.items()
         if e["behavior"] != "OK" or e["behaviorClose"] != "OK"),
        key=lambda t: [int(p) for p in t[0].split(".")],
    )
    SUMMARY_LINES.append(run.summary(f"Autobahn (kosoku, excluding {' '.join(AUTOBAHN_EXCLUDES)})", outdir))
    for cid, beh, close in not_ok:
        SUMMARY_LINES.append(f"  {cid}: {beh} (close: {close})")

    assert run.cases, "the Autobahn report lists no case"
    assert not failed, f"Autobahn cases FAILED: {failed}\n{run.output[-4000:]}"
    assert run.returncode == 0, f"kosoku exited {run.returncode}:\n{run.output[-4000:]}"
    assert server.alive(), "the server died during the Autobahn run"
