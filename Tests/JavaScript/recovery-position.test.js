'use strict';
// Missed-message recovery in the browser library (recovery-position.js and its use in core.js):
// the rules on their own (parsing and comparing sequences, unwrapping envelopes, dropping
// baselines and duplicates), then through the compiled library on a fake clock and WebSocket:
// `_primus_recover` on every URL, payloads before the `data` event and the emitter, the position
// kept across reconnects, and nothing of it with `recover: false`.

const test = require('node:test');
const assert = require('node:assert/strict');
const { load } = require('./support/library.js');

const { RecoveryPosition } = load().Primus;

function envelope(seq, data) {
  return data === undefined ? { 'primus::seq': seq } : { 'primus::seq': seq, data };
}

test.describe('RecoveryPosition rules', () => {
  test.it('parses "<ms>-<n>" as two unsigned decimals below 2^64, without leading zeros', () => {
    assert.deepEqual(RecoveryPosition.parse('1700000000000-0'), { text: '1700000000000-0', pair: [1700000000000, 0] });
    assert.deepEqual(RecoveryPosition.parse('007-08'), { text: '7-8', pair: [7, 8] });
    assert.deepEqual(RecoveryPosition.parse('0-0'), { text: '0-0', pair: [0, 0] });
    assert.equal(RecoveryPosition.parse('18446744073709551615-1').text, '18446744073709551615-1');
    for (const bad of ['', '1', '1-', '-1', '1-2-3', '-1-2', '1.5-2', ' 1-2', '1-2 ', 'a-b', '0x1-2',
      '18446744073709551616-0', '0-99999999999999999999', '123456789012345678901-0', 12, null, undefined, {}, ['1-2']]) {
      assert.equal(RecoveryPosition.parse(bad), null, JSON.stringify(bad));
    }
  });

  test.it('compares as the numeric pair (ms, n), not as text', () => {
    const pair = (text) => RecoveryPosition.parse(text).pair;
    assert.ok(RecoveryPosition.compare(pair('9-0'), pair('10-0')) < 0);
    assert.ok(RecoveryPosition.compare(pair('5-9'), pair('5-10')) < 0);
    assert.ok(RecoveryPosition.compare(pair('6-0'), pair('5-99')) > 0);
    assert.equal(RecoveryPosition.compare(pair('5-1'), pair('005-01')), 0);
  });

  test.it('unwraps only objects whose keys are primus::seq (valid) and optionally data', () => {
    assert.deepEqual(RecoveryPosition.unwrap(envelope('1-2', { a: 1 })), { kind: 'message', sequence: { text: '1-2', pair: [1, 2] }, data: { a: 1 } });
    assert.deepEqual(RecoveryPosition.unwrap(envelope('1-2', null)).data, null);
    assert.equal(RecoveryPosition.unwrap(envelope('1-2')).kind, 'baseline');
    const plain = [null, 'primus::seq', 0, true, [], ['1-2'], {}, { data: 1 }, { 'primus::seq': 'x', data: 1 },
      { 'primus::seq': 12, data: 1 }, { 'primus::seq': '1-2', other: 1 }, { 'primus::seq': '1-2', data: 1, more: 2 }];
    plain.forEach((value) => assert.equal(RecoveryPosition.unwrap(value).kind, 'plain', JSON.stringify(value)));
  });

  test.it('delivers payloads once and in order, remembers the greatest sequence, drops baselines and duplicates', () => {
    const position = new RecoveryPosition();
    assert.equal(position.last, null);
    assert.equal(position.queryValue(), '');
    assert.deepEqual(position.receive(envelope('10-0', 'a')), 'a');
    assert.equal(position.queryValue(), '10-0');
    assert.equal(position.receive(envelope('10-0', 'again')), RecoveryPosition.NOTHING, 'equal is a duplicate');
    assert.equal(position.receive(envelope('9-5', 'older')), RecoveryPosition.NOTHING, 'lower is a duplicate');
    assert.equal(position.receive(envelope('10-1', null)), null, 'a null payload is delivered');
    assert.equal(position.receive(envelope('20-0')), RecoveryPosition.NOTHING, 'a baseline delivers nothing');
    assert.equal(position.last, '20-0');
    assert.equal(position.receive(envelope('15-0')), RecoveryPosition.NOTHING);
    assert.equal(position.last, '20-0', 'an older baseline does not move the position back');
    assert.equal(position.receive(envelope('19-9', 'x')), RecoveryPosition.NOTHING, 'below a baseline is a duplicate');
    assert.deepEqual(position.receive(envelope('100-0', [1, 2])), [1, 2], 'numeric, not textual, order');
    assert.equal(position.last, '100-0');
    const value = { 'primus::seq': '1-1', data: 1, more: 2 };
    assert.equal(position.receive(value), value, 'not an envelope: delivered as it is');
    assert.equal(position.receive('text'), 'text');
    assert.equal(position.last, '100-0');
  });
});

