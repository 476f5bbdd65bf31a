'use strict';
// The socket.io transport client (transports/socket.io.js) in the library the server compiles:
// its Socket.IO v5 packet codec (every packet type, attachments and placeholders, namespaces,
// malformed input and the bounds), the Primus ⇄ Socket.IO mapping the server's SocketIOPrimusBridge follows (data,
// emitter events and acks, the Primus protocol messages), and the transport on a fake clock, a
// fake fetch and a fake WebSocket: CONNECT before open, CONNECT_ERROR, pings, DISCONNECT, the
// client's end, binary over the WebSocket. What needs a real server and browser is in
// Interop/browser/test_browser_socketio.py.

const test = require('node:test');
const assert = require('node:assert/strict');
const { load } = require('./support/library.js');

const world0 = load({ transformer: 'socket.io' });
const codec = world0.Primus.prototype.client.codec;
const T = codec.types;

function bytes(...values) {
  return new Uint8Array(values);
}

function decodeAll(messages, limits) {
  const decoder = new codec.Decoder(limits);
  const out = [];
  for (const message of messages) {
    const packet = decoder.add(message);
    if (packet) out.push(packet);
  }
  return out;
}

function arrayOf(buffer) {
  assert.ok(buffer instanceof ArrayBuffer, 'an ArrayBuffer');
  return [...new Uint8Array(buffer)];
}

