"""Issue 11 in headless Chromium: the browser library with every parser (json, msgpack, binary,
ejson) and every transport (websockets; engine.io by upgrade and polling only), against
primus-testserver echoing what it gets. Values of every kind come back equal, an object's keys in
order, and bytes written as an ArrayBuffer or a Uint8Array come back as the same bytes.
"""

from __future__ import annotations

import pytest

from browser.conftest import BrowserPage

PARSERS = ["json", "msgpack", "binary", "ejson"]
# (transformer, client options): engine.io twice, upgrading to WebSocket and polling only.
TRANSPORTS = [
    pytest.param("websockets", "{}", id="websockets"),
    pytest.param("engine.io", "{}", id="engine.io-upgrade"),
    pytest.param("engine.io", "{ websockets: false }", id="engine.io-polling"),
]

VALUES_JS = """[
  'hello', '', 'pongРУССКИЙ €€€ 🚀', 'line\\u2028separator', 0, 42, -7, 3.25, 1e300, true, false, null,
  [], {}, [1, 'two', null, true, [3]],
  { nested: { a: [1, { b: null }], c: 'd' } },
  (() => { const o = {}; for (let i = 0; i < 20; i++) o['key' + ((i * 7) % 20)] = i; return o; })(),
]"""


@pytest.mark.parametrize("parser", PARSERS)
@pytest.mark.parametrize(("transformer", "options"), TRANSPORTS)
def test_values_and_bytes_round_trip(page: BrowserPage, start_testserver, parser: str, transformer: str, options: str) -> None:  # noqa: ANN001
    """Checklist 82: each parser connects and echoes, over each transport."""
    server = start_testserver("--transformer", transformer, "--parser", parser)
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server, %s);
          const errors = [];
          primus.on('error', (e) => errors.push(String(e && e.message || e)));
          await H.once(primus, 'open');
          const values = %s;
          const echoed = [];
          for (const value of values) {
            primus.write(value);
            const [got] = await H.once(primus, 'data');
            echoed.push({ sent: JSON.stringify(value), got: JSON.stringify(got),
                          keys: got && typeof got === 'object' && !Array.isArray(got) ? Object.keys(got) : null,
                          sentKeys: value && typeof value === 'object' && !Array.isArray(value) ? Object.keys(value) : null });
          }
          const bytes = new Uint8Array(300);
          for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 37) & 0xff;
          const asBytes = (x) => x instanceof ArrayBuffer ? Array.from(new Uint8Array(x))
            : ArrayBuffer.isView(x) ? Array.from(new Uint8Array(x.buffer, x.byteOffset, x.byteLength)) : null;
          const binary = [];
          for (const data of [bytes, bytes.buffer, bytes.subarray(10, 20)]) {
            primus.write(data);
            const [got] = await H.once(primus, 'data');
            binary.push({ kind: Object.prototype.toString.call(got), same: JSON.stringify(asBytes(got)) === JSON.stringify(asBytes(data)) });
          }
          const transport = primus.socket && primus.socket.transport;
          primus.end();
          return { echoed, binary, errors, transport };
        }""" % (options, VALUES_JS)
    )
    assert r["errors"] == []
    for item in r["echoed"]:
        assert item["got"] == item["sent"], item
        assert item["keys"] == item["sentKeys"], item
    assert all(entry["same"] for entry in r["binary"]), r["binary"]
    if "websockets: false" in options:
        assert r["transport"] == "polling"


@pytest.mark.parametrize("parser", ["msgpack", "ejson"])
def test_dates_round_trip_as_dates(page: BrowserPage, start_testserver, parser: str) -> None:  # noqa: ANN001
    """MessagePack's timestamp extension and EJSON's `$date` carry a Date both ways."""
    server = start_testserver("--transformer", "websockets", "--parser", parser)
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          await H.once(primus, 'open');
          const when = new Date(Date.UTC(2026, 11, 2, 11, 32, 3, 42));
          primus.write({ when });
          const [got] = await H.once(primus, 'data');
          primus.end();
          return { isDate: got.when instanceof Date, iso: got.when instanceof Date ? got.when.toISOString() : String(got.when) };
        }"""
    )
    assert r == {"isDate": True, "iso": "2026-12-02T11:32:03.042Z"}
