#!/usr/bin/env python3
"""Soak test (issue 9): churn connections across transformers while a slow reader and a ping
flooder run, sample each server's memory, descriptors and sparks, and check that they come
back to their baseline once the load stops. Not part of CI: it takes 10 minutes by default.

    .venv-ci/bin/python Benchmarks/soak/soak.py                 # release servers, 600 s
    .venv-ci/bin/python Benchmarks/soak/soak.py --duration 60 --bin .build/debug
    .venv-ci/bin/python Benchmarks/soak/soak.py --websockets-port 8081 --engineio-port 8082

See Benchmarks/soak/README.md for what it does and how to read its table. Exit status 0 when
the verdict is "back to baseline", 1 when not, 2 on a usage or setup error.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
sys.path[:0] = [str(REPO_ROOT / "Interop"), str(REPO_ROOT / "Interop" / "abuse")]

from abuse_support import (  # noqa: E402
    MIB,
    OP_TEXT,
    PING_FLOOD_FRAME,
    Attack,
    AttackStats,
    attacking,
    connect,
    eio_handshake,
    eio_messages,
    eio_request,
    eio_target,
    fd_count,
    frame,
    non_reader,
    primus_text,
    rss_bytes,
    ws_upgrade_request,
)
from primus_support import PrimusClient, ServerProcess  # noqa: E402

import websocket  # noqa: E402  (websocket-client)

# Heartbeats of the servers the script starts: short, so abandoned sessions go within seconds.
SERVER_FLAGS = ("--ping-interval", "5000", "--ping-timeout", "5000")


# --------------------------------------------------------------------------- servers


@dataclass
class Target:
    """One server under soak: its transformer, port and process id."""

    transformer: str  # "websockets" or "engine.io"
    port: int
    pid: int
    process: ServerProcess | None = None  # when this script started it

    @property
    def label(self) -> str:
        return "ws" if self.transformer == "websockets" else "eio"


def pid_listening_on(port: int) -> int:
    """The process that listens on 127.0.0.1:``port`` (a server the script did not start)."""
    inode = None
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            if fields[3] == "0A" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                inode = fields[9]
                break
        if inode:
            break
    if inode is None:
        raise SystemExit(f"nothing listens on port {port}")
    needle = f"socket:[{inode}]"
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            for fd in os.listdir(f"/proc/{pid}/fd"):
                if os.readlink(f"/proc/{pid}/fd/{fd}") == needle:
                    return int(pid)
        except OSError:
            continue
    raise SystemExit(f"cannot find the process listening on port {port} (is it yours?)")


def release_bin_dir() -> Path:
    for product in ("primus-testserver",):
        print(f"building {product} (release) …", flush=True)
        subprocess.run(["swift", "build", "-c", "release", "--product", product], cwd=REPO_ROOT, check=True)
    out = subprocess.run(["swift", "build", "-c", "release", "--show-bin-path"], cwd=REPO_ROOT, check=True,
                         capture_output=True, text=True).stdout
    return Path(out.strip().splitlines()[-1])


def start_server(bin_dir: Path, transformer: str, extra: list[str], log_dir: Path) -> Target:
    server = ServerProcess(executable=bin_dir / "primus-testserver",
                           args=["--transformer", transformer, *SERVER_FLAGS, *extra], log_dir=log_dir)
    server.start()
    assert server.proc is not None
    return Target(transformer, server.port, server.proc.pid, server)


def spark_count(target: Target) -> int:
    """Sparks the server holds, less the one asking."""
    if target.transformer == "websockets":
        with PrimusClient(f"ws://127.0.0.1:{target.port}/primus", timeout=10) as client:
            return len(client.request({"testserver": "sparks"}, timeout=10)["sparks"]) - 1
    ws = websocket.create_connection(f"ws://127.0.0.1:{target.port}/primus/?EIO=4&transport=websocket", timeout=10)
    try:
        assert ws.recv().startswith("0{")
        ws.send('4{"testserver":"sparks"}')
        while True:
            frame = ws.recv()
            if frame.startswith("4{"):
                return len(json.loads(frame[1:])["sparks"]) - 1
    finally:
        ws.close()


# --------------------------------------------------------------------------- load


@dataclass
class Churn:
    """Connections opened, echoed on and closed, by kind; and failures."""

    done: dict[str, int] = field(default_factory=dict)
    failed: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, kind: str, error: Exception | None) -> None:
        with self.lock:
            if error is None:
                self.done[kind] = self.done.get(kind, 0) + 1
            else:
                self.failed[kind] = self.failed.get(kind, 0) + 1
                if len(self.errors) < 10:
                    self.errors.append(f"{kind}: {type(error).__name__}: {error}")

    def total(self) -> int:
        with self.lock:
            return sum(self.done.values()) + sum(self.failed.values())


def churn_websocket(target: Target, rng: random.Random) -> None:
    with PrimusClient(f"ws://127.0.0.1:{target.port}/primus", timeout=10) as client:
        value = {"soak": rng.getrandbits(32), "pad": "x" * rng.randrange(0, 2048)}
        client.write(value)
        while client.recv(10) != value:
            pass
        time.sleep(rng.random() * 0.1)  # some stay a little, so sparks overlap


def churn_engineio_ws(target: Target, rng: random.Random) -> None:
    ws = websocket.create_connection(f"ws://127.0.0.1:{target.port}/primus/?EIO=4&transport=websocket", timeout=10)
    try:
        assert ws.recv().startswith("0{")
        value = {"soak": rng.getrandbits(32)}
        ws.send("4" + json.dumps(value))
        while True:
            frame = ws.recv()
            if frame == "2":
                ws.send("3")
            elif frame.startswith("4") and json.loads(frame[1:]) == value:
                break
        time.sleep(rng.random() * 0.1)
    finally:
        ws.close()


def churn_engineio_polling(target: Target, rng: random.Random) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", target.port, timeout=10)
    try:
        status, sid, body = eio_handshake(conn)
        assert sid is not None, f"handshake {status} {body[:100]!r}"
        value = {"soak": rng.getrandbits(32)}
        status, _, body = eio_request(conn, "POST", eio_target(sid), b"4" + json.dumps(value).encode())
        assert status == 200, f"POST {status} {body[:100]!r}"
        deadline = time.monotonic() + 10
        while value not in eio_messages(eio_request(conn, "GET", eio_target(sid))[2]):
            assert time.monotonic() < deadline, "no echo"
        if rng.random() < 0.5:  # half close politely, half are abandoned for the heartbeat to find
            eio_request(conn, "POST", eio_target(sid), b"1")
    finally:
        conn.close()


def churner(targets: list[Target], churn: Churn, stop: threading.Event, budget: threading.Semaphore,
            seed: int) -> None:
    rng = random.Random(seed)
    kinds = []
    for target in targets:
        if target.transformer == "websockets":
            kinds.append(("websockets", target, churn_websocket))
        else:
            kinds += [("engine.io websocket", target, churn_engineio_ws),
                      ("engine.io polling", target, churn_engineio_polling)]
    while not stop.is_set():
        if not budget.acquire(timeout=0.2):
            continue
        kind, target, run = rng.choice(kinds)
        try:
            run(target, rng)
            churn.record(kind, None)
        except Exception as exc:  # noqa: BLE001 - counted and shown
            churn.record(kind, exc)


def pacer(budget: threading.Semaphore, total: int, seconds: float, stop: threading.Event) -> None:
    """Releases ``total`` connection permits evenly over ``seconds``."""
    started = time.monotonic()
    released = 0
    while released < total and not stop.is_set():
        due = min(total, int(total * (time.monotonic() - started) / seconds) + 1)
        for _ in range(due - released):
            budget.release()
        released = due
        stop.wait(0.05)


def slow_reader(target: Target) -> Attack:
    """A WebSocket client that asks for 16 KiB echoes ten times a second and reads 4 KiB a
    second, with a 4 KiB receive buffer: it falls further behind all the time."""
    path = "/primus" if target.transformer == "websockets" else "/primus/?EIO=4&transport=websocket"
    if target.transformer == "websockets":
        request_frame = primus_text("r" * 16384)
    else:  # an Engine.IO message packet: "4" + the Primus JSON
        request_frame = frame(OP_TEXT, b"4" + json.dumps("r" * 16384).encode())

    def attack(stop: threading.Event, stats: AttackStats) -> None:
        while not stop.is_set():
            try:
                sock = connect(target.port, rcvbuf=4096)
                sock.sendall(ws_upgrade_request(path))
            except OSError as exc:
                stats.error(repr(exc))
                stop.wait(1)
                continue
            opened = time.monotonic()
            stats.count("connections")
            sock.settimeout(0.1)
            ticks = 0
            try:
                while not stop.wait(0.1):
                    ticks += 1
                    sock.sendall(request_frame)
                    if ticks % 10 == 0:
                        try:
                            got = sock.recv(4096)
                        except (socket.timeout, TimeoutError):
                            got = b"-"
                        if not got:
                            raise ConnectionResetError("closed by the server")
                        stats.count("bytes read", len(got))
            except OSError as exc:
                stats.ended(time.monotonic() - opened)
                stats.count(f"ended by the server ({type(exc).__name__})")
            finally:
                sock.close()
            stop.wait(0.5)

    return attack


# --------------------------------------------------------------------------- sampling


@dataclass
class Sample:
    at: float
    phase: str
    rss: dict[str, int]
    fds: dict[str, int]
    sparks: dict[str, int | None]
    churned: int


def take_sample(targets: list[Target], at: float, phase: str, churn: Churn) -> Sample:
    rss, fds, sparks = {}, {}, {}
    for t in targets:
        rss[t.label] = rss_bytes(t.pid)
        fds[t.label] = fd_count(t.pid)
        try:
            sparks[t.label] = spark_count(t)
        except Exception:  # noqa: BLE001 - a busy server may not answer in time; shown as "?"
            sparks[t.label] = None
    return Sample(at, phase, rss, fds, sparks, churn.total())


def row(sample: Sample, labels: list[str]) -> str:
    cells = [f"{sample.at:6.0f}s", f"{sample.phase:8s}"]
    for label in labels:
        sparks = sample.sparks[label]
        cells.append(f"{sample.rss[label] / MIB:8.1f} {sample.fds[label]:6d} {sparks if sparks is not None else '?':>6}")
    cells.append(f"{sample.churned:8d}")
    return " | ".join(cells)


def header(labels: list[str]) -> str:
    cells = ["   time", "phase   "]
    for label in labels:
        cells.append(f"{label + ' RSS MiB':>8s} {'fds':>6s} {'sparks':>6s}")
    cells.append(" churned")
    return " | ".join(cells)


# --------------------------------------------------------------------------- verdict


def verdict(samples: list[Sample], labels: list[str], rss_slack: int, fd_slack: int) -> list[str]:
    """What did not come back: one line per failure (empty when all did)."""
    failures = []
    base = [s for s in samples if s.phase == "baseline"]
    load = [s for s in samples if s.phase == "load"]
    end = [s for s in samples if s.phase == "cooldown"][-3:]
    if not base or not end:
        return ["too few samples for a verdict (raise --duration)"]
    for label in labels:
        rss0 = statistics.median(s.rss[label] for s in base)
        fds0 = min(s.fds[label] for s in base)
        sparks0 = min((s.sparks[label] for s in base if s.sparks[label] is not None), default=0)
        rss1 = end[-1].rss[label]
        fds1 = min(s.fds[label] for s in end)
        sparks1 = [s.sparks[label] for s in end if s.sparks[label] is not None]
        peak = max(s.rss[label] for s in samples)
        print(f"{label}: RSS {rss0 / MIB:.1f} MiB at baseline, peak {peak / MIB:.1f}, end {rss1 / MIB:.1f}; "
              f"fds {fds0} -> {max(s.fds[label] for s in samples)} -> {fds1}; sparks {sparks0} -> "
              f"{max((s.sparks[label] or 0) for s in samples)} -> {sparks1[-1] if sparks1 else '?'}")
        if rss1 > rss0 + rss_slack:
            failures.append(f"{label}: RSS ended at {rss1 / MIB:.1f} MiB, more than {rss_slack / MIB:.0f} MiB over "
                            f"its baseline {rss0 / MIB:.1f} MiB")
        if fds1 > fds0 + fd_slack:
            failures.append(f"{label}: {fds1} descriptors at the end, baseline {fds0} (slack {fd_slack})")
        if not sparks1 or min(sparks1) > sparks0:
            failures.append(f"{label}: sparks did not return to {sparks0} (last samples: {sparks1 or 'no answer'})")
        if len(load) >= 6:
            half = len(load) // 2
            first, second = load[:half], load[half:]
            grew = statistics.median(s.rss[label] for s in second) - statistics.median(s.rss[label] for s in first)
            print(f"{label}: RSS median grew {grew / MIB:+.1f} MiB from the first to the second half of the load")
            if grew > rss_slack:
                failures.append(f"{label}: RSS kept growing under steady load (+{grew / MIB:.1f} MiB "
                                f"from the first half to the second)")
    return failures


# --------------------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=600, help="seconds in all (default 600)")
    parser.add_argument("--connections", type=int, default=10_000,
                        help="connections to churn during the load phase (default 10,000)")
    parser.add_argument("--workers", type=int, default=16, help="churning threads (default 16)")
    parser.add_argument("--sample-every", type=float, default=5.0, help="seconds between samples (default 5)")
    parser.add_argument("--bin", type=Path, help="directory holding primus-testserver (default: build release)")
    parser.add_argument("--websockets-port", type=int, help="use this running websockets testserver")
    parser.add_argument("--engineio-port", type=int, help="use this running engine.io testserver")
    parser.add_argument("--server-flag", action="append", default=[],
                        help="extra flag for the servers the script starts, e.g. --server-flag=--max-buffered-bytes=262144")
    parser.add_argument("--rss-slack-mib", type=float, default=64, help="RSS allowed over baseline at the end (MiB)")
    parser.add_argument("--fd-slack", type=int, default=8, help="descriptors allowed over baseline at the end")
    args = parser.parse_args()

    cooldown = max(30.0, args.duration * 0.2)
    baseline_time = min(20.0, max(10.0, args.duration * 0.05))
    load_time = args.duration - cooldown - baseline_time
    if load_time < 10:
        print("--duration must be at least 50 s (baseline, 10 s of load, 30 s of cooldown)", file=sys.stderr)
        return 2

    extra = [part for flag in args.server_flag for part in flag.split("=", 1)]
    log_dir = Path(tempfile.mkdtemp(prefix="primus-soak-"))
    targets: list[Target] = []
    try:
        need_bin = args.websockets_port is None or args.engineio_port is None
        bin_dir = (args.bin or release_bin_dir()) if need_bin else None
        for transformer, port in (("websockets", args.websockets_port), ("engine.io", args.engineio_port)):
            if port is None:
                targets.append(start_server(bin_dir, transformer, extra, log_dir))
            else:
                targets.append(Target(transformer, port, pid_listening_on(port)))
        labels = [t.label for t in targets]
        for t in targets:
            print(f"{t.label}: {t.transformer} on port {t.port}, pid {t.pid}"
                  + (" (started here)" if t.process else " (running)"))
        print(f"baseline {baseline_time:.0f}s, load {load_time:.0f}s ({args.connections} connections churned by "
              f"{args.workers} workers, a slow reader and a ping flooder per server), cooldown {cooldown:.0f}s; "
              f"server logs in {log_dir}\n")
        print(header(labels))

        samples: list[Sample] = []
        churn = Churn()
        started = time.monotonic()

        def sample_until(until: float, phase: str) -> None:
            while True:
                now = time.monotonic() - started
                samples.append(take_sample(targets, now, phase, churn))
                print(row(samples[-1], labels), flush=True)
                if now + args.sample_every > until:
                    time.sleep(max(0.0, until - (time.monotonic() - started)))
                    return
                time.sleep(max(0.0, samples[-1].at + args.sample_every - (time.monotonic() - started)))

        sample_until(baseline_time, "baseline")

        stop = threading.Event()
        budget = threading.Semaphore(0)
        workers = [threading.Thread(target=churner, args=(targets, churn, stop, budget, i), daemon=True)
                   for i in range(args.workers)]
        workers.append(threading.Thread(target=pacer, args=(budget, args.connections, load_time, stop), daemon=True))
        attacks = []
        for t in targets:
            path = "/primus" if t.transformer == "websockets" else "/primus/?EIO=4&transport=websocket"
            attacks.append((f"{t.label} ping flooder",
                            non_reader(t.port, PING_FLOOD_FRAME * 1000, request=ws_upgrade_request(path))))
            attacks.append((f"{t.label} slow reader", slow_reader(t)))
        for worker in workers:
            worker.start()
        with attacking(*attacks, stop=stop) as attack_stats:
            sample_until(baseline_time + load_time, "load")
        for worker in workers:
            worker.join(15)
        sample_until(args.duration, "cooldown")

        print()
        print(f"churned {churn.total()} of {args.connections} connections: {dict(sorted(churn.done.items()))}; "
              f"failed: {dict(sorted(churn.failed.items()))}")
        if churn.total() < args.connections * 0.95:
            print(f"  (the workers could not keep up with {args.connections} connections in {load_time:.0f}s: "
                  f"raise --workers or --duration)")
        for error in churn.errors[:5]:
            print(f"  e.g. {error}")
        for stat in attack_stats:
            print(stat.describe())
        failures = verdict(samples, labels, int(args.rss_slack_mib * MIB), args.fd_slack)
        for t in targets:
            if t.process is not None and not t.process.alive():
                failures.append(f"{t.label}: the server exited")
        print()
        if failures:
            print("VERDICT: NOT back to baseline")
            for failure in failures:
                print(f"  - {failure}")
            return 1
        print("VERDICT: RSS, descriptors and sparks back to baseline")
        return 0
    finally:
        for t in targets:
            if t.process is not None:
                t.process.stop()


if __name__ == "__main__":
    sys.exit(main())
