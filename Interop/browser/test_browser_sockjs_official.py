"""The official sockjs-client browser build (Debian's node-sockjs-client 1.6,
``/usr/share/nodejs/sockjs-client/dist/sockjs.js``) in headless Chromium against our SockJS
server's test services (``primus-testserver --transformer sockjs --raw``: ``/echo``, ``/close``,
``/disabled_websocket_echo``).

The page and the client script come from a local HTTP server on another port, so the page is on
another origin than the SockJS server and every transport crosses origins: XHR transports with
CORS, the iframe transports through our ``iframe.html`` (which loads the same script, by
``--sockjs-url``), JSONP through script tags. Each transport is used alone (the client's
``transports`` option) and must echo JSON, UTF-8 and the characters SockJS escapes intact.
"""

from __future__ import annotations

import functools
import http.server
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from browser.conftest import BrowserPage

OFFICIAL_CLIENT = Path("/usr/share/nodejs/sockjs-client/dist/sockjs.js")

TRANSPORTS = [
    "websocket", "xhr-streaming", "xhr-polling", "eventsource",
    "iframe-eventsource", "iframe-htmlfile", "jsonp-polling",
]

MESSAGES = [
    '{"a":[1,2,3],"b":"c","nested":{"d":null,"e":true}}',
    "plain text",
    "za\u017c\u00f3\u0142\u0107 g\u0119\u015bl\u0105 ja\u017a\u0144 \u2603 \U0001f600 \u65e5\u672c\u8a9e",
    "line\u2028sep\u2029para\u0000nul\u0001\u001f\u200c\u200f\u2060\u206f\ufff0\uffff end",
    '"quotes" and \\backslashes\\ and \n newlines \t tabs </script> <!-- -->',
    "",
]

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>sockjs-client against swift-primus</title>
<script src="sockjs.js"></script></head><body></body></html>
"""

# One session: open, send every message, collect the echoes, close. Returns what happened.
SESSION = """async ([url, transport, messages, timeout]) => {
  const events = [];
  const sock = new SockJS(url, null, { transports: [transport] });
  const done = new Promise((resolve) => {
    const timer = setTimeout(() => { events.push({ event: 'timeout' }); resolve(); }, timeout);
    sock.onopen = () => {
      events.push({ event: 'open', transport: sock.transport });
      messages.forEach((m) => sock.send(m));
    };
    sock.onmessage = (e) => {
      events.push({ event: 'message', data: e.data });
      if (events.filter((x) => x.event === 'message').length === messages.length) sock.close();
    };
    sock.onclose = (e) => {
      events.push({ event: 'close', code: e.code, reason: e.reason, wasClean: e.wasClean });
      clearTimeout(timer);
      resolve();
    };
  });
  await done;
  return events;
}"""


@pytest.fixture
def pages_origin(tmp_path: Path) -> Iterator[str]:
    """An HTTP server on another port serving the test page and the official client script."""
    if not OFFICIAL_CLIENT.exists():
        pytest.fail(f"{OFFICIAL_CLIENT} is missing (apt-get install node-sockjs-client)", pytrace=False)
    shutil.copyfile(OFFICIAL_CLIENT, tmp_path / "sockjs.js")
    (tmp_path / "index.html").write_text(PAGE, encoding="utf-8")
    handler = functools.partial(_QuietHandler, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass


@pytest.fixture
def sockjs_raw(start_testserver, pages_origin: str):  # noqa: ANN001, ANN201
    """The SockJS test services; their iframe page loads the official client from the pages' origin."""
    return start_testserver("--transformer", "sockjs", "--raw", "--sockjs-url", f"{pages_origin}/sockjs.js")


@pytest.fixture
def official(page: BrowserPage, pages_origin: str) -> BrowserPage:
    page.page.goto(f"{pages_origin}/index.html")
    page.page.wait_for_function("typeof SockJS === 'function'", timeout=15_000)
    return page


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_echo_service_echoes_json_utf8_and_escaped_characters(official: BrowserPage, sockjs_raw, transport: str) -> None:  # noqa: ANN001
    events = official.run(SESSION, [f"{sockjs_raw.http_url}/echo", transport, MESSAGES, 20_000])
    assert events[0] == {"event": "open", "transport": transport}, events
    assert [e["data"] for e in events if e["event"] == "message"] == MESSAGES
    assert events[-1]["event"] == "close", events
    assert events[-1]["code"] == 1000  # the client's own close


@pytest.mark.parametrize("transport", ["websocket", "xhr-streaming", "eventsource", "jsonp-polling"])
def test_close_service_closes_with_3000_go_away(official: BrowserPage, sockjs_raw, transport: str) -> None:  # noqa: ANN001
    events = official.run(SESSION, [f"{sockjs_raw.http_url}/close", transport, ["never echoed"], 20_000])
    assert [e["event"] for e in events] == ["open", "close"], events
    assert (events[-1]["code"], events[-1]["reason"]) == (3000, "Go away!")


def test_disabled_websocket_service_leaves_the_websocket_out(official: BrowserPage, sockjs_raw) -> None:  # noqa: ANN001
    """/info says ``"websocket": false``: a client limited to the WebSocket has nothing to try,
    and one allowed more falls back to xhr-streaming, which echoes."""
    url = f"{sockjs_raw.http_url}/disabled_websocket_echo"
    alone = official.run(SESSION, [url, "websocket", ["x"], 20_000])
    assert [e["event"] for e in alone] == ["close"], alone
    assert alone[-1]["code"] == 2000  # sockjs-client: "All transports failed"
    both = official.run(
        """async ([url, messages]) => {
          const sock = new SockJS(url, null, { transports: ['websocket', 'xhr-streaming'] });
          const got = [];
          let transport = null;
          await new Promise((resolve, reject) => {
            const timer = setTimeout(() => reject(new Error('no echo')), 20000);
            sock.onopen = () => { transport = sock.transport; messages.forEach((m) => sock.send(m)); };
            sock.onmessage = (e) => { got.push(e.data); if (got.length === messages.length) { clearTimeout(timer); sock.close(); resolve(); } };
          });
          return { transport, got };
        }""",
        [url, MESSAGES[:3]],
    )
    assert both == {"transport": "xhr-streaming", "got": MESSAGES[:3]}
