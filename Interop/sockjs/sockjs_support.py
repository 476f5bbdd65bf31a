"""Helpers for the SockJS interop tests: run the official sockjs-client in Node."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).resolve().parent
NODE_PATH = "/usr/share/nodejs"
DRIVER = HERE / "sockjs_node_client.js"


def require_sockjs_client() -> None:
    """The official client must be installed (.ci/run installs node-sockjs-client): fail, never skip."""
    if shutil.which("node") is None or not Path(NODE_PATH, "sockjs-client", "package.json").exists():
        pytest.fail("node and Debian's node-sockjs-client are required (apt-get install node-sockjs-client)")


def run_official_client(
    url: str, transport: str, messages: list[str], close_after: int = -1, timeout_ms: int = 15000
) -> list[dict[str, Any]]:
    """Runs the official client once; returns its events in order."""
    require_sockjs_client()
    proc = subprocess.run(
        ["node", str(DRIVER), url, transport, json.dumps(messages), str(close_after), str(timeout_ms)],
        env={"NODE_PATH": NODE_PATH, "PATH": "/usr/bin:/bin"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout_ms / 1000 + 10,
    )
    events = [json.loads(line) for line in proc.stdout.split("\n") if line.strip()]
    assert proc.returncode == 0, f"sockjs-client exited {proc.returncode}: {events} {proc.stderr[-2000:]}"
    return events
