"""Helpers of the abuse suite: the server's memory and sockets, raw HTTP and WebSocket bytes,
attack threads that stop on an event, fresh-client probes, and a watch that runs both.

Every wait here is bounded: sockets carry timeouts, loops carry deadlines, and attack threads
stop when their event is set (or when the watch sees the server's memory pass a hard ceiling,
so that an attack that works cannot take the test machine down with the server).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import select
import socket
import statistics
import struct
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from primus_support import SUMMARY_LINES, PrimusClient, ServerProcess

MIB = 1024 * 1024

# The flags of a server whose limits are small enough for quick tests (times in ms).
QUICK_LIMITS = (
    "--max-buffered-bytes", "262144",
    "--write-stall-timeout", "2000",
    "--close-timeout", "1000",
    "--headers-timeout", "1000",
    "--keep-alive-timeout", "1000",
)

# A fresh client must be served within this while an attack runs.
FRESH_CLIENT_DEADLINE = 1.0
# The server's memory may grow by at most this over its baseline during and after an attack.
RSS_GROWTH_BOUND = 64 * MIB
# Past this growth the attack has plainly worked: attacks stop so the machine stays usable.
RSS_HARD_CEILING = 1536 * MIB

VALID_KEY = "dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455's example: base64 of 16 bytes


# --------------------------------------------------------------------------- the server process


def server_pid(server: ServerProcess) -> int:
    assert server.proc is not None, "the server was not started"
    return server.proc.pid


def proc_status(pid: int) -> dict[str, int]:
    """The ``Vm*`` lines of /proc/PID/status, in bytes."""
    values: dict[str, int] = {}
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("Vm"):
                name, rest = line.split(":", 1)
                parts = rest.split()
                if parts and parts[-1] == "kB":
                    values[name] = int(parts[0]) * 1024
    return values


def rss_bytes(pid: int) -> int:
    """The process's resident set size (VmRSS) in bytes."""
    return proc_status(pid)["VmRSS"]


def fd_count(pid: int) -> int:
    """How many file descriptors the process holds."""
    return len(os.listdir(f"/proc/{pid}/fd"))


def mib(n: int) -> str:
    return f"{n / MIB:.1f} MiB"


