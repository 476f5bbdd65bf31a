"""Named events, acknowledgements and rooms in the browser library (primus.send / primus.on),
in headless Chromium against primus-testserver's event handlers, over each transformer."""

from __future__ import annotations

import pytest

from browser.conftest import BrowserPage

TRANSFORMERS = ["websockets", "engine.io", "sockjs"]


@pytest.mark.parametrize("transformer", TRANSFORMERS)
def test_events_and_acknowledgements_both_ways(page: BrowserPage, start_testserver, transformer: str) -> None:  # noqa: ANN001
    server = start_testserver("--transformer", transformer)
    page.harness(server)
    r = page.run(
        """async () => {
          const primus = new Primus(H.server);
          const got = { back: null, ack: null, answer: null, data: [] };
          primus.on('message-back', (...args) => { got.back = args; });
          primus.on('data', (data) => got.data.push(data));
          // The server asks; the page answers through the acknowledgement function.
          primus.on('question', (text, ack) => ack('page says: ' + text));
          primus.on('answer', (...args) => { got.answer = args; });
          await H.once(primus, 'open');
          primus.send('message', 1, 'two', { three: [3] });
          primus.send('message-with-ack', 'a', [1, 2], (...args) => { got.ack = args; });
          primus.send('ask', 5000, 'hello');
          primus.write('plain data');
          await H.until(() => got.back && got.ack && got.answer && got.data.length, 10000, 'events');
          primus.end();
          return got;
        }"""
    )
    assert r["back"] == [1, "two", {"three": [3]}]
    assert r["ack"] == ["a", [1, 2]]
    assert r["answer"] == ["page says: hello"]
    assert r["data"] == ["plain data"]


def test_rooms_between_two_pages(browser_page, start_testserver) -> None:  # noqa: ANN001
    server = start_testserver()
    alice, bob = browser_page(), browser_page()
    for p in (alice, bob):
        p.harness(server)
        p.run(
            """async () => {
              window.primus = new Primus(H.server);
              window.heard = [];
              primus.on('room-message', (text) => heard.push(text));
              await H.once(primus, 'open');
              await new Promise((resolve) => primus.send('join', 'lobby', resolve));
            }"""
        )
    alice.run("async () => { primus.send('to-room', 'lobby', 'hi from alice'); }")
    heard = bob.run("async () => { await H.until(() => heard.length > 0, 10000, 'room message'); return heard; }")
    assert heard == ["hi from alice"]
    # The sender is left out: a round trip of Alice's own proves nothing is on its way to her.
    alice_heard = alice.run(
        """async () => {
          await new Promise((resolve) => primus.send('message-with-ack', 'sync', resolve));
          return heard;
        }"""
    )
    assert alice_heard == []
