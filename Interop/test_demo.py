"""primus-demo: an HTML page at / and a chat at /primus (every message to every spark)."""

from __future__ import annotations

import json
import subprocess
import threading
import time
from pathlib import Path

import requests

from primus_support import PrimusClient, ServerProcess


def test_demo_serves_html_page(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo()
    r = requests.get(f"{demo.http_url}/", timeout=5)
    assert r.status_code == 200
    assert r.headers["content-type"].split(";")[0].strip() == "text/html"
    assert "<html" in r.text.lower()


def test_demo_spec(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo("--ping-interval", "2500")
    r = requests.get(f"{demo.http_url}/primus/spec", timeout=5)
    assert r.status_code == 200
    spec = r.json()
    assert spec["pathname"] == "/primus"
    assert spec["pingInterval"] == 2500


def _recv_until(client: PrimusClient, wanted: object, skippable: list[object]) -> None:
    """Receive until ``wanted``; only messages in ``skippable`` may come before it."""
    for _ in range(len(skippable) + 1):
        got = client.recv()
        if got == wanted:
            return
        assert got in skippable, f"expected {wanted!r}, got {got!r}"
    raise AssertionError(f"{wanted!r} never arrived")


def test_demo_broadcasts_to_every_spark_sender_included(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo("--transformer", "websockets", "--parser", "json")
    with PrimusClient(demo.ws_url()) as a, PrimusClient(demo.ws_url()) as b:
        # Each spark is known to the server once its own hello came back to it (sender
        # included); a's hello reaches b only if b was registered by then.
        hellos: list[object] = [{"hello": "a"}, {"hello": "b"}]
        a.write(hellos[0])
        _recv_until(a, hellos[0], [])
        b.write(hellos[1])
        _recv_until(b, hellos[1], [hellos[0]])
        b.write("pongРУССКИЙ")
        _recv_until(a, "pongРУССКИЙ", [hellos[1]])
        # Messages of different senders are not ordered against each other: a's hello
        # may still be on its way to b.
        _recv_until(b, "pongРУССКИЙ", [hellos[0]])


def test_demo_answers_heartbeat_clients(start_demo) -> None:  # noqa: ANN001
    demo: ServerProcess = start_demo("--ping-interval", "300")
    with PrimusClient(demo.ws_url()) as client:
        client.expect_silence(1.2)
        assert client.pings, "demo never pinged with --ping-interval 300"
        client.write(0)
        assert client.recv() == 0


class _Lines:
    """Lines of one stream of a process, collected by a thread, waited for with a deadline."""

    def __init__(self, stream) -> None:  # noqa: ANN001
        self.lines: list[str] = []
        self.cond = threading.Condition()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream) -> None:  # noqa: ANN001
        for line in stream:
            with self.cond:
                self.lines.append(line.rstrip("\n"))
                self.cond.notify_all()

    def wait_for(self, predicate, what: str, timeout: float = 15.0) -> str:  # noqa: ANN001
        deadline = time.monotonic() + timeout
        with self.cond:
            seen = 0
            while True:
                for line in self.lines[seen:]:
                    if predicate(line):
                        self.lines = self.lines[self.lines.index(line) + 1:]
                        return line
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{what}: not seen within {timeout}s; lines: {self.lines[-10:]!r}")
                self.cond.wait(left)


def _demo_on_port(bin_dir: Path, port: int) -> subprocess.Popen:
    proc = subprocess.Popen(
        [str(bin_dir / "primus-demo"), "--port", str(port), "--ping-interval", "2000"],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )
    ready = _Lines(proc.stdout)
    ready.wait_for(lambda line: line == f"listening on http://127.0.0.1:{port}", "demo listening")
    return proc


def test_terminal_client_prints_messages_while_stdin_is_idle_across_a_restart(start_demo, bin_dir: Path) -> None:  # noqa: ANN001
    """Issue 11: `primus-demo --client` printed others' messages only after its user typed a
    line (fflush(NULL) locked stdin, held by the reading thread). With its standard input open
    and idle, it must print each message as it arrives, before and after the server restarts."""
    demo: ServerProcess = start_demo("--ping-interval", "2000")
    port = demo.port
    chat = subprocess.Popen(
        [str(bin_dir / "primus-demo"), "--client", f"http://127.0.0.1:{port}/primus"],
        stdin=subprocess.PIPE,  # open, and never written: an idle terminal
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    restarted: subprocess.Popen | None = None
    try:
        out, err = _Lines(chat.stdout), _Lines(chat.stderr)
        err.wait_for(lambda line: line.startswith("connected to"), "the chat client connecting")
        with PrimusClient(demo.ws_url()) as other:
            other.write({"from": "other", "n": 1})
            line = out.wait_for(lambda line: "other" in line, "the first message on the idle client's stdout")
            assert json.loads(line) == {"from": "other", "n": 1}

        demo.stop()
        err.wait_for(lambda line: line in ("disconnected", "the server stopped pinging"), "the chat client noticing the stop")
        restarted = _demo_on_port(bin_dir, port)
        err.wait_for(lambda line: line == "reconnected", "the chat client reconnecting", timeout=30)
        with PrimusClient(f"ws://127.0.0.1:{port}/primus") as other:
            other.write({"from": "other", "n": 2})
            line = out.wait_for(lambda line: "other" in line, "a message after the restart on the idle client's stdout")
            assert json.loads(line) == {"from": "other", "n": 2}
        assert chat.poll() is None, "the chat client exited"
    finally:
        for proc in (chat, restarted):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    proc.kill()


def test_terminal_clients_ask_the_server_which_transformer_and_parser_it_speaks(start_demo, bin_dir: Path) -> None:  # noqa: ANN001
    """Without --transformer and --parser, `primus-demo --client` read them from the server's
    spec: pointed at an engine.io + msgpack demo it answered 400 and reconnected forever."""
    demo: ServerProcess = start_demo("--transformer", "engine.io", "--parser", "msgpack")
    chats = [
        subprocess.Popen(
            [str(bin_dir / "primus-demo"), "--client", f"http://127.0.0.1:{demo.port}"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        for _ in range(2)
    ]
    try:
        outs = [_Lines(chat.stdout) for chat in chats]
        errs = [_Lines(chat.stderr) for chat in chats]
        for err in errs:
            err.wait_for(lambda line: line == "the server speaks engine.io with the msgpack parser", "the spec read")
            err.wait_for(lambda line: line.startswith("connected to"), "the chat client connecting")
        chats[0].stdin.write("hello from the first terminal\n")
        chats[0].stdin.flush()
        for out in outs:
            line = out.wait_for(lambda line: "first terminal" in line, "the broadcast line")
            assert json.loads(line) == "hello from the first terminal"
    finally:
        for chat in chats:
            if chat.poll() is None:
                chat.terminate()
                try:
                    chat.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    chat.kill()
