#!/usr/bin/env python3
"""Three Primus nodes behind HAProxy, sharing one Redis: the multi-node setup of issue 16.

``run-cluster`` (this file's command line) starts, in order:

- ``redis-server`` on a loopback port, without persistence (no RDB, no AOF);
- three ``primus-testserver`` nodes (``primus-demo`` with ``--demo``), each with
  ``--redis redis://127.0.0.1:<redis port> --node-id node<N>`` and the flags given after ``--``;
- HAProxy on one port in front of them, configured by ``haproxy.cfg`` beside this file
  (round robin, ``SERVERID`` cookie for sticky sessions, WebSocket tunnels, health checks);

waits until every node answered HAProxy's health check, prints where everything listens, and
stays in the foreground until Ctrl-C or SIGTERM, which stop all of it.

The same machinery is importable (the interop tests use it): ``Cluster(bin_dir, ...)`` with
``start()``/``stop()``, per-process ``kill()``/``start()`` on the same port, HAProxy's view of
its nodes, and a tiny Redis command helper. Standard library only.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent.parent
HAPROXY_TEMPLATE = HERE / "haproxy.cfg"
NODE_NAMES = ("node1", "node2", "node3")

READY_RE = re.compile(r"^listening on https?://[^:]+:(\d+)$")

REDIS_SERVER = os.environ.get("PRIMUS_REDIS_SERVER") or shutil.which("redis-server") or "/usr/bin/redis-server"
HAPROXY = os.environ.get("PRIMUS_HAPROXY") or shutil.which("haproxy") or "/usr/sbin/haproxy"

STARTUP_TIMEOUT = 30.0


class ClusterError(RuntimeError):
    """Something of the cluster did not start or answer in time (the message says what)."""


def free_port() -> int:
    """A TCP port that was free on 127.0.0.1 a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_accepts(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def _stop_process(proc: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM, grace: float = 5.0) -> None:
    """Sends ``sig``, then SIGKILL after ``grace`` seconds; waits for the exit either way."""
    if proc is None or proc.poll() is not None:
        return
    try:
        proc.send_signal(sig)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)
    except ProcessLookupError:
        pass


# --------------------------------------------------------------------------- Redis


def _read_reply(stream: io.BufferedReader) -> Any:
    """One RESP2 reply: str for simple strings, bytes for bulk strings, int, list, None;
    an error reply is returned as a ``RedisReplyError`` (not raised, so arrays keep their shape)."""
    line = stream.readline()
    if not line.endswith(b"\r\n"):
        raise ConnectionError("redis closed the connection mid-reply")
    kind, rest = line[:1], line[1:-2]
    if kind == b"+":
        return rest.decode()
    if kind == b"-":
        return RedisReplyError(rest.decode(errors="replace"))
    if kind == b":":
        return int(rest)
    if kind == b"$":
        length = int(rest)
        if length < 0:
            return None
        data = stream.read(length + 2)
        if len(data) != length + 2:
            raise ConnectionError("redis closed the connection mid-reply")
        return data[:-2]
    if kind == b"*":
        count = int(rest)
        return None if count < 0 else [_read_reply(stream) for _ in range(count)]
    raise ConnectionError(f"unexpected RESP2 reply {line[:40]!r}")


class RedisReplyError(Exception):
    """An error reply of Redis (``-ERR ...``)."""


def redis_command(port: int, *args: str | bytes | int, timeout: float = 5.0) -> Any:
    """Sends one command to the Redis on 127.0.0.1:``port`` over a fresh connection (RESP2) and
    returns its decoded reply; raises ``RedisReplyError`` for an error reply, OSError when Redis
    is not there."""
    parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
    request = b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts)
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(request)
        with sock.makefile("rb") as stream:
            reply = _read_reply(stream)
    if isinstance(reply, RedisReplyError):
        raise reply
    return reply