test.describe('socket.io codec', () => {
  test.it('encodes every packet type the client sends', () => {
    assert.deepEqual(codec.encode({ type: T.CONNECT, nsp: '/' }), ['0']);
    assert.deepEqual(codec.encode({ type: T.CONNECT, nsp: '/', data: { token: 'x' } }), ['0{"token":"x"}']);
    assert.deepEqual(codec.encode({ type: T.CONNECT, nsp: '/custom' }), ['0/custom,']);
    assert.deepEqual(codec.encode({ type: T.DISCONNECT, nsp: '/' }), ['1']);
    assert.deepEqual(codec.encode({ type: T.EVENT, nsp: '/', data: ['message', { a: [1, 'ü'] }] }), ['2["message",{"a":[1,"ü"]}]']);
    assert.deepEqual(codec.encode({ type: T.EVENT, nsp: '/', id: 12, data: ['ev', 1] }), ['212["ev",1]']);
    assert.deepEqual(codec.encode({ type: T.EVENT, nsp: '/custom', id: 3, data: ['ev'] }), ['2/custom,3["ev"]']);
    assert.deepEqual(codec.encode({ type: T.ACK, nsp: '/', id: 7, data: [null, 'ok'] }), ['37[null,"ok"]']);
  });

  test.it('moves bytes into attachments behind placeholders (BINARY_EVENT, BINARY_ACK)', () => {
    const buffer = bytes(9, 8, 7).buffer;
    const view = new Uint8Array(bytes(0, 1, 2, 3).buffer, 1, 2);
    const [text, first, second] = codec.encode({ type: T.EVENT, nsp: '/', id: 4, data: ['up', 1, view, { b: buffer }] });
    assert.equal(text, '52-4["up",1,{"_placeholder":true,"num":0},{"b":{"_placeholder":true,"num":1}}]');
    assert.deepEqual([...first], [1, 2], 'a view keeps only its own bytes');
    assert.deepEqual([...second], [9, 8, 7]);
    const ack = codec.encode({ type: T.ACK, nsp: '/', id: 5, data: [bytes(1)] });
    assert.equal(ack[0], '61-5[{"_placeholder":true,"num":0}]');
    assert.equal(ack.length, 2);
  });

  test.it('refuses to send an event name Socket.IO reserves', () => {
    for (const name of ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener']) {
      assert.throws(() => codec.encode({ type: T.EVENT, nsp: '/', data: [name] }), /cannot send/);
    }
  });

  test.it('decodes every packet type the server sends', () => {
    const packets = decodeAll([
      '0{"sid":"abc"}', '1', '2["message","x"]', '27["ask",1,{"two":2}]', '37["r"]',
      '4{"message":"Not authorized"}', '4"v4 string error"', '2/custom,["other"]', '2/custom,9["other"]', '0/custom,{"sid":"c"}',
    ]);
    assert.deepEqual(packets, [
      { type: T.CONNECT, nsp: '/', id: undefined, data: { sid: 'abc' } },
      { type: T.DISCONNECT, nsp: '/', id: undefined, data: undefined },
      { type: T.EVENT, nsp: '/', id: undefined, data: ['message', 'x'] },
      { type: T.EVENT, nsp: '/', id: 7, data: ['ask', 1, { two: 2 }] },
      { type: T.ACK, nsp: '/', id: 7, data: ['r'] },
      { type: T.CONNECT_ERROR, nsp: '/', id: undefined, data: { message: 'Not authorized' } },
      { type: T.CONNECT_ERROR, nsp: '/', id: undefined, data: 'v4 string error' },
      { type: T.EVENT, nsp: '/custom', id: undefined, data: ['other'] },
      { type: T.EVENT, nsp: '/custom', id: 9, data: ['other'] },
      { type: T.CONNECT, nsp: '/custom', id: undefined, data: { sid: 'c' } },
    ]);
  });

  test.it('reassembles a binary packet from its attachments, as ArrayBuffers, whatever their order in the payload', () => {
    const decoder = new codec.Decoder();
    assert.equal(decoder.add('52-["bin",{"_placeholder":true,"num":1},[{"_placeholder":true,"num":0}]]'), null);
    assert.equal(decoder.add(bytes(1, 2).buffer), null, 'one attachment still to come');
    const packet = decoder.add(bytes(3).buffer);
    assert.equal(packet.type, T.EVENT, 'handed on as an EVENT');
    assert.equal(packet.data[0], 'bin');
    assert.deepEqual(arrayOf(packet.data[1]), [3]);
    assert.deepEqual(arrayOf(packet.data[2][0]), [1, 2]);
    // Then the next packet decodes as usual, and an ACK with bytes becomes an ACK.
    assert.deepEqual(decoder.add('2["after"]').data, ['after']);
    assert.equal(decoder.add('61-4[{"_placeholder":true,"num":0}]'), null);
    const ack = decoder.add(bytes(0xff).buffer);
    assert.equal(ack.type, T.ACK);
    assert.equal(ack.id, 4);
    assert.deepEqual(arrayOf(ack.data[0]), [0xff]);
    // A binary packet announcing no attachment is complete at once.
    assert.deepEqual(decoder.add('50-["none"]').data, ['none']);
  });

  test.it('round-trips what it encodes', () => {
    const data = ['mixed', 'text', 0, false, null, { deep: [bytes(4, 5)] }, bytes()];
    const decoded = decodeAll(codec.encode({ type: T.EVENT, nsp: '/', id: 1, data }).map((part) => (typeof part === 'string' ? part : part.slice().buffer)));
    assert.equal(decoded.length, 1);
    assert.equal(decoded[0].id, 1);
    assert.deepEqual(decoded[0].data.slice(0, 5), ['mixed', 'text', 0, false, null]);
    assert.deepEqual(arrayOf(decoded[0].data[5].deep[0]), [4, 5]);
    assert.deepEqual(arrayOf(decoded[0].data[6]), []);
  });

  test.it('rejects malformed packets with an error naming the problem', () => {
    const cases = [
      ['', /empty packet/],
      ['7', /unknown packet type/],
      ['x["a"]', /unknown packet type/],
      ['2', /invalid payload/],
      ['2[', /not JSON/],
      ['2{"a":1}', /invalid payload/],
      ['2[]', /invalid payload/],
      ['2[null]', /invalid payload/],
      ['2["disconnect"]', /invalid payload/],
      ['3["no id"]', /without its id/],
      ['3{"a":1}', /invalid payload/],
      ['1{"a":1}', /invalid payload/],
      ['0[1]', /invalid payload/],
      ['4[1]', /invalid payload/],
      ['5["no count"]', /attachment count/],
      ['5x-["x"]', /attachment count/],
      ['51["x"]', /attachment count/],
      ['51234567-["x"]', /attachment count/],
      ['211-["many"]', /invalid payload|not JSON/],
      ['21234567890123456["id too long"]', /out of range/],
    ];
    for (const [text, reason] of cases) {
      assert.throws(() => new codec.Decoder().add(text), (err) => err.malformed === true && reason.test(err.message), JSON.stringify(text));
    }
  });

  test.it('bounds attachments: their count, their bytes, and placeholders that point nowhere', () => {
    assert.equal(codec.limits.maxAttachments, 10, "socket.io-parser's default");
    assert.equal(new codec.Decoder().add('510-["ten"]'), null);
    assert.throws(() => new codec.Decoder().add('511-["eleven"]'), /11 attachments, more than the limit of 10/);
    const small = new codec.Decoder({ maxAttachments: 10, maxAttachmentBytes: 4 });
    small.add('52-["big",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]');
    small.add(bytes(1, 2, 3).buffer);
    assert.throws(() => small.add(bytes(4, 5).buffer), /larger than the limit of 4 bytes/);
    const lying = new codec.Decoder();
    lying.add('51-["lie",{"_placeholder":true,"num":1}]');
    assert.throws(() => lying.add(bytes(1).buffer), /does not exist/);
    const fake = new codec.Decoder();
    fake.add('51-["odd",{"_placeholder":true,"num":"0"}]');
    assert.throws(() => fake.add(bytes(1).buffer), /does not exist/);
  });

  test.it('refuses bytes without a binary packet and text while attachments are due', () => {
    assert.throws(() => new codec.Decoder().add(bytes(1).buffer), /attachment without a binary packet/);
    const waiting = new codec.Decoder();
    waiting.add('51-["x",{"_placeholder":true,"num":0}]');
    assert.throws(() => waiting.add('2["too early"]'), /text packet while attachments were expected/);
    assert.throws(() => new codec.Decoder().add(42), /neither text nor bytes/);
  });

  test.it('maps what the core writes to Socket.IO packets (sio-bridge table)', () => {
    assert.deepEqual(codec.fromPrimus('x'), { type: T.EVENT, nsp: '/', data: ['message', 'x'] });
    assert.deepEqual(codec.fromPrimus({ a: 1 }), { type: T.EVENT, nsp: '/', data: ['message', { a: 1 }] });
    assert.deepEqual(codec.fromPrimus(null), { type: T.EVENT, nsp: '/', data: ['message', null] });
    assert.deepEqual(codec.fromPrimus({ type: 0, data: ['name', 1, 2] }), { type: T.EVENT, nsp: '/', id: undefined, data: ['name', 1, 2] });
    assert.deepEqual(codec.fromPrimus({ type: 0, data: ['name', 'a'], id: 7 }), { type: T.EVENT, nsp: '/', id: 7, data: ['name', 'a'] });
    assert.deepEqual(codec.fromPrimus({ type: 1, id: 7, data: ['r'] }), { type: T.ACK, nsp: '/', id: 7, data: ['r'] });
    assert.deepEqual(codec.fromPrimus('primus::pong::123'), { local: 'pong' });
    assert.deepEqual(codec.fromPrimus('primus::id::'), { local: 'id' });
    // Not an emitter packet (an extra key): plain data.
    assert.deepEqual(codec.fromPrimus({ type: 0, data: ['n'], other: 1 }).data, ['message', { type: 0, data: ['n'], other: 1 }]);
  });

  test.it('maps Socket.IO packets to what the core receives (sio-bridge table)', () => {
    assert.equal(codec.toPrimus({ type: T.EVENT, data: ['message', 'x'] }), 'x');
    assert.deepEqual(codec.toPrimus({ type: T.EVENT, data: ['message', { a: [1] }] }), { a: [1] });
    assert.equal(codec.toPrimus({ type: T.EVENT, data: ['message'] }), null);
    assert.deepEqual(codec.toPrimus({ type: T.EVENT, data: ['name', 1, 'b'] }), { type: 0, data: ['name', 1, 'b'] });
    assert.deepEqual(codec.toPrimus({ type: T.EVENT, id: 4, data: ['name'] }), { type: 0, data: ['name'], id: 4 });
    assert.deepEqual(codec.toPrimus({ type: T.EVENT, data: [5, 'numeric name'] }), { type: 0, data: ['5', 'numeric name'] });
    assert.deepEqual(codec.toPrimus({ type: T.ACK, id: 2, data: ['r', 1] }), { type: 1, id: 2, data: ['r', 1] });
  });
});

