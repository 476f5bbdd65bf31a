"""Our browser client over the `browserchannel` transformer, in headless Chromium.

The library served at /primus/primus.js carries transports/browserchannel.js when the server runs
BrowserChannel. These tests drive it against primus-testserver: echo, heartbeats, end from both
sides, reconnect after the server is killed and restarted, and a page served from another origin.
The harness page itself is a file:// page, so every request is already cross-origin.
"""

from __future__ import annotations

import http.server
import threading
from pathlib import Path
from typing import Any

import pytest

from browser.conftest import BrowserPage

BC = ("--transformer", "browserchannel")
NOT_RECONNECT = {"reconnect", "reconnect scheduled", "reconnected", "reconnect failed", "reconnect timeout"}


def names(log: list[dict[str, Any]], *, without: tuple[str, ...] = ()) -> list[str]:
    return [entry["event"] for entry in log if entry["event"] not in without]


def test_echo_values_utf8_and_the_session_url(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    server = start_testserver(*BC)
    page.harness(server)
    values: list[Any] = ["hello", "", 0, 1.5, True, None, [1, "two", {"three": 3}], "€ \U0001F600 \u2028 </script>", "a&b=c+d%25"]
    r = page.run(
        """async (values) => {
          const primus = new Primus(H.server + '/?foo=bar');
          const got = [];
          primus.on('data', (data) => got.push(data));
          await H.once(primus, 'open');
          values.forEach((v) => primus.write(v));
          primus.write({ testserver: 'info' });
          await H.until(() => got.length >= values.length + 1, 10000, 'echoes');
          const url = primus.socket.url;
          primus.end();
          return { got, url, transport: primus.socket.transport };
        }""",
        values,
    )
    assert r["got"][: len(values)] == values
    info = r["got"][-1]
    assert info["query"]["foo"] == "bar" and info["query"]["VER"] == "8"
    assert info["address"]["port"] != 1337
    assert r["url"].startswith(f"http://127.0.0.1:{server.port}/primus/bind?foo=bar&_primuscb=")
    assert r["transport"] == "browserchannel"


def test_heartbeats_keep_the_connection(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    server = start_testserver(*BC, "--ping-interval", "500")
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          const log = H.record(primus);
          await H.once(primus, 'open');
          // Several ping windows: pings come down the back channel, pongs go up.
          await H.sleep(3000);
          primus.write('alive');
          const got = H.collect(primus);
          await H.until(() => got.length >= 1, 5000, 'echo');
          primus.end();
          return { log, got };
        }"""
    )
    assert r["got"] == ["alive"]
    assert not NOT_RECONNECT & set(names(r["log"]))
    assert "close" not in names(r["log"])[:-2]


def test_client_end_terminates_the_session(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    server = start_testserver(*BC)
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { reconnect: { min: 50 } });
          const log = H.record(primus);
          await H.once(primus, 'open');
          const sid = primus.socket.id;
          const opened = log.length;
          primus.end();
          await H.sleep(500);
          // The session is gone on the server: its forward channel answers Unknown SID.
          const answer = await fetch(H.server + '/primus/bind?VER=8&SID=' + sid + '&RID=99999&AID=0',
            { method: 'POST', body: 'count=0', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
          return { after: H.names(log.slice(opened)), status: answer.status, body: await answer.text(), state: primus.readyState };
        }"""
    )
    assert r["after"] == ["readyStateChange", "close", "end"]
    assert (r["status"], r["body"]) == (400, "Unknown SID")
    assert r["state"] == 2


