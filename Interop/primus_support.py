"""Helpers for the interop suite: start our server binaries, speak Primus by hand.

Everything here is bounded in time: every wait takes a timeout and raises
``AssertionError`` (or ``TimeoutError``) when it runs out, so no test can hang.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import websocket  # websocket-client

REPO_ROOT = Path(__file__).resolve().parent.parent
INTEROP_DIR = Path(__file__).resolve().parent
REPORTS_DIR = INTEROP_DIR / "reports"

READY_RE = re.compile(r"^listening on http://127\.0\.0\.1:(\d+)$")

# How long a server may take between exec and its readiness line.
STARTUP_TIMEOUT = 30.0
# Default time to wait for one message.
RECV_TIMEOUT = 5.0

# Lines that tests want printed in pytest's terminal summary (e.g. the Autobahn verdicts).
SUMMARY_LINES: list[str] = []


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --------------------------------------------------------------------------- binaries


def _run_bounded(cmd: list[str], timeout: float) -> str:
    proc = subprocess.run(
        cmd,
        cwd=REPO_ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise RuntimeError(
            f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{proc.stdout[-8000:]}"
        )
    return proc.stdout


def locate_binaries(products: tuple[str, ...] = ("primus-testserver", "primus-demo")) -> Path:
    """Directory holding our executables.

    ``PRIMUS_BIN`` names it directly. Otherwise the products are built with
    ``swift build`` in the repository root (``PRIMUS_SCRATCH_PATH`` optionally
    selects a ``--scratch-path``) and ``swift build --show-bin-path`` names it.
    """
    env_bin = os.environ.get("PRIMUS_BIN")
    if env_bin:
        path = Path(env_bin)
        if not path.is_dir():
            raise RuntimeError(f"PRIMUS_BIN={env_bin} is not a directory")
        return path
    scratch = os.environ.get("PRIMUS_SCRATCH_PATH")
    extra = ["--scratch-path", scratch] if scratch else []
    for product in products:
        _run_bounded(["swift", "build", *extra, "--product", product], timeout=1800)
    out = _run_bounded(["swift", "build", *extra, "--show-bin-path"], timeout=300)
    return Path(out.strip().splitlines()[-1])


# --------------------------------------------------------------------------- server processes


def engineio_sparks(server: "ServerProcess") -> list[str]:
    """The open spark ids of a ``primus-testserver --transformer engine.io``, asked over an
    Engine.IO WebSocket session of its own (which is one of them)."""
    ws = websocket.create_connection(
        f"ws://127.0.0.1:{server.port}/primus/?EIO=4&transport=websocket", timeout=5
    )
    try:
        assert ws.recv().startswith("0{")
        ws.send('4{"testserver":"sparks"}')
        while True:
            frame = ws.recv()
            if frame.startswith("4{"):
                return json.loads(frame[1:])["sparks"]
    finally:
        ws.close()


@dataclass
class AutobahnRun:
    """What one kosoku run reported: every case by id, its exit code, output and duration."""

    cases: dict[str, dict[str, Any]]
    returncode: int
    output: str
    elapsed: float

    @property
    def behaviors(self) -> Counter[str]:
        return Counter(entry["behavior"] for entry in self.cases.values())

    @property
    def closes(self) -> Counter[str]:
        return Counter(entry["behaviorClose"] for entry in self.cases.values())

    def with_behavior(self, *behaviors: str) -> list[str]:
        """Case ids whose behavior is one of ``behaviors``, in case order."""
        return sorted(
            (cid for cid, entry in self.cases.items() if entry["behavior"] in behaviors),
            key=lambda cid: [int(part) for part in cid.split(".")],
        )

    def summary(self, title: str, outdir: Path) -> str:
        return (
            f"{title}: {len(self.cases)} cases in {self.elapsed:.1f}s, exit {self.returncode}; "
            f"behavior {dict(sorted(self.behaviors.items()))}; close {dict(sorted(self.closes.items()))}; "
            f"report {outdir}/index.html"
        )


def run_kosoku(port: int, outdir: Path, *, include: list[str] = (), exclude: list[str] = (),
               timeout: float) -> AutobahnRun:
    """Runs the Autobahn cases (kosoku, pinned in requirements.txt) against 127.0.0.1:``port``
    and reads its ``index.json``; fails the test when kosoku is missing or wrote no report."""
    import pytest

    exe = shutil.which("kosoku") or str(Path(sys.executable).parent / "kosoku")
    if not Path(exe).exists():
        pytest.fail("kosoku is not installed (pip install -r Interop/requirements.txt)")
    shutil.rmtree(outdir, ignore_errors=True)
    cmd = [exe, f"127.0.0.1:{port}", "-o", str(outdir)]
    for pattern in include:
        cmd += ["-i", pattern]
    for pattern in exclude:
        cmd += ["-x", pattern]
    started = time.monotonic()
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, timeout=timeout)
    elapsed = time.monotonic() - started
    index_path = outdir / "index.json"
    assert index_path.exists(), f"kosoku wrote no report (exit {proc.returncode}):\n{proc.stdout[-4000:]}"
    index = json.loads(index_path.read_text())
    cases = {cid: entry for agent in index.values() for cid, entry in agent.items()}
    return AutobahnRun(cases=cases, returncode=proc.returncode, output=proc.stdout, elapsed=elapsed)


@dataclass
class ServerProcess:
    """One of our server executables, running on a loopback port."""

    executable: Path
    args: list[str]
    log_dir: Path
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    stdout_lines: list[str] = field(default_factory=list)
    _ready: threading.Event = field(default_factory=threading.Event)
    _reader: threading.Thread | None = None
    _stderr_path: Path | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str = "/primus") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        last_error = ""
        for _attempt in range(3):  # a free port can be taken between probe and bind
            self.port = free_port()
            self.stdout_lines = []
            self._ready = threading.Event()
            self.log_dir.mkdir(parents=True, exist_ok=True)
            self._stderr_path = self.log_dir / f"{self.executable.name}-{self.port}.stderr.log"
            stderr_file = open(self._stderr_path, "w")
            try:
                self.proc = subprocess.Popen(
                    [str(self.executable), *self.args, "--port", str(self.port)],
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.PIPE,
                    stderr=stderr_file,
                    text=True,
                    bufsize=1,
                )
            finally:
                stderr_file.close()
            self._reader = threading.Thread(target=self._read_stdout, daemon=True)
            self._reader.start()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                if self._ready.wait(0.05):
                    return
                if self.proc.poll() is not None:
                    break
            last_error = (
                f"{self.executable.name} {' '.join(self.args)} --port {self.port}: "
                + (
                    f"exited with {self.proc.returncode}"
                    if self.proc.poll() is not None
                    else f"no readiness line within {timeout:.0f}s"
                )
                + f"\nstdout: {self.stdout_lines!r}\nstderr: {self.stderr_text()[-4000:]}"
            )
            self.stop()
            if "in use" not in last_error.lower():
                break
        raise AssertionError(last_error)

    def _read_stdout(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        for line in self.proc.stdout:
            line = line.rstrip("\r\n")
            self.stdout_lines.append(line)
            m = READY_RE.match(line)
            if m and int(m.group(1)) == self.port:
                self._ready.set()

    def stderr_text(self) -> str:
        if self._stderr_path and self._stderr_path.exists():
            return self._stderr_path.read_text(errors="replace")
        return ""

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        if self._reader is not None:
            self._reader.join(timeout=2)
        if self.proc.stdout is not None:
            self.proc.stdout.close()


# --------------------------------------------------------------------------- fixed-port servers

class Respawned:
    """A server executable started on a given port (to restart a server in place)."""

    def __init__(self, executable: Path, args: list[str], port: int) -> None:
        self.executable = executable
        self.args = args
        self.port = port
        self.proc: subprocess.Popen[str] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30.0) -> "Respawned":
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            proc = subprocess.Popen(
                [str(self.executable), *self.args, "--port", str(self.port)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                bufsize=1,
            )
            ready = threading.Event()
            lines: list[str] = []

            def read(proc: subprocess.Popen[str] = proc) -> None:
                assert proc.stdout is not None
                for line in proc.stdout:
                    lines.append(line.rstrip())
                    if READY_RE.match(line.strip()):
                        ready.set()

            threading.Thread(target=read, daemon=True).start()
            while time.monotonic() < deadline and not ready.is_set() and proc.poll() is None:
                ready.wait(0.05)
            if ready.is_set():
                self.proc = proc
                return self
            if proc.poll() is None:
                proc.kill()
            proc.wait(timeout=5)
            last = "\n".join(lines[-20:])
            time.sleep(0.2)  # port still held by the previous process: try again
        raise AssertionError(f"could not restart {self.executable.name} on port {self.port}:\n{last}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None


def locate_example(name: str) -> Path:
    """The executable of the example package ``Examples/<name>`` (a Hummingbird or Vapor app).

    ``PRIMUS_EXAMPLE_<NAME>`` (the name upper-cased, e.g. ``PRIMUS_EXAMPLE_HUMMINGBIRDCHAT``)
    names it directly (CI builds the examples once); otherwise the package is built with
    ``swift build --package-path Examples/<name>``, which takes minutes the first time.
    """
    env = os.environ.get(f"PRIMUS_EXAMPLE_{name.upper()}")
    if env:
        path = Path(env)
        if not path.is_file():
            raise RuntimeError(f"PRIMUS_EXAMPLE_{name.upper()}={env} is not a file")
        return path
    package = ["--package-path", str(REPO_ROOT / "Examples" / name)]
    _run_bounded(["swift", "build", *package, "--product", name], timeout=2400)
    out = _run_bounded(["swift", "build", *package, "--show-bin-path"], timeout=300)
    return Path(out.strip().splitlines()[-1]) / name


# --------------------------------------------------------------------------- Primus client


class Closed(Exception):
    """The connection ended. ``code`` is the close code, or None without a close frame."""

    def __init__(self, code: int | None, reason: str = "", frame: bool = True) -> None:
        super().__init__(f"closed: code={code} reason={reason!r} close_frame={frame}")
        self.code = code
        self.reason = reason
        self.frame = frame


PING_RE = re.compile(r"^primus::ping::(.*)$")


class PrimusClient:
    """A hand-written Primus client over websocket-client (JSON parser, websockets transformer).

    ``recv()`` returns decoded data messages. Heartbeat pings are answered with the
    matching pong when ``answer_pings`` is true (the default), and are always
    recorded in ``pings`` and never returned as data.
    """

    def __init__(
        self,
        url: str,
        headers: dict[str, str] | None = None,
        answer_pings: bool = True,
        timeout: float = RECV_TIMEOUT,
    ) -> None:
        header_list = [f"{k}: {v}" for k, v in (headers or {}).items()]
        self.ws = websocket.create_connection(url, header=header_list, timeout=timeout)
        self.answer_pings = answer_pings
        self.pings: list[str] = []
        self.raw_log: list[str] = []

    # -- sending
    def write(self, value: Any) -> None:
        self.ws.send(json.dumps(value, ensure_ascii=False), websocket.ABNF.OPCODE_TEXT)

    def send_raw_text(self, text: str) -> None:
        self.ws.send(text, websocket.ABNF.OPCODE_TEXT)

    def send_raw_bytes_as_text(self, data: bytes) -> None:
        """A text frame carrying exactly ``data`` (possibly invalid UTF-8)."""
        self.ws.send(data, websocket.ABNF.OPCODE_TEXT)

    # -- receiving
    def recv_frame(self, timeout: float = RECV_TIMEOUT) -> tuple[int, bytes]:
        """Next data frame as (opcode, payload). Raises Closed or TimeoutError.

        Control frames are handled here rather than by websocket-client so that a close
        frame is reported even when answering it fails (the server may already have reset
        the TCP connection after its close frame, e.g. when it fails a connection while
        the client is still sending).
        """
        ws = self.ws
        ws.settimeout(max(timeout, 0.001))
        while True:
            try:
                frame = ws.recv_frame()
            except (websocket.WebSocketTimeoutException, socket.timeout) as exc:
                raise TimeoutError(f"nothing received within {timeout}s") from exc
            except (websocket.WebSocketConnectionClosedException, OSError) as exc:
                raise Closed(None, str(exc), frame=False) from exc
            opcode = frame.opcode
            if opcode in (websocket.ABNF.OPCODE_TEXT, websocket.ABNF.OPCODE_BINARY,
                          websocket.ABNF.OPCODE_CONT):
                ws.cont_frame.validate(frame)
                ws.cont_frame.add(frame)
                if ws.cont_frame.is_fire(frame):
                    opcode, frame = ws.cont_frame.extract(frame)
                    data = frame.data
                    if isinstance(data, str):
                        data = data.encode("utf-8")
                    return opcode, bytes(data)
            elif opcode == websocket.ABNF.OPCODE_CLOSE:
                data = frame.data or b""
                code = int.from_bytes(data[:2], "big") if len(data) >= 2 else None
                reason = data[2:].decode("utf-8", "replace")
                try:
                    ws.send_close()
                except (websocket.WebSocketException, OSError):
                    pass
                raise Closed(code, reason, frame=True)
            elif opcode == websocket.ABNF.OPCODE_PING:
                try:
                    ws.pong(frame.data)
                except (websocket.WebSocketException, OSError):
                    pass

    def recv_text(self, timeout: float = RECV_TIMEOUT) -> str:
        """Next Primus payload (a text frame) undecoded, pings handled and skipped."""
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no data message within {timeout}s")
            opcode, payload = self.recv_frame(remaining)
            assert opcode == websocket.ABNF.OPCODE_TEXT, (
                f"expected a text frame, got opcode {opcode} with {payload[:80]!r}"
            )
            text = payload.decode("utf-8")
            self.raw_log.append(text)
            try:
                decoded = json.loads(text)
            except ValueError:
                return text
            if isinstance(decoded, str):
                m = PING_RE.match(decoded)
                if m:
                    self.pings.append(m.group(1))
                    if self.answer_pings:
                        self.write(f"primus::pong::{m.group(1)}")
                    continue
            return text

    def recv(self, timeout: float = RECV_TIMEOUT) -> Any:
        """Next Primus message, JSON-decoded (pings handled and skipped)."""
        text = self.recv_text(timeout)
        try:
            return json.loads(text)
        except ValueError as exc:
            raise AssertionError(f"server sent a text frame that is not JSON: {text!r}") from exc

    def expect_close(self, timeout: float = RECV_TIMEOUT) -> Closed:
        """Wait for the end of the connection; fails if a data message arrives first."""
        try:
            msg = self.recv_text(timeout)
        except Closed as closed:
            return closed
        raise AssertionError(f"expected the connection to close, got message {msg!r}")

    def wait_closed(self, timeout: float) -> tuple[Closed, list[str]]:
        """Wait for the end of the connection, collecting any data messages meanwhile."""
        seen: list[str] = []
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"connection still open after {timeout}s (saw {seen!r})")
            try:
                seen.append(self.recv_text(remaining))
            except Closed as closed:
                return closed, seen
            except TimeoutError:
                continue

    def expect_silence(self, duration: float) -> None:
        """No data message (pings excepted) and no close for ``duration`` seconds."""
        try:
            msg = self.recv_text(duration)
        except TimeoutError:
            return
        raise AssertionError(f"expected no message, got {msg!r}")

    def request(self, command: dict[str, Any], timeout: float = RECV_TIMEOUT) -> Any:
        self.write(command)
        return self.recv(timeout)

    def info(self) -> dict[str, Any]:
        reply = self.request({"testserver": "info"})
        assert isinstance(reply, dict) and "id" in reply, f"unexpected info reply {reply!r}"
        return reply

    def local_port(self) -> int:
        return self.ws.sock.getsockname()[1]

    def close(self) -> None:
        try:
            self.ws.close(timeout=1)
        except Exception:
            pass

    def __enter__(self) -> "PrimusClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