// ------------------------------------------------------------------------------ the transport

// A fetch the test answers by hand: every request is kept with `respond(status, text)`.
function fakeFetch() {
  const requests = [];
  const fetch = (url, init) => new Promise((resolve, reject) => {
    const request = {
      url, method: init.method, body: init.body, answered: false, aborted: false,
      respond(status, text) {
        request.answered = true;
        resolve({ ok: status >= 200 && status < 300, status, text: () => Promise.resolve(text) });
      },
    };
    if (init.signal) {
      init.signal.addEventListener('abort', () => {
        request.aborted = true;
        reject(new Error('aborted'));
      });
    }
    requests.push(request);
  });
  const pending = (method) => requests.filter((r) => r.method === method && !r.answered && !r.aborted);
  return { fetch, requests, pending };
}

// Lets the fetch promises run.
async function settle() {
  for (let i = 0; i < 5; i++) await new Promise((resolve) => setImmediate(resolve));
}

const HANDSHAKE = '0{"sid":"engine-sid","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}';

// A client whose Engine.IO handshake is done and whose CONNECT is on its way.
async function started(options = {}, handshake = HANDSHAKE, parser = 'json') {
  const net = fakeFetch();
  globalThis.fetch = net.fetch;
  const world = load({ transformer: 'socket.io', parser, pingTimeout: 37500 });
  const primus = new world.Primus('http://example.test', Object.assign({ reconnect: { min: 50, max: 50, retries: 3 } }, options));
  const events = [];
  ['open', 'data', 'error', 'close', 'end', 'reconnect scheduled', 'question', 'ask-back'].forEach((name) => {
    primus.on(name, (...args) => events.push([name, args[0] instanceof Error ? args[0].message : args[0]]));
  });
  world.clock.advance(0);
  const [hello] = net.pending('GET');
  assert.match(hello.url, /^http:\/\/example\.test\/primus\/\?_primuscb=[^&]+&_primus_recover=&EIO=4&transport=polling&t=/);
  hello.respond(200, handshake);
  await settle();
  return { ...world, ...net, primus, events };
}