// A client that connected over the fake WebSocket.
function connected(options = {}) {
  const world = load();
  const primus = new world.Primus('http://example.test/?room=a', { reconnect: { min: 10, retries: 5 }, ...options });
  world.clock.advance(0);
  const socket = world.WebSocket.last();
  socket.open();
  return { ...world, primus, socket };
}

function query(url) {
  return new URL(url).searchParams;
}

test.describe('recovery in the client', () => {
  test.it('opts in on the first URL with an empty _primus_recover, after the user query and _primuscb', () => {
    const { socket, primus } = connected();
    assert.match(socket.url, /^ws:\/\/example\.test\/primus\?room=a&_primuscb=[^&]+&_primus_recover=$/);
    assert.ok(primus.recoveryPosition instanceof primus.constructor.RecoveryPosition);
    primus.end();
  });

  test.it('delivers payloads to `data`, drops baselines and duplicates, and asks for the last sequence on reconnect', () => {
    const { socket, primus, clock, WebSocket } = connected();
    const data = [];
    primus.on('data', (value, raw) => data.push([value, raw]));
    socket.receive(JSON.stringify(envelope('1700000000000-0')));
    socket.receive(JSON.stringify(envelope('1700000000000-1', { n: 1 })));
    socket.receive(JSON.stringify(envelope('1700000000000-1', { n: 'duplicate' })));
    socket.receive(JSON.stringify('plain'));
    socket.receive(JSON.stringify(envelope('1700000000001-0', 'two')));
    assert.deepEqual(data.map((entry) => entry[0]), [{ n: 1 }, 'plain', 'two']);
    assert.equal(data[0][1], JSON.stringify(envelope('1700000000000-1', { n: 1 })), 'raw is what arrived');
    assert.equal(primus.recoveryPosition.last, '1700000000001-0');

    socket.serverClose();
    clock.advance(1000);
    assert.equal(WebSocket.made.length, 2);
    const again = WebSocket.last();
    assert.equal(query(again.url).get('_primus_recover'), '1700000000001-0');
    assert.equal(query(again.url).get('room'), 'a');
    again.open();
    // The replay overlaps what the client already has: only the new one is delivered.
    again.receive(JSON.stringify(envelope('1700000000001-0', 'two')));
    again.receive(JSON.stringify(envelope('1700000000002-0', 'three')));
    assert.deepEqual(data.map((entry) => entry[0]), [{ n: 1 }, 'plain', 'two', 'three']);
    primus.end();
  });

  test.it('unwraps before the emitter: named events and acknowledgements inside envelopes', () => {
    const { socket, primus } = connected();
    const seen = [];
    primus.on('news', (...args) => seen.push(['news', ...args]));
    primus.on('data', (value) => seen.push(['data', value]));
    socket.receive(JSON.stringify(envelope('5-0', { type: 0, data: ['news', { a: 1 }, 'b'] })));
    socket.receive(JSON.stringify(envelope('5-0', { type: 0, data: ['news', 'duplicate'] })));
    let answer = null;
    primus.send('add', 1, 2, (sum) => { answer = sum; });
    socket.receive(JSON.stringify(envelope('5-1', { type: 1, id: 1, data: [3] })));
    assert.deepEqual(seen, [['news', { a: 1 }, 'b']]);
    assert.equal(answer, 3);
    primus.end();
  });

  test.it('keeps protocol messages and incoming transformers working', () => {
    const { socket, primus } = connected();
    const seen = [];
    primus.transform('incoming', (packet) => { packet.data = { wrapped: packet.data }; });
    primus.on('data', (value) => seen.push(value));
    socket.receive(JSON.stringify('primus::ping::1'));
    socket.receive(JSON.stringify(envelope('1-0', 'x')));
    assert.deepEqual(seen, [{ wrapped: 'x' }]);
    assert.ok(socket.sent.includes(JSON.stringify('primus::pong::1')));
    primus.end();
  });

  test.it('recover: false sends no _primus_recover and delivers envelopes untouched', () => {
    const { socket, primus, clock, WebSocket } = connected({ recover: false });
    assert.equal(query(socket.url).has('_primus_recover'), false);
    assert.equal(primus.recoveryPosition, null);
    const data = [];
    primus.on('data', (value) => data.push(value));
    socket.receive(JSON.stringify(envelope('1-0', 'a')));
    socket.receive(JSON.stringify(envelope('1-0', 'a')));
    socket.receive(JSON.stringify(envelope('2-0')));
    assert.deepEqual(data, [envelope('1-0', 'a'), envelope('1-0', 'a'), envelope('2-0')]);
    socket.serverClose();
    clock.advance(1000);
    assert.equal(query(WebSocket.last().url).has('_primus_recover'), false);
    primus.end();
  });

  test.it('a fresh Primus instance starts with no position', () => {
    const first = connected();
    first.socket.receive(JSON.stringify(envelope('9-9', 'x')));
    assert.equal(first.primus.recoveryPosition.last, '9-9');
    const second = connected();
    assert.equal(second.primus.recoveryPosition.last, null);
    assert.equal(query(second.socket.url).get('_primus_recover'), '');
    first.primus.end();
    second.primus.end();
  });
});
