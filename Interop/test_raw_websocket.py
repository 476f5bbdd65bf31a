"""`primus-testserver --raw`: a plain WebSocket echo, checked by hand and by Autobahn.

The Autobahn cases run through kosoku (pinned in requirements.txt); permessage-deflate
(12.*, 13.*) runs in test_compression.py against `--compression`, and the slow performance
cases (9.*) are excluded. Reports land in
Interop/reports/autobahn/ (gitignored): index.json plus one JSON/HTML file per case.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
import websocket

from primus_support import REPORTS_DIR, SUMMARY_LINES, ServerProcess

AUTOBAHN_EXCLUDES = ["9.*", "12.*", "13.*"]
AUTOBAHN_TIMEOUT = 240  # seconds; the run takes about 11 s


def _kosoku() -> list[str]:
    exe = shutil.which("kosoku") or str(Path(sys.executable).parent / "kosoku")
    if not Path(exe).exists():
        pytest.fail("kosoku is not installed (pip install -r Interop/requirements.txt)")
    return [exe]


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
    shutil.rmtree(outdir, ignore_errors=True)
    cmd = [*_kosoku(), f"127.0.0.1:{server.port}", "-o", str(outdir)]
    for pattern in AUTOBAHN_EXCLUDES:
        cmd += ["-x", pattern]
    started = time.monotonic()
    proc = subprocess.run(
        cmd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=AUTOBAHN_TIMEOUT,
    )
    elapsed = time.monotonic() - started
    index_path = outdir / "index.json"
    assert index_path.exists(), f"kosoku wrote no report (exit {proc.returncode}):\n{proc.stdout[-4000:]}"
    index = json.loads(index_path.read_text())
    cases = {cid: entry for agent in index.values() for cid, entry in agent.items()}

    behaviors = Counter(entry["behavior"] for entry in cases.values())
    closes = Counter(entry["behaviorClose"] for entry in cases.values())
    failed = sorted(
        (cid for cid, e in cases.items() if e["behavior"] in ("FAILED", "ERROR")),
        key=lambda c: [int(p) for p in c.split(".")],
    )
    not_ok = sorted(
        ((cid, e["behavior"], e["behaviorClose"]) for cid, e in cases.items()
         if e["behavior"] != "OK" or e["behaviorClose"] != "OK"),
        key=lambda t: [int(p) for p in t[0].split(".")],
    )

    SUMMARY_LINES.append(
        f"Autobahn (kosoku, excluding {' '.join(AUTOBAHN_EXCLUDES)}): {len(cases)} cases "
        f"in {elapsed:.1f}s, exit {proc.returncode}; behavior {dict(sorted(behaviors.items()))}; "
        f"close {dict(sorted(closes.items()))}; report {outdir}/index.html"
    )
    for cid, beh, close in not_ok:
        SUMMARY_LINES.append(f"  {cid}: {beh} (close: {close})")

    assert cases, "the Autobahn report lists no case"
    assert not failed, f"Autobahn cases FAILED: {failed}\n{proc.stdout[-4000:]}"
    assert proc.returncode == 0, f"kosoku exited {proc.returncode}:\n{proc.stdout[-4000:]}"
    assert server.alive(), "the server died during the Autobahn run"