@dataclass
class RedisServer:
    """``redis-server`` on a loopback port, in memory only; can be killed and started again on
    the same port."""

    port: int
    workdir: Path
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}"

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        if not Path(REDIS_SERVER).exists():
            raise ClusterError(f"{REDIS_SERVER} does not exist (apt-get install redis-server)")
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(self.workdir), "--daemonize", "no",
                 "--protected-mode", "no", "--loglevel", "warning"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
            )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise ClusterError(f"redis-server on port {self.port} exited with {self.proc.returncode}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                if redis_command(self.port, "PING", timeout=1) == "PONG":
                    return
            except (OSError, RedisReplyError):
                pass
            time.sleep(0.05)
        raise ClusterError(f"redis-server on port {self.port} did not answer PING within {timeout:.0f}s")

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Ends it with ``sig`` (SIGKILL by default: no goodbye to its clients) and reaps it."""
        _stop_process(self.proc, sig)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def command(self, *args: str | bytes | int, timeout: float = 5.0) -> Any:
        return redis_command(self.port, *args, timeout=timeout)


# --------------------------------------------------------------------------- nodes


@dataclass
class Node:
    """One Primus server process of the cluster. ``port`` is fixed after the first start, so a
    killed node can be started again where HAProxy expects it."""

    name: str
    executable: Path
    args: list[str]
    log_path: Path
    port: int = 0
    proc: subprocess.Popen[str] | None = None
    stdout_lines: list[str] = field(default_factory=list)

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str = "/primus") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def command_line(self) -> list[str]:
        return [str(self.executable), *self.args, "--port", str(self.port)]

    def start(self, timeout: float = STARTUP_TIMEOUT) -> None:
        """Starts it on ``port`` (0: any free port, read back from its readiness line) and waits
        for ``listening on http://127.0.0.1:PORT``. A port still held by the previous process is
        tried again until ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            ready = threading.Event()
            announced: list[int] = []
            with open(self.log_path, "a") as log:
                log.write(f"--- {' '.join(self.command_line())}\n")
                log.flush()
                # Its own session: Ctrl-C in the terminal reaches run-cluster only, which stops
                # everything in order.
                proc = subprocess.Popen(self.command_line(), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                        stderr=log, text=True, bufsize=1, start_new_session=True)

            def read(proc: subprocess.Popen[str] = proc) -> None:
                assert proc.stdout is not None
                for line in proc.stdout:  # drained to the end, so the pipe never fills
                    line = line.rstrip("\r\n")
                    self.stdout_lines.append(line)
                    m = READY_RE.match(line)
                    if m and not ready.is_set():
                        announced.append(int(m.group(1)))
                        ready.set()

            threading.Thread(target=read, daemon=True, name=f"{self.name}-stdout").start()
            while time.monotonic() < deadline and not ready.is_set() and proc.poll() is None:
                ready.wait(0.05)
            if ready.is_set():
                self.proc = proc
                self.port = announced[0]
                return
            _stop_process(proc, signal.SIGKILL)
            log_text = self.log_path.read_text(errors="replace")
            if time.monotonic() >= deadline or "in use" not in log_text[-2000:].lower():
                raise ClusterError(f"{self.name} ({' '.join(self.command_line())}) did not start: "
                                   f"{'exited with ' + str(proc.returncode) if proc.returncode is not None else 'no readiness line'}"
                                   f"\n{log_text[-3000:]}")
            time.sleep(0.2)

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Ends it with ``sig`` (SIGKILL by default: no goodbye to anyone) and reaps it."""
        _stop_process(self.proc, sig)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""


# --------------------------------------------------------------------------- HAProxy


@dataclass
class HAProxy:
    """HAProxy running ``haproxy.cfg`` with the cluster's ports, and its runtime API."""

    port: int
    socket_path: Path
    log_path: Path
    pathname: str
    proc: subprocess.Popen[bytes] | None = None

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws_url(self, path: str = "/primus") -> str:
        return f"ws://127.0.0.1:{self.port}{path}"

    def environment(self, node_ports: list[int]) -> dict[str, str]:
        env = dict(os.environ)
        env.update({
            "PRIMUS_HAPROXY_PORT": str(self.port),
            "PRIMUS_HAPROXY_SOCKET": str(self.socket_path),
            "PRIMUS_PATHNAME": self.pathname,
        })
        for index, port in enumerate(node_ports, start=1):
            env[f"PRIMUS_NODE{index}_PORT"] = str(port)
        return env

    def start(self, node_ports: list[int]) -> None:
        if not Path(HAPROXY).exists():
            raise ClusterError(f"{HAPROXY} does not exist (apt-get install haproxy)")
        env = self.environment(node_ports)
        check = subprocess.run([HAPROXY, "-c", "-q", "-f", str(HAPROXY_TEMPLATE)], env=env,
                               stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
        if check.returncode != 0:
            raise ClusterError(f"haproxy -c rejected {HAPROXY_TEMPLATE}:\n{check.stdout}{check.stderr}")
        with open(self.log_path, "ab") as log:
            # -db: stay in the foreground, as a child of this script.
            self.proc = subprocess.Popen([HAPROXY, "-db", "-f", str(HAPROXY_TEMPLATE)], env=env,
                                         stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)

    def stop(self) -> None:
        _stop_process(self.proc, signal.SIGTERM)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def runtime(self, command: str, timeout: float = 2.0) -> str:
        """One command of HAProxy's runtime API (``show stat`` …), its whole answer."""
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
            sock.settimeout(timeout)
            sock.connect(str(self.socket_path))
            sock.sendall(command.encode() + b"\n")
            chunks = []
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        return b"".join(chunks).decode(errors="replace")

    def set_listening(self, listening: bool) -> None:
        """Closes (False) or reopens (True) HAProxy's port through the runtime API; connections
        already open stay. A test uses it to keep reconnecting clients away for a while."""
        answer = self.runtime(("enable" if listening else "disable") + " frontend primus").strip()
        if answer:
            raise ClusterError(f"haproxy refused to {'enable' if listening else 'disable'} the frontend: {answer}")
        deadline = time.monotonic() + STARTUP_TIMEOUT
        while _port_accepts(self.port) != listening:
            if time.monotonic() > deadline:
                raise ClusterError(f"haproxy's port {self.port} is still {'closed' if listening else 'open'}")
            time.sleep(0.05)

    def node_states(self) -> dict[str, dict[str, str]]:
        """Per node of the backend: HAProxy's ``status`` (UP, DOWN, ``UP 1/2`` …) and the
        ``check_status`` of its last health check (L7OK, L4CON …), from ``show stat``."""
        text = self.runtime("show stat").lstrip("# ")
        rows = csv.DictReader(io.StringIO(text))
        return {
            row["svname"]: {"status": row["status"], "check_status": row.get("check_status", "")}
            for row in rows
            if row.get("pxname") == "primus_nodes" and row.get("svname") not in ("BACKEND", "FRONTEND")
        }

    def wait_for_states(self, wanted: dict[str, str], timeout: float = STARTUP_TIMEOUT) -> dict[str, dict[str, str]]:
        """Until each named node has the wanted status (``UP`` also needs a passed check);
        raises ClusterError with the last states otherwise."""
        deadline = time.monotonic() + timeout
        states: dict[str, dict[str, str]] = {}
        while time.monotonic() < deadline:
            if not self.alive():
                raise ClusterError(f"haproxy exited with {self.proc.returncode if self.proc else None}: "
                                   f"{self.log_path.read_text(errors='replace')[-2000:]}")
            try:
                states = self.node_states()
            except OSError:
                states = {}
            if states and all(
                name in states and states[name]["status"] == status
                and (status != "UP" or states[name]["check_status"] == "L7OK")
                for name, status in wanted.items()
            ):
                return states
            time.sleep(0.1)
        raise ClusterError(f"haproxy: nodes not {wanted} within {timeout:.0f}s: {states}")


# --------------------------------------------------------------------------- the cluster


def locate_bin_dir(product: str) -> Path:
    """``PRIMUS_BIN``, or ``swift build --product <product>`` in the repository and its bin path."""
    env_bin = os.environ.get("PRIMUS_BIN")
    if env_bin:
        return Path(env_bin)
    scratch = os.environ.get("PRIMUS_SCRATCH_PATH")
    extra = ["--scratch-path", scratch] if scratch else []
    subprocess.run(["swift", "build", *extra, "--product", product], cwd=REPO_ROOT, check=True,
                   stdin=subprocess.DEVNULL, stdout=sys.stderr)
    out = subprocess.run(["swift", "build", *extra, "--show-bin-path"], cwd=REPO_ROOT, check=True,
                         stdin=subprocess.DEVNULL, capture_output=True, text=True)
    return Path(out.stdout.strip().splitlines()[-1])


def _flag_value(args: list[str], flag: str, default: str) -> str:
    for index, arg in enumerate(args):
        if arg == flag and index + 1 < len(args):
            return args[index + 1]
        if arg.startswith(flag + "="):
            return arg.split("=", 1)[1]
    return default


class Cluster:
    """Redis, three nodes and HAProxy (see the module's documentation).

    ``redis=False`` leaves Redis out and starts the nodes without ``--redis``/``--node-id``:
    three independent servers behind the same HAProxy (to check the proxy on its own).
    Ports of 0 are picked free; node ports of 0 are chosen by the nodes themselves.
    """

    def __init__(
        self,
        bin_dir: Path,
        *,
        product: str = "primus-testserver",
        node_args: list[str] | tuple[str, ...] = (),
        redis: bool = True,
        haproxy_port: int = 0,
        redis_port: int = 0,
        node_ports: list[int] | tuple[int, ...] = (0, 0, 0),
        log_dir: Path | None = None,
    ) -> None:
        if len(node_ports) != len(NODE_NAMES):
            raise ClusterError(f"{len(NODE_NAMES)} node ports are needed, not {len(node_ports)}")
        self.product = product
        self.executable = Path(bin_dir) / product
        self.node_args = list(node_args)
        self.pathname = "/" + _flag_value(self.node_args, "--pathname", "/primus").strip("/")
        self._own_tmp = tempfile.mkdtemp(prefix="primus-cluster-")
        self.workdir = Path(self._own_tmp)
        self.log_dir = Path(log_dir) if log_dir else self.workdir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        # Unique per cluster, so clusters sharing a log directory never write to the same files.
        stamp = time.strftime("%H%M%S") + "-" + self.workdir.name.removeprefix("primus-cluster-")
        # Ports this script picks may be taken between the probe and the bind: then it picks again.
        self._pick_redis_port = redis_port == 0
        self._pick_haproxy_port = haproxy_port == 0
        self.redis: RedisServer | None = None
        if redis:
            self.redis = RedisServer(port=redis_port or free_port(), workdir=self.workdir,
                                     log_path=self.log_dir / f"cluster-{stamp}-redis.log")
        self.nodes: list[Node] = [
            Node(name=name, executable=self.executable, args=list(self.node_args), port=port,
                 log_path=self.log_dir / f"cluster-{stamp}-{name}.log")
            for name, port in zip(NODE_NAMES, node_ports)
        ]
        self.haproxy = HAProxy(port=haproxy_port or free_port(), socket_path=self.workdir / "haproxy.sock",
                               log_path=self.log_dir / f"cluster-{stamp}-haproxy.log", pathname=self.pathname)

    # -- lifecycle
    def start(self, timeout: float = STARTUP_TIMEOUT) -> "Cluster":
        """Starts Redis, the nodes (in parallel) and HAProxy, and returns once HAProxy saw every
        node pass its health check. On any failure, whatever started is stopped again."""
        try:
            if not self.executable.exists():
                raise ClusterError(f"{self.executable} does not exist (swift build --product {self.product})")
            if self.redis is not None:
                for attempt in range(3):
                    try:
                        self.redis.start(timeout)
                        break
                    except ClusterError:
                        if not self._pick_redis_port or attempt == 2:
                            raise
                        self.redis.port = free_port()
                for node in self.nodes:
                    node.args = [*self.node_args, "--redis", self.redis.url, "--node-id", node.name]
            errors: list[BaseException] = []

            def start_node(node: Node) -> None:
                try:
                    node.start(timeout)
                except BaseException as exc:  # noqa: BLE001 - reported below
                    errors.append(exc)

            threads = [threading.Thread(target=start_node, args=(node,)) for node in self.nodes]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            if errors:
                raise errors[0]
            for attempt in range(3):
                self.haproxy.start([node.port for node in self.nodes])
                try:
                    self.haproxy.wait_for_states({node.name: "UP" for node in self.nodes}, timeout)
                    break
                except ClusterError:
                    if self.haproxy.alive() or not self._pick_haproxy_port or attempt == 2:
                        raise
                    self.haproxy.port = free_port()  # it exited: most likely its port was taken
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """HAProxy first (no new connections), then the nodes (SIGTERM: they end their sparks),
        then Redis; removes the working directory (logs kept when a log_dir was given)."""
        self.haproxy.stop()
        threads = [threading.Thread(target=node.kill, args=(signal.SIGTERM,)) for node in self.nodes]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        if self.redis is not None:
            self.redis.kill(signal.SIGTERM)
        if self.log_dir.is_relative_to(self.workdir):
            return  # the logs live in the working directory: keep both for the user to read
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self) -> "Cluster":
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- inspection
    def node(self, name: str) -> Node:
        return next(node for node in self.nodes if node.name == name)

    def describe(self) -> dict[str, Any]:
        """Where everything listens (what ``--json`` prints)."""
        return {
            "haproxy": {"port": self.haproxy.port, "url": self.haproxy.http_url + self.pathname,
                        "pid": self.haproxy.proc.pid if self.haproxy.proc else None},
            "redis": None if self.redis is None else {
                "port": self.redis.port, "url": self.redis.url, "pid": self.redis.proc.pid if self.redis.proc else None},
            "nodes": [{"name": n.name, "port": n.port, "url": n.http_url + self.pathname,
                       "pid": n.proc.pid if n.proc else None} for n in self.nodes],
            "pathname": self.pathname,
            "logs": str(self.log_dir),
        }

    def exited(self) -> list[str]:
        """The processes that are not running any more, as ``name (exit code)``."""
        gone = [f"{n.name} (exit {n.proc.returncode})" for n in self.nodes if n.proc is not None and not n.alive()]
        if self.redis is not None and self.redis.proc is not None and not self.redis.alive():
            gone.append(f"redis (exit {self.redis.proc.returncode})")
        if self.haproxy.proc is not None and not self.haproxy.alive():
            gone.append(f"haproxy (exit {self.haproxy.proc.returncode})")
        return gone


# --------------------------------------------------------------------------- command line


def _env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value else default


def parse_arguments(argv: list[str]) -> tuple[argparse.Namespace, list[str]]:
    if "--" in argv:
        split = argv.index("--")
        own, passed = argv[:split], argv[split + 1:]
    else:
        own, passed = argv, []
    parser = argparse.ArgumentParser(
        prog="run-cluster",
        description="Redis, three Primus nodes and HAProxy on loopback, in the foreground until "
                    "Ctrl-C or SIGTERM. Flags after -- go to every node (e.g. -- --transformer engine.io).",
    )
    parser.add_argument("--port", type=int, default=_env_int("PRIMUS_CLUSTER_PORT", 8080),
                        help="HAProxy's port, where clients connect (env PRIMUS_CLUSTER_PORT; default 8080; 0 picks one)")
    parser.add_argument("--redis-port", type=int, default=_env_int("PRIMUS_CLUSTER_REDIS_PORT", 6390),
                        help="redis-server's port (env PRIMUS_CLUSTER_REDIS_PORT; default 6390; 0 picks one)")
    parser.add_argument("--node-ports", default=os.environ.get("PRIMUS_CLUSTER_NODE_PORTS", "8081,8082,8083"),
                        help="the three nodes' ports, comma-separated (env PRIMUS_CLUSTER_NODE_PORTS; "
                             "default 8081,8082,8083; 0 picks one)")
    parser.add_argument("--demo", action="store_true", help="run primus-demo nodes instead of primus-testserver")
    parser.add_argument("--no-redis", action="store_true",
                        help="no Redis: three independent nodes behind HAProxy (checks the proxy alone)")
    parser.add_argument("--json", action="store_true",
                        help="once ready, print one JSON line with every port and pid on stdout (for tools)")
    parser.add_argument("--log-dir", type=Path, default=None,
                        help="where the processes' output goes (default: a new temporary directory)")
    args = parser.parse_args(own)
    try:
        args.node_ports = [int(p) for p in args.node_ports.split(",")]
    except ValueError:
        parser.error(f"--node-ports takes three numbers separated by commas, not {args.node_ports!r}")
    if len(args.node_ports) != len(NODE_NAMES):
        parser.error(f"--node-ports takes {len(NODE_NAMES)} ports, not {len(args.node_ports)}")
    return args, passed


def main(argv: list[str] | None = None) -> int:
    args, passed = parse_arguments(sys.argv[1:] if argv is None else argv)
    product = "primus-demo" if args.demo else "primus-testserver"
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:  # noqa: ANN401
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        bin_dir = locate_bin_dir(product)
        cluster = Cluster(bin_dir, product=product, node_args=passed, redis=not args.no_redis,
                          haproxy_port=args.port, redis_port=args.redis_port, node_ports=args.node_ports,
                          log_dir=args.log_dir)
        cluster.start()
    except (ClusterError, subprocess.CalledProcessError, OSError) as exc:
        print(f"run-cluster: {exc}", file=sys.stderr)
        return 1
    described = cluster.describe()
    if args.json:
        print(json.dumps(described), flush=True)
    else:
        where = described["haproxy"]["url"]
        if args.demo:
            where = where[: -len(described["pathname"])] + "/   (the chat page; Primus at " + described["pathname"] + ")"
        else:
            where += "   (clients connect here)"
        print(f"HAProxy  {where}", flush=True)
        for node in described["nodes"]:
            print(f"{node['name']:<8} {node['url']}", flush=True)
        if described["redis"]:
            print(f"redis    {described['redis']['url']}", flush=True)
        print(f"logs     {described['logs']}\nCtrl-C stops everything.", flush=True)
    reported: set[str] = set()
    try:
        while not stop.wait(0.5):
            for gone in cluster.exited():
                if gone not in reported:  # a node killed by hand stays down; say so once
                    reported.add(gone)
                    print(f"run-cluster: {gone} is not running", file=sys.stderr, flush=True)
    finally:
        print("run-cluster: stopping", file=sys.stderr, flush=True)
        cluster.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