// All POST bodies so far, answering each.
async function posted(net) {
  const bodies = [];
  for (;;) {
    const [post] = net.pending('POST');
    if (!post) return bodies;
    bodies.push(post.body);
    post.respond(200, 'ok');
    await settle();
  }
}

// The server's answer to the outstanding poll.
async function poll(net, ...packets) {
  const [get] = net.pending('GET');
  assert.ok(get, 'a poll is outstanding');
  get.respond(200, packets.join('\x1e'));
  await settle();
}

async function connected(options, parser) {
  const world = await started(options, HANDSHAKE, parser);
  assert.deepEqual(await posted(world), ['40']);
  await poll(world, '40{"sid":"spark-1"}');
  return world;
}

test.describe('socket.io transport', () => {
  test.afterEach(() => {
    delete globalThis.fetch;
  });

  test.it('sends CONNECT on the Engine.IO open and opens only on the answer, with the socket id as the spark id', async () => {
    const world = await started();
    assert.deepEqual(world.events, [], 'the Engine.IO session is not the spark');
    assert.equal(world.primus.socket.id, null);
    assert.equal(world.primus.socket.transport, 'polling');
    assert.deepEqual(await posted(world), ['40']);
    await poll(world, '40{"sid":"spark-1"}');
    assert.deepEqual(world.events, [['open', undefined]]);
    assert.equal(world.primus.socket.id, 'spark-1');
    let id = null;
    world.primus.id((value) => { id = value; });
    assert.equal(id, 'spark-1');
  });

  test.it('carries data as message events and emitter packets as native events and acks', async () => {
    const world = await connected();
    const { primus, events } = world;
    let acked = null;
    primus.write({ hello: ['wörld', 1] });
    primus.send('message-with-ack', 'a', [1, 2], (...args) => { acked = args; });
    primus.send('plain', 3);
    await settle();
    // One POST at a time: the first write goes at once, what follows waits and goes together.
    assert.deepEqual(await posted(world), ['42["message",{"hello":["wörld",1]}]', '421["message-with-ack","a",[1,2]]\x1e42["plain",3]']);
    primus.on('question', (text, ack) => ack('answer to ' + text));
    await poll(world, '42["message","back"]', '431["a",[1,2]]', '427["question","why"]', '42["ask-back",{"x":1}]');
    assert.deepEqual(acked, ['a', [1, 2]]);
    assert.deepEqual(events.slice(1), [['data', 'back'], ['question', 'why'], ['ask-back', { x: 1 }]]);
    assert.deepEqual(await posted(world), ['437["answer to why"]']);
  });

  test.it('turns Engine.IO pings into the core heartbeat, drops its pong and answers primus::id:: itself', async () => {
    const world = await connected();
    const { primus, clock } = world;
    const pings = [];
    primus.on('incoming::ping', (time) => pings.push(time));
    const ids = [];
    primus.on('incoming::id', (id) => ids.push(id));
    // Past the core's heartbeat window (37.5 s), a ping at every 25 s keeps the spark open.
    for (let i = 0; i < 3; i++) {
      clock.advance(25000);
      await poll(world, '2');
      assert.deepEqual(await posted(world), ['3'], 'the Engine.IO pong, nothing of the core');
    }
    assert.equal(pings.length, 3);
    assert.equal(pings[2], clock.now);
    primus._write('primus::id::');
    await settle();
    assert.deepEqual(ids, ['spark-1']);
    assert.deepEqual(await posted(world), [], 'primus::id:: is not sent');
    assert.ok(!world.events.some(([name]) => name === 'close'));
  });

  test.it('sends the auth payload of the transport options with CONNECT', async () => {
    const fixed = await started({ transport: { auth: { token: 'a"b' } } });
    assert.deepEqual(await posted(fixed), ['40{"token":"a\\"b"}']);
    delete globalThis.fetch;
    let calls = 0;
    const computed = await started({ transport: { auth: () => ({ n: ++calls }) } });
    assert.deepEqual(await posted(computed), ['40{"n":1}']);
  });

  test.it('a CONNECT_ERROR is an error and the end, with no reconnect', async () => {
    const world = await started({ transport: { auth: { token: 'bad' } } });
    await posted(world);
    await poll(world, '44{"message":"Not authorized"}');
    const names = world.events.map(([name]) => name);
    assert.deepEqual(names, ['error', 'close', 'end']);
    assert.match(world.events[0][1], /Socket.IO connection refused: Not authorized/);
    world.clock.advance(60000);
    assert.ok(!world.events.some(([name]) => name === 'reconnect scheduled'));
    assert.equal(world.pending('GET').length, 0, 'nothing more asked of the server');
  });

  test.it('no answer to CONNECT within the open timeout fails the attempt and reconnects', async () => {
    const world = await started({ timeout: 2000 });
    await posted(world);
    world.clock.advance(1999);
    assert.deepEqual(world.events, []);
    world.clock.advance(1);
    assert.ok(world.events.some(([name]) => name === 'reconnect scheduled'));
    assert.ok(!world.events.some(([name]) => name === 'open'));
  });

  test.it('DISCONNECT from the server ends the client without reconnecting', async () => {
    const world = await connected();
    await poll(world, '41');
    const names = world.events.map(([name]) => name);
    assert.deepEqual(names, ['open', 'close', 'end']);
    world.clock.advance(60000);
    await settle();
    assert.ok(!world.events.some(([name]) => name === 'reconnect scheduled'));
  });

  test.it('an Engine.IO close without DISCONNECT is an outage: the client reconnects', async () => {
    const world = await connected();
    await poll(world, '1');
    assert.ok(world.events.some(([name]) => name === 'reconnect scheduled'));
  });

  test.it('the client end sends DISCONNECT in the last POST, with the Engine.IO close', async () => {
    const world = await connected();
    world.primus.write('in flight');
    world.primus.end();
    await settle();
    const posts = world.requests.filter((r) => r.method === 'POST');
    assert.deepEqual(posts.map((r) => r.body).slice(-2), ['42["message","in flight"]', '41\x1e1']);
    assert.equal(posts[posts.length - 1].aborted, false, 'the goodbye is not cut short');
    assert.equal(world.pending('GET').length, 0, 'the poll is aborted');
  });

  test.it('a malformed packet drops the connection, which reconnects', async () => {
    const world = await connected();
    await poll(world, '42["disconnect"]');
    assert.match(world.events.find(([name]) => name === 'error')[1], /invalid payload/);
    assert.ok(world.events.some(([name]) => name === 'reconnect scheduled'));
  });

  test.it('over polling, attachments go out as b<base64> records and come in from them', async () => {
    const world = await connected();
    const got = [];
    world.primus.on('blob', (...args) => got.push(args));
    world.primus.send('blob', 'x', { bytes: new Uint8Array([1, 2, 3]) });
    await settle();
    assert.deepEqual(await posted(world), ['451-["blob","x",{"bytes":{"_placeholder":true,"num":0}}]', 'bAQID']);
    await poll(world, '451-["blob",{"_placeholder":true,"num":0}]', 'bBAU=');
    assert.equal(got.length, 1);
    assert.deepEqual(arrayOf(got[0][0]), [4, 5]);
  });

  test.it('with the ejson parser, its JSON text travels as it is, both ways', async () => {
    const world = await connected({}, 'ejson');
    const got = [];
    world.primus.on('data', (data) => got.push(data));
    await poll(world, '42["message",{"$date":1700000000000}]', '42["when",{"$date":5}]');
    assert.ok(got[0] instanceof Date && got[0].getTime() === 1700000000000, String(got[0]));
    world.primus.write(new Date(7));
    world.primus.send('when', new Date(8), { $date: 'not a date' });
    await settle();
    assert.deepEqual(await posted(world), ['42["message",{"$date":7}]', '42["when",{"$date":8},{"$escape":{"$date":"not a date"}}]']);
  });

  test.it('packets of another namespace are not this client\'s', async () => {
    const world = await connected();
    await poll(world, '2/custom,["message","not for /"]', '42["message","for /"]');
    assert.deepEqual(world.events.slice(1), [['data', 'for /']]);
  });

  test.it('after the WebSocket upgrade, attachments travel as binary frames and reach the page as ArrayBuffers', async () => {
    const world = await started({}, HANDSHAKE.replace('"upgrades":[]', '"upgrades":["websocket"]'));
    await posted(world);
    await poll(world, '40{"sid":"spark-ws"}');
    const ws = world.WebSocket.last();
    assert.match(ws.url, /^ws:\/\/example\.test\/primus\/\?.*transport=websocket&sid=engine-sid/);
    ws.open();
    assert.deepEqual(ws.sent, ['2probe']);
    ws.receive('3probe');
    await poll(world, '6'); // the server ends the paused poll
    assert.deepEqual(ws.sent.slice(1), ['5']);
    assert.equal(world.primus.socket.transport, 'websocket');
    const got = [];
    world.primus.on('blob', (...args) => got.push(args));
    ws.receive('451-["blob",{"_placeholder":true,"num":0}]');
    ws.receive(bytes(1, 2, 3).buffer);
    assert.equal(got.length, 1);
    assert.deepEqual(arrayOf(got[0][0]), [1, 2, 3]);
    ws.receive('42["message","text"]');
    assert.deepEqual(world.events.slice(1), [['data', 'text']]);
    // Bytes the page sends skip the json parser: a BINARY_EVENT and a binary frame; the
    // server's BINARY_ACK brings them back.
    let acked = null;
    world.primus.send('message-with-ack', new Uint8Array([7, 8]), (...args) => { acked = args; });
    assert.equal(ws.sent[2], '451-1["message-with-ack",{"_placeholder":true,"num":0}]');
    assert.deepEqual([...ws.sent[3]], [7, 8]);
    ws.receive('461-1[{"_placeholder":true,"num":0}]');
    ws.receive(bytes(7, 8).buffer);
    assert.deepEqual(arrayOf(acked[0]), [7, 8]);
    world.primus.end();
    assert.deepEqual(ws.sent.slice(4), ['41']);
    assert.equal(ws.closed, true);
  });
});