def test_server_end_ends_the_client_without_reconnect(page: BrowserPage, start_testserver) -> None:  # noqa: ANN001
    server = start_testserver(*BC)
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, { reconnect: { min: 50 } });
          const log = H.record(primus);
          await H.once(primus, 'open');
          primus.write({ testserver: 'end', data: 'bye' });
          await H.once(primus, 'end');
          await H.sleep(1000);
          return { log };
        }"""
    )
    events = names(r["log"], without=("readyStateChange",))
    assert events == ["open", "data", "close", "end"]
    assert r["log"][[e["event"] for e in r["log"]].index("data")]["args"][0] == "bye"


def test_server_kill_reconnects_and_delivers_offline_writes_once(page: BrowserPage, start_testserver, respawn) -> None:  # noqa: ANN001
    server = start_testserver(*BC, "--ping-interval", "1000")
    page.harness(server)
    page.run(
        """async () => {
          window.primus = new Primus(H.server, { reconnect: { min: 100, max: 400, retries: 100 } });
          window.log = H.record(primus);
          window.got = H.collect(primus);
          await H.once(primus, 'open');
          window.mark = log.length;
        }"""
    )
    # SIGKILL: no goodbye reaches the page, its back channel just breaks.
    assert server.proc is not None
    server.proc.kill()
    server.proc.wait(timeout=5)
    again = respawn(server)
    page.run(
        """async () => {
          await H.until(() => H.names(log).includes('close'), 10000, 'close after the server died');
          await H.until(() => H.names(log).filter((n) => n === 'reconnect').length >= 1, 10000, 'a failing attempt');
          primus.write('while-down-1');
          primus.write('while-down-2');
        }"""
    )
    again.start()
    r = page.run(
        """async () => {
          await H.until(() => got.length >= 2, 15000, 'offline writes echoed after restart');
          await H.sleep(500);
          const after = log.slice(mark);
          primus.end();
          return { after, got };
        }"""
    )
    events = names(r["after"], without=("readyStateChange", "error"))
    assert events[0] == "close" and "reconnected" in events
    assert r["got"] == ["while-down-1", "while-down-2"]


class OtherOrigin:
    """Serves Interop/browser (the harness) from http://localhost:PORT, another origin than the
    testserver's http://127.0.0.1:PORT."""

    def __init__(self) -> None:
        directory = str(Path(__file__).resolve().parent)

        class Handler(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=directory, **kwargs)

            def log_message(self, *args: Any) -> None:  # quiet
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def other_origin():  # noqa: ANN201
    origin = OtherOrigin()
    yield origin
    origin.close()


def test_a_page_on_another_origin(page: BrowserPage, start_testserver, other_origin: OtherOrigin) -> None:  # noqa: ANN001
    server = start_testserver(*BC)
    page.page.goto(f"http://localhost:{other_origin.port}/harness.html?server={server.http_url}&library=/primus/primus.js")
    page.page.wait_for_function("window.harnessReady === true || !!window.harnessError", timeout=15_000)
    assert page.run("window.harnessError || null") is None
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          const got = H.collect(primus);
          await H.once(primus, 'open');
          primus.write({ cross: 'origin' });
          await H.until(() => got.length >= 1, 10000, 'echo');
          primus.end();
          return { got, origin: location.origin };
        }"""
    )
    assert r["origin"] == f"http://localhost:{other_origin.port}"
    assert r["got"] == [{"cross": "origin"}]


def test_demo_chat_between_two_pages_over_browserchannel(browser_page, start_demo) -> None:  # noqa: ANN001
    """`primus-demo --transformer browserchannel`: two pages chat through BrowserChannel."""
    from browser.test_browser_demo import messages, open_chat, say, wait_texts

    demo = start_demo("--transformer", "browserchannel")
    alice, bob = browser_page(), browser_page()
    binds: list[str] = []
    alice.page.on("request", lambda request: binds.append(request.url) if "/primus/bind?" in request.url else None)
    open_chat(alice, f"{demo.http_url}/", "Alice")
    open_chat(bob, f"{demo.http_url}/", "Bob")
    say(alice, "Hello over BrowserChannel!")
    wait_texts(bob, ["Hello over BrowserChannel!"])
    say(bob, "Hi Alice — über Primus \U0001F600")
    wait_texts(alice, ["Hello over BrowserChannel!", "Hi Alice — über Primus \U0001F600"])
    expected = [
        {"who": "Alice", "text": "Hello over BrowserChannel!", "pending": False},
        {"who": "Bob", "text": "Hi Alice — über Primus \U0001F600", "pending": False},
    ]
    assert messages(alice) == expected
    wait_texts(bob, ["Hi Alice — über Primus \U0001F600"])
    assert messages(bob) == expected
    # The page spoke BrowserChannel: a creation, a back channel, forward requests.
    assert any("RID=rpc" in url and "CI=0" in url for url in binds), binds
    assert any("CVER=1" in url for url in binds), binds