def _socket_inodes(pid: int) -> set[int]:
    inodes: set[int] = set()
    fd_dir = f"/proc/{pid}/fd"
    for name in os.listdir(fd_dir):
        try:
            target = os.readlink(f"{fd_dir}/{name}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    return inodes


TCP_STATES = {
    "01": "ESTABLISHED", "02": "SYN_SENT", "03": "SYN_RECV", "04": "FIN_WAIT1", "05": "FIN_WAIT2",
    "06": "TIME_WAIT", "07": "CLOSE", "08": "CLOSE_WAIT", "09": "LAST_ACK", "0A": "LISTEN",
    "0B": "CLOSING",
}


@dataclass
class ServerSide:
    """The server's end of one loopback connection, from /proc/net/tcp."""

    held: bool  # the server process still has a file descriptor for it
    state: str  # its TCP state, "gone" once the kernel forgot it
    send_queue: int  # bytes written by the server and not yet acknowledged by the client

    def describe(self) -> str:
        return (f"{'held by the server' if self.held else 'released by the server'}, {self.state}, "
                f"{self.send_queue} bytes in its send queue")


def server_side_of(pid: int, server_port: int, client_port: int) -> ServerSide:
    """The server's socket of the loopback connection from ``client_port``."""
    held = _socket_inodes(pid)
    with open("/proc/net/tcp") as table:
        next(table)
        for line in table:
            fields = line.split()
            local, remote, state, inode = fields[1], fields[2], fields[3], int(fields[9])
            if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == client_port:
                tx_queue = int(fields[4].split(":")[0], 16)
                return ServerSide(inode != 0 and inode in held, TCP_STATES.get(state, state), tx_queue)
    return ServerSide(False, "gone", 0)


# --------------------------------------------------------------------------- checks


class Checks:
    """Collects every failed expectation of a test, so one failure message says all that went
    wrong (and the figures observed), not only the first."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.failures: list[str] = []
        self.notes: list[str] = []

    def expect(self, ok: bool, message: str) -> bool:
        if not ok:
            self.failures.append(message)
        return ok

    def note(self, message: str) -> None:
        self.notes.append(message)

    def verify(self) -> None:
        SUMMARY_LINES.append(
            f"abuse: {self.title}: {'FAILED' if self.failures else 'ok'}; " + "; ".join(self.notes)
        )
        if self.failures:
            lines = [f"{self.title}:"] + [f"  - {f}" for f in self.failures]
            if self.notes:
                lines += ["  observed:"] + [f"    {n}" for n in self.notes]
            raise AssertionError("\n".join(lines))


# --------------------------------------------------------------------------- raw HTTP


def connect(port: int, *, source: str | None = None, rcvbuf: int | None = None,
            timeout: float = 5.0) -> socket.socket:
    """A TCP connection to 127.0.0.1:``port``. ``rcvbuf`` is set before connecting, so the
    advertised window is small from the start; ``source`` binds a local address (127.0.0.2 …)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        if rcvbuf is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if source is not None:
            sock.bind((source, 0))
        sock.settimeout(timeout)
        sock.connect(("127.0.0.1", port))
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except BaseException:
        sock.close()
        raise
    return sock


def ws_upgrade_request(
    path: str = "/primus",
    *,
    method: str = "GET",
    version: str = "HTTP/1.1",
    host: str | None = "127.0.0.1",
    key: str | None = VALID_KEY,
    ws_version: str | None = "13",
    extra: list[tuple[str, str]] = (),
) -> bytes:
    """The bytes of a WebSocket handshake request; ``None`` leaves a header out."""
    lines = [f"{method} {path} {version}"]
    if host is not None:
        lines.append(f"Host: {host}")
    lines += ["Upgrade: websocket", "Connection: Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if ws_version is not None:
        lines.append(f"Sec-WebSocket-Version: {ws_version}")
    lines += [f"{name}: {value}" for name, value in extra]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


@dataclass
class HTTPResponse:
    status: int
    reason: str
    headers: dict[str, str]  # lower-case names; repeated fields joined with ", "
    body: bytes

    def describe(self) -> str:
        return f"{self.status} {self.reason} {self.headers} {self.body[:200]!r}"


def parse_response(data: bytes) -> tuple[HTTPResponse | None, bytes]:
    """The first complete response head in ``data`` (its body as far as Content-Length says and
    the bytes allow), and what follows it. ``None`` when no complete head is there."""
    end = data.find(b"\r\n\r\n")
    if end < 0:
        return None, data
    head = data[:end].decode("latin-1").split("\r\n")
    parts = head[0].split(" ", 2)
    if len(parts) < 2 or not parts[0].startswith("HTTP/"):
        raise AssertionError(f"not an HTTP response: {data[:200]!r}")
    headers: dict[str, str] = {}
    for line in head[1:]:
        name, _, value = line.partition(":")
        key = name.strip().lower()
        headers[key] = f"{headers[key]}, {value.strip()}" if key in headers else value.strip()
    rest = data[end + 4:]
    length = int(headers.get("content-length", "0") or 0)
    body, rest = rest[:length], rest[length:]
    return HTTPResponse(int(parts[1]), parts[2] if len(parts) > 2 else "", headers, body), rest


@dataclass
class Ending:
    """How a connection ended as seen by a reader: every byte read, and "eof", "reset" or "open"
    (still open at the deadline), after how many seconds."""

    data: bytes
    how: str
    after: float

    def responses(self) -> list[HTTPResponse]:
        found: list[HTTPResponse] = []
        rest = self.data
        while True:
            response, rest = parse_response(rest)
            if response is None:
                return found
            found.append(response)

    def first_response(self) -> HTTPResponse | None:
        responses = self.responses()
        return responses[0] if responses else None

    def describe(self) -> str:
        first = self.first_response()
        what = first.describe() if first else f"{len(self.data)} bytes {self.data[:120]!r}"
        return f"{self.how} after {self.after:.2f}s, read {what}"


def read_until_closed(sock: socket.socket, timeout: float, started: float | None = None) -> Ending:
    """Reads (and keeps) everything until the peer closes or resets the connection, or until
    ``timeout`` seconds have passed since ``started`` (default: now)."""
    started = time.monotonic() if started is None else started
    deadline = started + timeout
    chunks: list[bytes] = []
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return Ending(b"".join(chunks), "open", time.monotonic() - started)
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except (socket.timeout, TimeoutError):
            continue
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            return Ending(b"".join(chunks), "reset", time.monotonic() - started)
        if not chunk:
            return Ending(b"".join(chunks), "eof", time.monotonic() - started)
        chunks.append(chunk)


def send_ignoring_reset(sock: socket.socket, data: bytes) -> str | None:
    """Sends ``data``; a server that answers and closes before reading all of it may reset the
    connection under us, which is reported (not raised)."""
    try:
        sock.sendall(data)
    except (ConnectionResetError, BrokenPipeError, ConnectionAbortedError) as exc:
        return type(exc).__name__
    except (socket.timeout, TimeoutError):
        return "send timed out"
    return None


def exchange(port: int, request: bytes, *, timeout: float, **connect_args: Any) -> Ending:
    """Sends one raw request and reads until the server closes (or ``timeout``)."""
    with connect(port, **connect_args) as sock:
        started = time.monotonic()
        send_ignoring_reset(sock, request)
        return read_until_closed(sock, timeout, started)


def expect_error_then_close(checks: Checks, ending: Ending, statuses: set[int], what: str,
                            deadline: float) -> None:
    """The common shape of an HTTP-layer refusal: one of ``statuses`` (when the server's answer
    could be read before it reset the connection), then the socket closed within ``deadline``."""
    response = ending.first_response()
    if response is not None:
        checks.expect(response.status in statuses,
                      f"{what}: expected status {sorted(statuses)}, got {response.describe()}")
    else:
        checks.expect(ending.how == "reset",
                      f"{what}: expected status {sorted(statuses)}, got no response ({ending.describe()})")
    checks.expect(ending.how in ("eof", "reset") and ending.after <= deadline,
                  f"{what}: expected the server to close the socket within {deadline:.1f}s of the "
                  f"request, but it was {ending.describe()}")


# --------------------------------------------------------------------------- raw WebSocket frames

OP_CONT, OP_TEXT, OP_BINARY, OP_CLOSE, OP_PING, OP_PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


def frame(opcode: int, payload: bytes, *, masked: bool = True, fin: bool = True,
          mask_key: bytes = b"\0\0\0\0") -> bytes:
    """One client frame. The default mask key of zeros is legal and leaves the payload as it
    is, so floods can be built once and sent many times without per-byte work."""
    first = (0x80 if fin else 0) | opcode
    mask_bit = 0x80 if masked else 0
    n = len(payload)
    if n < 126:
        head = struct.pack("!BB", first, mask_bit | n)
    elif n < 1 << 16:
        head = struct.pack("!BBH", first, mask_bit | 126, n)
    else:
        head = struct.pack("!BBQ", first, mask_bit | 127, n)
    if not masked:
        return head + payload
    if mask_key != b"\0\0\0\0":
        payload = bytes(b ^ mask_key[i % 4] for i, b in enumerate(payload))
    return head + mask_key + payload


def primus_text(value: Any) -> bytes:
    """A masked text frame carrying a Primus message (JSON parser)."""
    return frame(OP_TEXT, json.dumps(value).encode())


class RawWebSocket:
    """A WebSocket client on a bare socket: it sends exactly the bytes a test asks for and can
    stop reading, which a real client library would not."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""
        self.response: HTTPResponse | None = None

    @classmethod
    def open(cls, port: int, request: bytes | None = None, *, read_response: bool = True,
             timeout: float = 5.0, **connect_args: Any) -> "RawWebSocket":
        ws = cls(connect(port, timeout=timeout, **connect_args))
        ws.sock.sendall(request if request is not None else ws_upgrade_request())
        if read_response:
            ws.read_handshake(timeout)
        return ws

    def read_handshake(self, timeout: float = 5.0) -> HTTPResponse:
        deadline = time.monotonic() + timeout
        while True:
            response, rest = parse_response(self.buffer)
            if response is not None:
                self.buffer = rest
                self.response = response
                assert response.status == 101, f"expected 101 Switching Protocols, got {response.describe()}"
                return response
            self._fill(deadline)

    def _fill(self, deadline: float) -> None:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("nothing more from the server in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except (socket.timeout, TimeoutError) as exc:
            raise TimeoutError("nothing more from the server in time") from exc
        if not chunk:
            raise EOFError("the server closed the connection")
        self.buffer += chunk

    def recv_frame(self, timeout: float = 5.0) -> tuple[int, bytes]:
        """The next frame from the server as (opcode, payload). Raises EOFError, TimeoutError
        or ConnectionResetError."""
        deadline = time.monotonic() + timeout
        while True:
            parsed = self._parse()
            if parsed is not None:
                return parsed
            self._fill(deadline)

    def _parse(self) -> tuple[int, bytes] | None:
        b = self.buffer
        if len(b) < 2:
            return None
        opcode, length, pos = b[0] & 0x0F, b[1] & 0x7F, 2
        if length == 126:
            if len(b) < 4:
                return None
            length, pos = struct.unpack("!H", b[2:4])[0], 4
        elif length == 127:
            if len(b) < 10:
                return None
            length, pos = struct.unpack("!Q", b[2:10])[0], 10
        mask = b""
        if b[1] & 0x80:
            mask, pos = b[pos:pos + 4], pos + 4
        if len(b) < pos + length:
            return None
        payload = b[pos:pos + length]
        if mask:
            payload = bytes(x ^ mask[i % 4] for i, x in enumerate(payload))
        self.buffer = b[pos + length:]
        return opcode, payload

    def recv_message(self, timeout: float = 5.0) -> Any:
        """The next Primus data message (JSON), skipping heartbeat pings and control frames."""
        deadline = time.monotonic() + timeout
        while True:
            opcode, payload = self.recv_frame(max(deadline - time.monotonic(), 0.001))
            if opcode == OP_CLOSE:
                raise EOFError(f"close frame {close_code(payload)}")
            if opcode != OP_TEXT:
                continue
            value = json.loads(payload)
            if isinstance(value, str) and value.startswith("primus::ping::"):
                continue
            return value

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass


def close_code(payload: bytes) -> int | None:
    return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None


# --------------------------------------------------------------------------- attacks


@dataclass
class AttackStats:
    """What an attack thread did: counters by name, each connection's lifetime as seen by the
    attacker, and the errors it met (first few kept)."""

    name: str
    counters: dict[str, int] = field(default_factory=dict)
    lifetimes: list[float] = field(default_factory=list)  # seconds from open to closed-by-server
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, key: str, n: int = 1) -> None:
        with self.lock:
            self.counters[key] = self.counters.get(key, 0) + n

    def maximum(self, key: str, value: int) -> None:
        with self.lock:
            self.counters[key] = max(self.counters.get(key, 0), value)

    def get(self, key: str) -> int:
        with self.lock:
            return self.counters.get(key, 0)

    def error(self, message: str) -> None:
        with self.lock:
            if len(self.errors) < 5:
                self.errors.append(message)

    def ended(self, lifetime: float) -> None:
        with self.lock:
            self.lifetimes.append(lifetime)

    def describe(self) -> str:
        with self.lock:
            lifetimes = ", ".join(f"{t:.1f}s" for t in self.lifetimes[:5])
            return (f"{self.name}: {dict(sorted(self.counters.items()))}"
                    + (f", connections ended by the server after {lifetimes}" if self.lifetimes else "")
                    + (f", errors {self.errors}" if self.errors else ""))


Attack = Callable[[threading.Event, AttackStats], None]


@contextmanager
def attacking(*attacks: tuple[str, Attack], stop: threading.Event | None = None,
              join_timeout: float = 30.0) -> Iterator[list[AttackStats]]:
    """Runs each ``(name, attack)`` in a thread of its own until the block ends (or ``stop`` is
    set early, e.g. by a watch whose hard ceiling was passed)."""
    stop = stop or threading.Event()
    stats = [AttackStats(name) for name, _ in attacks]
    threads = []
    for (name, attack), stat in zip(attacks, stats):

        def run(attack: Attack = attack, stat: AttackStats = stat) -> None:
            try:
                attack(stop, stat)
            except Exception as exc:  # noqa: BLE001 - reported with the stats
                stat.error(f"attack thread died: {exc!r}")

        thread = threading.Thread(target=run, name=f"attack-{name}", daemon=True)
        thread.start()
        threads.append(thread)
    try:
        yield stats
    finally:
        stop.set()
        deadline = time.monotonic() + join_timeout
        for thread, stat in zip(threads, stats):
            thread.join(max(0.0, deadline - time.monotonic()))
            if thread.is_alive():  # a request the server sits on; the thread is a daemon
                stat.error(f"the attack thread was still blocked {join_timeout:.0f}s after being told to stop")


def stream_forever(sock: socket.socket, chunk: bytes, stop: threading.Event, stats: AttackStats) -> str:
    """Sends ``chunk`` (whole frames) over and over without ever reading, keeping its place
    across partial sends so frames stay whole. Returns why it stopped: "stopped" or the error
    that ended the connection."""
    view = memoryview(chunk)
    offset = 0
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            sent = sock.send(view[offset:])
        except (socket.timeout, TimeoutError):
            stats.count("send blocked 0.2s")
            continue
        except OSError as exc:
            return type(exc).__name__
        stats.count("bytes sent", sent)
        offset = (offset + sent) % len(chunk)
    return "stopped"


def non_reader(port: int, chunk_of_frames: bytes, *, request: bytes | None = None,
               rcvbuf: int = 4096, reconnect: bool = True, source: str | None = None) -> Attack:
    """An attack: a WebSocket client with a tiny receive buffer that sends ``chunk_of_frames``
    forever and never reads a byte (not even the handshake answer). Each time the server ends
    the connection, its lifetime is recorded; with ``reconnect`` the attacker comes back."""

    def attack(stop: threading.Event, stats: AttackStats) -> None:
        while not stop.is_set():
            try:
                sock = connect(port, rcvbuf=rcvbuf, source=source)
            except OSError as exc:
                stats.error(f"connect: {exc!r}")
                stop.wait(0.1)
                continue
            opened = time.monotonic()
            stats.count("connections")
            try:
                sock.sendall(request if request is not None else ws_upgrade_request())
                why = stream_forever(sock, chunk_of_frames, stop, stats)
            except OSError as exc:
                why = type(exc).__name__
            finally:
                sock.close()
            if why == "stopped":
                return
            stats.ended(time.monotonic() - opened)
            stats.count(f"ended by server ({why})")
            if not reconnect:
                return
            stop.wait(0.05)

    return attack


PING_FLOOD_FRAME = frame(OP_PING, b"p" * 125)


def silent_peer(server: ServerProcess, *, rcvbuf: int = 4096, reconnect: bool = True) -> Attack:
    """An attack: a WebSocket client with a tiny receive buffer that completes its handshake
    request and then neither reads nor writes. Whether the server has let go of it is read
    from the server's side of the connection (/proc/net/tcp and the server's descriptors),
    since a client that does not read cannot see a close."""
    pid = server_pid(server)

    def attack(stop: threading.Event, stats: AttackStats) -> None:
        while not stop.is_set():
            try:
                sock = connect(server.port, rcvbuf=rcvbuf)
                sock.sendall(ws_upgrade_request())
            except OSError as exc:
                stats.error(f"connect: {exc!r}")
                stop.wait(0.1)
                continue
            opened = time.monotonic()
            stats.count("connections")
            client_port = sock.getsockname()[1]
            try:
                while not stop.wait(0.05):
                    side = server_side_of(pid, server.port, client_port)
                    stats.maximum("largest server send queue (bytes)", side.send_queue)
                    if not side.held and time.monotonic() - opened > 0.5:
                        stats.ended(time.monotonic() - opened)
                        stats.count(f"released by server ({side.state})")
                        break
                else:
                    return
            finally:
                sock.close()
            if not reconnect:
                return

    return attack


def broadcaster(port: int, data: str) -> Attack:
    """An attack: a client that asks the test server to broadcast ``data`` to every spark, as
    fast as the server takes the requests, and reads (and drops) all it gets back, so that it
    is a reader in good standing while the other sparks receive the same traffic."""
    chunk = primus_text({"testserver": "broadcast", "data": data}) * 8

    def attack(stop: threading.Event, stats: AttackStats) -> None:
        while not stop.is_set():
            try:
                sock = connect(port)
                sock.sendall(ws_upgrade_request())
            except OSError as exc:
                stats.error(f"connect: {exc!r}")
                stop.wait(0.1)
                continue
            stats.count("connections")
            closed = threading.Event()

            def drain() -> None:
                sock2 = sock.dup()
                sock2.settimeout(0.2)
                try:
                    while not stop.is_set() and not closed.is_set():
                        try:
                            chunk_in = sock2.recv(1 << 20)
                        except (socket.timeout, TimeoutError):
                            continue
                        except OSError:
                            break
                        if not chunk_in:
                            break
                        stats.count("bytes received", len(chunk_in))
                finally:
                    closed.set()
                    sock2.close()

            reader = threading.Thread(target=drain, daemon=True)
            reader.start()
            try:
                why = stream_forever(sock, chunk, closed, stats)
            finally:
                closed.set()
                reader.join(2)
                sock.close()
            if stop.is_set():
                return
            stats.count(f"broadcaster connection ended ({why})")
            stop.wait(0.05)

    return attack


# --------------------------------------------------------------------------- fresh clients


def primus_echo_probe(server: ServerProcess, path: str = "/primus") -> Callable[[], None]:
    """A fresh client: a new websocket-client Primus connection that writes one message and
    reads its echo back (skipping anything else the server sends it, such as broadcasts)."""
    url = server.ws_url(path)
    counter = iter(range(1 << 62))

    def probe() -> None:
        nonce = {"probe": next(counter), "t": time.monotonic()}
        with PrimusClient(url, timeout=FRESH_CLIENT_DEADLINE) as client:
            client.write(nonce)
            deadline = time.monotonic() + FRESH_CLIENT_DEADLINE
            while True:
                reply = client.recv(max(deadline - time.monotonic(), 0.001))
                if reply == nonce:
                    return

    return probe


def eio_request(conn: http.client.HTTPConnection, method: str, target: str, body: bytes | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    conn.request(method, target, body=body, headers=headers or {})
    response = conn.getresponse()
    data = response.read()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, data


def eio_messages(body: bytes) -> list[Any]:
    """The JSON values of the message packets (``4…``) in an Engine.IO 4 polling payload."""
    values = []
    for packet in body.split(b"\x1e"):
        if packet[:1] == b"4":
            try:
                values.append(json.loads(packet[1:]))
            except ValueError:
                values.append(packet[1:])
    return values


def eio_handshake(conn: http.client.HTTPConnection, path: str = "/primus/") -> tuple[int, str | None, bytes]:
    """An Engine.IO 4 polling handshake: (status, sid or None, body)."""
    status, _, body = eio_request(conn, "GET", f"{path}?EIO=4&transport=polling")
    if status == 200 and body.startswith(b"0{"):
        first = body.split(b"\x1e", 1)[0]
        return status, json.loads(first[1:])["sid"], body
    return status, None, body


def engineio_echo_probe(server: ServerProcess, path: str = "/primus/",
                        source: str | None = None) -> Callable[[], None]:
    """A fresh Engine.IO client: polling handshake, a Primus message POSTed, its echo polled
    back; then the session is closed (a close packet) so probes do not pile up as sessions."""
    counter = iter(range(1 << 62))

    def probe() -> None:
        value = {"probe": next(counter)}
        nonce = json.dumps(value, separators=(",", ":")).encode()
        conn = http.client.HTTPConnection(
            "127.0.0.1", server.port, timeout=FRESH_CLIENT_DEADLINE,
            source_address=(source, 0) if source else None,
        )
        try:
            deadline = time.monotonic() + FRESH_CLIENT_DEADLINE
            status, sid, body = eio_handshake(conn, path)
            assert sid is not None, f"handshake answered {status} {body[:200]!r}"
            target = f"{path}?EIO=4&transport=polling&sid={sid}"
            status, _, body = eio_request(conn, "POST", target, b"4" + nonce,
                                          {"content-type": "text/plain;charset=UTF-8"})
            assert status == 200, f"POST answered {status} {body[:200]!r}"
            while time.monotonic() < deadline:
                status, _, body = eio_request(conn, "GET", target)
                assert status == 200, f"poll answered {status} {body[:200]!r}"
                if value in eio_messages(body):
                    try:
                        eio_request(conn, "POST", target, b"1")
                    except (OSError, http.client.HTTPException):
                        pass
                    return
            raise TimeoutError("no echo within the deadline")
        finally:
            conn.close()

    return probe


# --------------------------------------------------------------------------- the watch


@dataclass
class ProbeResult:
    at: float  # seconds since the watch started
    latency: float
    error: str | None


class Watch:
    """Watches a server under attack: samples its VmRSS every 0.1 s and runs a fresh-client
    ``probe`` every ``probe_every`` seconds, each probe bounded by the fresh-client deadline.

    The baseline is the RSS after one warm-up probe, before the attack. Past the hard ceiling
    the watch sets ``stop`` (the attacks' event) so that an attack that works stops there.
    """

    def __init__(self, server: ServerProcess, probe: Callable[[], None], *,
                 stop: threading.Event | None = None, probe_every: float = 0.4,
                 growth_bound: int = RSS_GROWTH_BOUND) -> None:
        self.server = server
        self.pid = server_pid(server)
        self.probe = probe
        self.stop = stop or threading.Event()
        self.probe_every = probe_every
        self.growth_bound = growth_bound
        self.samples: list[tuple[float, int]] = []
        self.probes: list[ProbeResult] = []
        self.baseline = 0
        self.hwm_start = 0
        self.hwm_end = 0
        self.ceiling_hit = False
        self._done = threading.Event()
        self._threads: list[threading.Thread] = []
        self._started = 0.0

    def __enter__(self) -> "Watch":
        warm = self._run_probe(0.0)
        if warm.error:
            raise AssertionError(f"the fresh-client probe fails before any attack: {warm.error}")
        status = proc_status(self.pid)
        self.baseline = status["VmRSS"]
        self.hwm_start = status.get("VmHWM", 0)
        self._started = time.monotonic()
        self._threads = [threading.Thread(target=self._sample, daemon=True),
                         threading.Thread(target=self._probe_loop, daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def finish(self) -> None:
        if self._done.is_set():
            return
        self._done.set()
        for thread in self._threads:
            thread.join(FRESH_CLIENT_DEADLINE + 5)
        if self.server.alive():
            status = proc_status(self.pid)
            self.samples.append((time.monotonic() - self._started, status["VmRSS"]))
            self.hwm_end = status.get("VmHWM", 0)

    @property
    def bound(self) -> int:
        return self.baseline + self.growth_bound

    def _sample(self) -> None:
        while not self._done.wait(0.1):
            try:
                rss = rss_bytes(self.pid)
            except (OSError, KeyError):
                return
            self.samples.append((time.monotonic() - self._started, rss))
            if rss - self.baseline > RSS_HARD_CEILING and not self.ceiling_hit:
                self.ceiling_hit = True
                self.stop.set()

    def _run_probe(self, at: float) -> ProbeResult:
        started = time.monotonic()
        error = None
        try:
            self.probe()
        except Exception as exc:  # noqa: BLE001 - the result records it
            error = f"{type(exc).__name__}: {exc}"
        result = ProbeResult(at, time.monotonic() - started, error)
        return result

    def _probe_loop(self) -> None:
        while not self._done.wait(self.probe_every):
            self.probes.append(self._run_probe(time.monotonic() - self._started))

    def elapsed(self) -> float:
        return time.monotonic() - self._started

    def peak(self) -> int:
        peak = max((rss for _, rss in self.samples), default=self.baseline)
        if self.hwm_end > self.hwm_start:  # the kernel's own peak catches what sampling missed
            peak = max(peak, self.hwm_end)
        return peak

    def check(self, checks: Checks, *, min_probes: int = 2) -> None:
        """Adds the memory bound and the fresh-client deadline to ``checks``."""
        self.finish()
        peak, last = self.peak(), (self.samples[-1][1] if self.samples else self.baseline)
        checks.note(f"VmRSS baseline {mib(self.baseline)}, peak {mib(peak)}, end {mib(last)} "
                    f"(bound {mib(self.bound)})")
        checks.expect(self.server.alive(), f"the server process exited (code {self.server.proc.returncode})")
        checks.expect(peak <= self.bound,
                      f"server VmRSS peaked at {mib(peak)} (baseline {mib(self.baseline)} + "
                      f"{mib(peak - self.baseline)}); bound is baseline + {mib(self.growth_bound)}"
                      + (f"; attacks were stopped at the {mib(RSS_HARD_CEILING)} safety ceiling"
                         if self.ceiling_hit else "")
                      + f"; timeline {self.timeline()}")
        late = [p for p in self.probes if p.error or p.latency > FRESH_CLIENT_DEADLINE]
        latencies = [p.latency for p in self.probes if not p.error]
        if latencies:
            checks.note(f"{len(self.probes)} fresh clients, latency median "
                        f"{statistics.median(latencies) * 1000:.0f} ms, max {max(latencies) * 1000:.0f} ms")
        checks.expect(len(self.probes) >= min_probes,
                      f"only {len(self.probes)} fresh-client probes ran during the attack (wanted {min_probes})")
        checks.expect(not late,
                      f"{len(late)} of {len(self.probes)} fresh clients were not served within "
                      f"{FRESH_CLIENT_DEADLINE:.0f}s during the attack: "
                      + "; ".join(f"at {p.at:.1f}s: {p.error or f'{p.latency:.2f}s'}" for p in late[:4]))

    def timeline(self) -> str:
        """RSS every ~second, for failure messages."""
        points: list[str] = []
        next_at = 0.0
        for at, rss in self.samples:
            if at >= next_at:
                points.append(f"{at:.0f}s {rss / MIB:.0f}M")
                next_at = at + 1.0
        return " ".join(points)


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.05) -> float | None:
    """Seconds until ``predicate`` held, or None if it did not within ``timeout``."""
    started = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - started
        if time.monotonic() - started >= timeout:
            return None
        time.sleep(interval)


def spark_count(server: ServerProcess) -> int:
    """How many sparks a websockets ``primus-testserver`` holds, asked over a connection of its
    own (not counted)."""
    with PrimusClient(server.ws_url(), timeout=5) as client:
        reply = client.request({"testserver": "sparks"})
        return len(reply["sparks"]) - 1


def b64_key(n: int) -> str:
    return base64.b64encode(b"k" * n).decode()





# --------------------------------------------------------------------------- connections held open


@dataclass
class HeldConnection:
    sock: socket.socket
    opened: float
    sent: int = 0
    received: bytes = b""
    ended: float | None = None  # seconds after opening when the server closed or reset it
    how: str = ""


def watch_held(conns: list[HeldConnection], timeout: float) -> None:
    """Reads whatever the server sends on ``conns`` for up to ``timeout`` seconds, marking
    those it closes (EOF) or resets."""
    now = time.monotonic()
    live = {c.sock.fileno(): c for c in conns if c.ended is None}
    if not live:
        return
    poller = select.poll()  # not select(): descriptors above 1024 are expected here
    for fd in live:
        poller.register(fd, select.POLLIN | select.POLLERR | select.POLLHUP)
    for fd, _ in poller.poll(max(timeout, 0) * 1000):
        conn = live[fd]
        try:
            chunk = conn.sock.recv(65536)
        except (ConnectionResetError, ConnectionAbortedError, BrokenPipeError):
            conn.ended, conn.how = now - conn.opened, "reset"
            continue
        except (BlockingIOError, InterruptedError, socket.timeout, TimeoutError):
            continue
        if chunk:
            conn.received += chunk
        else:
            conn.ended, conn.how = time.monotonic() - conn.opened, "eof"


def slowloris(port: int, conns: list[HeldConnection], *, count: int, request: bytes,
              interval: float = 1.0) -> Attack:
    """An attack: ``count`` connections that each send ``request`` one byte every ``interval``
    seconds. The connections (and when the server closed them) are left in ``conns``."""

    def attack(stop: threading.Event, stats: AttackStats) -> None:
        for _ in range(count):
            try:
                sock = connect(port)
            except OSError as exc:
                stats.error(f"connect: {exc!r}")
                continue
            sock.setblocking(False)
            conns.append(HeldConnection(sock, time.monotonic()))
        stats.count("connections", len(conns))
        try:
            next_byte = time.monotonic()
            while not stop.is_set():
                if time.monotonic() >= next_byte:
                    next_byte += interval
                    for conn in conns:
                        if conn.ended is None and conn.sent < len(request):
                            try:
                                conn.sock.send(request[conn.sent:conn.sent + 1])
                                conn.sent += 1
                                stats.count("bytes sent")
                            except (BlockingIOError, InterruptedError):
                                pass
                            except OSError:
                                conn.ended, conn.how = time.monotonic() - conn.opened, "reset"
                watch_held(conns, min(0.1, max(0.0, next_byte - time.monotonic())))
                if all(conn.ended is not None for conn in conns):
                    stop.wait(0.1)
        finally:
            for conn in conns:
                conn.sock.close()

    return attack


def idle_holder(port: int, conns: list[HeldConnection], *, count: int, rate: float = 1000.0,
                first_bytes: bytes = b"", opening: threading.Event | None = None) -> Attack:
    """An attack: keeps ``count`` TCP connections open that send ``first_bytes`` (default:
    nothing) and then stay idle, opening at most ``rate`` per second; when the server drops one,
    another takes its place, as long as ``opening`` is set (default: always). Clearing it lets
    a test look at what the server still holds while the attacker holds what it has. Every
    connection opened is left in ``conns``; all are closed when the attack stops."""

    def attack(stop: threading.Event, stats: AttackStats) -> None:
        try:
            while not stop.is_set():
                open_now = [c for c in conns if c.ended is None]
                missing = count - len(open_now) if (opening is None or opening.is_set()) else 0
                started = time.monotonic()
                for _ in range(max(0, missing)):
                    if stop.is_set() or (opening is not None and not opening.is_set()):
                        break
                    try:
                        sock = connect(port, timeout=2.0)
                        if first_bytes:
                            sock.sendall(first_bytes)
                    except OSError as exc:
                        stats.count("connects failed")
                        stats.error(f"connect: {exc!r}")
                        break
                    sock.setblocking(False)
                    conns.append(HeldConnection(sock, time.monotonic(), sent=len(first_bytes)))
                    stats.count("connections")
                    if rate and stats.get("connections") % 50 == 0:
                        time.sleep(max(0.0, 50 / rate - (time.monotonic() - started)))
                        started = time.monotonic()
                watch_held(conns, 0.0)
                ended = sum(1 for c in conns if c.ended is not None)
                stats.maximum("connections closed by the server", ended)
                stats.maximum("most open at once", len([c for c in conns if c.ended is None]))
                stop.wait(0.1)
        finally:
            for conn in conns:
                conn.sock.close()

    return attack


# --------------------------------------------------------------------------- error answers

# Servers of the error-answer tests: no timeout closes the socket for them within the test.
# The close timeout is short: after an error answer the server half-closes and drains what the
# peer still sends, then drops the socket when the peer closes or after --close-timeout.
NO_IDLE_TIMEOUTS = ("--headers-timeout", "30000", "--keep-alive-timeout", "30000", "--close-timeout", "1000")
# After an error answer the socket must be closed within this.
CLOSE_AFTER_ERROR = 1.5
# How long the held-connection attacks of the error-answer tests run.
ATTACK_SECONDS = 3.0


def fd_growth_check(checks: Checks, pid: int, baseline: int, bound: int, what: str) -> None:
    now = fd_count(pid)
    checks.note(f"server file descriptors: {baseline} before, {now} at the end of the attack")
    checks.expect(now <= baseline + bound,
                  f"{what}: the server held {now} file descriptors at the end of the attack, "
                  f"{now - baseline} more than before (bound: {bound}); the connections it "
                  f"answered with an error were not closed")


def error_shapes_test(server: ServerProcess, shapes: dict[str, bytes], statuses: set[int],
                      title: str, probe: Callable[[], None] | None = None) -> None:
    """Each shape alone: an error status in ``statuses`` then the socket closed within
    CLOSE_AFTER_ERROR; then all of them again from 300 connections the attacker never closes
    (re-opened as the server closes them) for ATTACK_SECONDS, while fresh clients are served;
    at the end the server must hold no more than a few descriptors more than before."""
    pid = server_pid(server)
    checks = Checks(title)
    fds_before = fd_count(pid)
    stop = threading.Event()
    with Watch(server, probe or primus_echo_probe(server), stop=stop) as watch:
        with ThreadPoolExecutor(len(shapes)) as pool:  # each shape on its own connection, at once
            endings = list(pool.map(lambda r: exchange(server.port, r, timeout=CLOSE_AFTER_ERROR + 1.0),
                                    shapes.values()))
        for name, ending in zip(shapes, endings):
            expect_error_then_close(checks, ending, statuses, name, CLOSE_AFTER_ERROR)
        held: list[list[HeldConnection]] = [[] for _ in shapes]
        opening = threading.Event()
        opening.set()
        attacks = [(name, idle_holder(server.port, conns, count=300 // len(shapes), first_bytes=request,
                                      rate=200 / len(shapes), opening=opening))
                   for (name, request), conns in zip(shapes.items(), held)]
        with attacking(*attacks, stop=stop) as stats:
            stop.wait(ATTACK_SECONDS)
            opening.clear()  # the attacker holds what it has; the server must have let go
            time.sleep(CLOSE_AFTER_ERROR + 0.5)
            fd_growth_check(checks, pid, fds_before, 32, "error answers repeated")
        for stat in stats:
            checks.note(stat.describe())
    watch.check(checks)
    checks.verify()


# --------------------------------------------------------------------------- Engine.IO attacks


def eio_target(sid: str, path: str = "/primus/") -> str:
    return f"{path}?EIO=4&transport=polling&sid={sid}"


def handshake_flooder(port: int, *, source: str, statuses: dict[int, int], lock: threading.Lock,
                      post: bytes | None = None, cycle: float = 0.0) -> Attack:
    """An attack: Engine.IO polling handshakes from ``source`` over a keep-alive connection, as
    fast as the server answers (or one per ``cycle`` seconds), never polling again; with ``post``,
    each new session first gets that body POSTed. Answers are counted by status in ``statuses``."""

    def attack(stop: threading.Event, stats: AttackStats) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(source, 0))
        try:
            while not stop.is_set():
                started = time.monotonic()
                try:
                    status, sid, body = eio_handshake(conn)
                    with lock:
                        statuses[status] = statuses.get(status, 0) + 1
                    if sid is not None and post is not None:
                        p_started = time.monotonic()
                        p_status, _, p_body = eio_request(conn, "POST", eio_target(sid), post)
                        stats.count(f"POST answered {p_status}")
                        stats.maximum("slowest POST (ms)", int((time.monotonic() - p_started) * 1000))
                except (OSError, http.client.HTTPException) as exc:
                    stats.error(repr(exc))
                    stats.count("request errors")
                    conn.close()
                    stop.wait(0.05)
                    continue
                if cycle:
                    stop.wait(max(0.0, cycle - (time.monotonic() - started)))
        finally:
            conn.close()

    return attack
