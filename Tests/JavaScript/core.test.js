'use strict';
// The browser client's core (core.js) in the library the server compiles, run on a fake clock
// and a fake WebSocket: backoff timing, the offline queue, `primus::` messages, heartbeats,
// URL building and `emits`.

const test = require('node:test');
const assert = require('node:assert/strict');
const { load } = require('./support/library.js');

// A client that connected: its socket opened and the open timer ran.
function connected(options = {}, settings = {}) {
  const world = load(settings);
  const primus = new world.Primus('http://example.test', options);
  world.clock.advance(0);
  const socket = world.WebSocket.last();
  socket.open();
  return { ...world, primus, socket };
}

function record(primus, names) {
  const events = [];
  names.forEach((name) => primus.on(name, (...args) => events.push([name, ...args])));
  return events;
}

test.describe('backoff (Recovery)', () => {
  // Fails every attempt at once and collects the delays the engine schedules.
  function schedule(options, randomValue) {
    const { Primus, clock, random } = load();
    random.value = randomValue;
    const recovery = new Primus.Recovery(options);
    const delays = [];
    const failures = [];
    recovery.on('reconnect scheduled', (opts) => delays.push(opts.scheduled));
    recovery.on('reconnect', (opts, done) => done(new Error('down')));
    recovery.on('reconnect failed', (err, opts) => failures.push([err.message, opts.attempt]));
    recovery.reconnect();
    for (let i = 0; i < 100 && !failures.length; i++) clock.advance(clock.pending()[0] || 0);
    return { delays, failures };
  }

  test.it('attempt 1 waits min; attempt n waits min(round((random + 1) · min · factor^(n-1)), max)', () => {
    const low = schedule({ min: 100, factor: 2, max: 5000, retries: 8 }, 0);
    assert.deepEqual(low.delays, [100, 200, 400, 800, 1600, 3200, 5000, 5000]);
    const high = schedule({ min: 100, factor: 2, max: 5000, retries: 8 }, 0.999);
    assert.deepEqual(high.delays, [100, 400, 800, 1599, 3198, 5000, 5000, 5000]);
    const half = schedule({ min: 100, factor: 3, max: Infinity, retries: 4 }, 0.5);
    assert.deepEqual(half.delays, [100, 450, 1350, 4050]);
  });

  test.it('every delay stays within [min · factor^(n-1), 2 · min · factor^(n-1)] and under max', () => {
    for (const r of [0, 0.25, 0.5, 0.75, 0.9999]) {
      const { delays } = schedule({ min: 250, factor: 1.5, max: 4000, retries: 10 }, r);
      assert.equal(delays.length, 10);
      delays.forEach((delay, index) => {
        const base = 250 * Math.pow(1.5, index);
        if (index === 0) assert.equal(delay, 250);
        assert.ok(delay >= Math.min(Math.floor(base), 4000), `attempt ${index + 1}: ${delay} < ${base}`);
        assert.ok(delay <= Math.min(Math.ceil(2 * base), 4000), `attempt ${index + 1}: ${delay} > 2 × ${base}`);
      });
    }
  });

  test.it('gives up after `retries` failed attempts with "Unable to recover"', () => {
    const { delays, failures } = schedule({ min: 10, retries: 3 }, 0);
    assert.equal(delays.length, 3);
    assert.deepEqual(failures, [['Unable to recover', 3]]);
  });

  test.it('defaults: min 500 ms, factor 2, 10 retries; durations may be strings', () => {
    const { Primus } = load();
    const recovery = new Primus.Recovery();
    assert.equal(recovery.min, 500);
    assert.equal(recovery.factor, 2);
    assert.equal(recovery.retries, 10);
    assert.equal(recovery.max, Infinity);
    assert.equal(recovery['reconnect timeout'], 30000);
    const custom = new Primus.Recovery({ min: '2 seconds', max: '1m', 'reconnect timeout': '500 ms' });
    assert.equal(custom.min, 2000);
    assert.equal(custom.max, 60000);
    assert.equal(custom['reconnect timeout'], 500);
  });

  test.it('the attempt runs exactly when scheduled, and one that never settles times out', () => {
    const { Primus, clock, random } = load();
    random.value = 0;
    const recovery = new Primus.Recovery({ min: 100, 'reconnect timeout': 1000, retries: 2 });
    const events = [];
    recovery.on('reconnect', (opts) => events.push(['reconnect', opts.attempt, clock.now]));
    recovery.on('reconnect timeout', (err, opts) => events.push(['timeout', opts.attempt, err.message]));
    recovery.on('reconnect failed', (err) => events.push(['failed', err.message]));
    const start = clock.now;
    recovery.reconnect();
    clock.advance(99);
    assert.deepEqual(events, []);
    clock.advance(1);
    assert.deepEqual(events, [['reconnect', 1, start + 100]]);
    clock.advance(999);
    assert.equal(events.length, 1);
    clock.advance(1);
    assert.deepEqual(events[1], ['timeout', 1, 'Failed to reconnect in a timely manner']);
    clock.advance(200 + 1000);
    assert.deepEqual(events.slice(2), [
      ['reconnect', 2, start + 1100 + 200],
      ['timeout', 2, 'Failed to reconnect in a timely manner'],
      ['failed', 'Unable to recover'],
    ]);
  });

  test.it('a client whose server goes away reconnects after min, then with growing delays', () => {
    const { primus, socket, clock, WebSocket, random } = connected({ reconnect: { min: 100, factor: 2, retries: 3 } });
    random.value = 0;
    const events = record(primus, ['close', 'reconnect scheduled', 'reconnect', 'reconnected', 'open']);
    socket.serverClose();
    assert.deepEqual(events.map((e) => e[0]), ['close', 'reconnect scheduled']);
    assert.equal(events[1][1].scheduled, 100);
    clock.advance(100);
    assert.equal(WebSocket.made.length, 2);
    WebSocket.last().fail();
    assert.equal(events[events.length - 1][0], 'reconnect scheduled');
    assert.equal(events[events.length - 1][1].scheduled, 200);
    clock.advance(200);
    WebSocket.last().open();
    assert.deepEqual(events.map((e) => e[0]), ['close', 'reconnect scheduled', 'reconnect', 'reconnect scheduled', 'reconnect', 'reconnected', 'open']);
    assert.equal(primus.readyState, 3);
    assert.equal(primus.recovery.reconnecting(), false);
  });
});

test.describe('offline queue', () => {
  test.it('writes made before the connection opens are sent, encoded and in order, when it opens', () => {
    const { Primus, clock, WebSocket } = load();
    const primus = new Primus('http://example.test');
    assert.equal(primus.write({ n: 1 }), true);
    primus.write('two');
    assert.deepEqual(primus.buffer, [{ n: 1 }, 'two']);
    clock.advance(0);
    const socket = WebSocket.last();
    assert.deepEqual(socket.sent, []);
    socket.open();
    assert.deepEqual(socket.sent, ['{"n":1}', '"two"']);
    assert.deepEqual(primus.buffer, []);
    primus.write([3]);
    assert.deepEqual(socket.sent, ['{"n":1}', '"two"', '[3]']);
  });

  test.it('queueSize keeps only the newest messages', () => {
    const { Primus, clock, WebSocket } = load();
    const primus = new Primus('http://example.test', { queueSize: 2 });
    [1, 2, 3, 4].forEach((n) => primus.write(n));
    clock.advance(0);
    WebSocket.last().open();
    assert.deepEqual(WebSocket.last().sent, ['3', '4']);
  });

  test.it('queueSize 0 keeps nothing while disconnected', () => {
    const { Primus, clock, WebSocket } = load();
    const primus = new Primus('http://example.test', { queueSize: 0 });
    primus.write('lost');
    assert.deepEqual(primus.buffer, []);
    clock.advance(0);
    WebSocket.last().open();
    primus.write('kept');
    assert.deepEqual(WebSocket.last().sent, ['"kept"']);
  });

  test.it('messages written while reconnecting wait for the new connection', () => {
    const { primus, socket, clock, WebSocket, random } = connected({ reconnect: { min: 50 } });
    random.value = 0;
    socket.serverClose();
    primus.write('while away');
    assert.deepEqual(socket.sent, []);
    clock.advance(50);
    const next = WebSocket.last();
    assert.notEqual(next, socket);
    next.open();
    assert.deepEqual(next.sent, ['"while away"']);
  });

  test.it('a line or paragraph separator is escaped in the encoded packet', () => {
    const { primus, socket } = connected();
    primus.write('a\u2028b\u2029c');
    assert.deepEqual(socket.sent, ['"a\\u2028b\\u2029c"']);
  });
});

test.describe('primus:: protocol messages', () => {
  test.it('ping is answered with pong and never reaches `data`', () => {
    const { primus, socket } = connected();
    const events = record(primus, ['data', 'outgoing::pong']);
    socket.receive('"primus::ping::1700000000123"');
    assert.deepEqual(socket.sent, ['"primus::pong::1700000000123"']);
    assert.deepEqual(events, [['outgoing::pong', 1700000000123]]);
  });

  test.it('server close makes the next disconnect final: end, no reconnect', () => {
    const { primus, socket, clock, WebSocket } = connected();
    const events = record(primus, ['close', 'end', 'reconnect scheduled', 'data']);
    socket.receive('"primus::server::close"');
    assert.equal(primus.disconnect, true);
    socket.serverClose();
    assert.deepEqual(events.map((e) => e[0]), ['close', 'end']);
    assert.equal(primus.disconnect, false);
    clock.advance(60000);
    assert.equal(WebSocket.made.length, 1);
  });

  test.it('without server close, a lost connection is reconnected (strategy disconnect)', () => {
    const { primus, socket } = connected();
    const events = record(primus, ['close', 'end', 'reconnect scheduled']);
    socket.serverClose();
    assert.deepEqual(events.map((e) => e[0]), ['close', 'reconnect scheduled']);
  });

  test.it('id() asks the server and hands over its answer', () => {
    const { primus, socket } = connected();
    const ids = [];
    primus.id((id) => ids.push(id));
    assert.deepEqual(socket.sent, ['"primus::id::"']);
    socket.receive('"primus::id::spark-42"');
    assert.deepEqual(ids, ['spark-42']);
  });

  test.it('unknown primus:: messages and user data are delivered as data', () => {
    const { primus, socket } = connected();
    const events = record(primus, ['data']);
    socket.receive('"primus::unknown::x"');
    socket.receive('{"hello":"world"}');
    assert.deepEqual(events, [
      ['data', 'primus::unknown::x', '"primus::unknown::x"'],
      ['data', { hello: 'world' }, '{"hello":"world"}'],
    ]);
  });

  test.it('a message the parser cannot decode is an error, not data', () => {
    const { primus, socket } = connected();
    const events = record(primus, ['data', 'error']);
    socket.receive('{not json');
    assert.equal(events.length, 1);
    assert.equal(events[0][0], 'error');
    assert.ok(events[0][1] instanceof SyntaxError);
  });

  test.it('no ping within pingTimeout: offline, the socket is dropped, a reconnect is scheduled', () => {
    const { primus, socket, clock } = connected({}, { pingTimeout: 1000 });
    assert.equal(primus.options.pingTimeout, 1000);
    const events = record(primus, ['offline', 'close', 'reconnect scheduled']);
    clock.advance(900);
    socket.receive('"primus::ping::1"');
    clock.advance(900);
    assert.deepEqual(events, []);
    clock.advance(100);
    assert.deepEqual(events.map((e) => e[0]), ['offline', 'close', 'reconnect scheduled']);
    assert.equal(socket.closed, true);
  });
});

test.describe('uri', () => {
  function client(url, options = {}) {
    const { Primus } = load();
    return new Primus(url, { manual: true, ...options });
  }

  test.it('builds the connection URL: protocol, host, compiled pathname, query plus _primuscb and _primus_recover', () => {
    const primus = client('http://example.test:8080/ignored?token=a%20b&x=1');
    const url = primus.uri({ protocol: 'ws:', query: true });
    const match = /^ws:\/\/example\.test:8080\/primus\?token=a%20b&x=1&_primuscb=([0-9A-Za-z_-]+(\.[0-9A-Za-z_-]+)?)&_primus_recover=$/.exec(url);
    assert.ok(match, url);
  });

  test.it('secure pages give secure URLs; default ports are left out', () => {
    assert.match(client('https://example.test').uri({ protocol: 'ws:', query: true }), /^wss:\/\/example\.test\/primus\?_primuscb=/);
    assert.equal(client('https://example.test:8443').uri({ protocol: 'http:' }), 'https://example.test:8443/primus');
    assert.equal(client('http://example.test:80').uri({ protocol: 'http:' }), 'http://example.test/primus');
    assert.equal(client('wss://example.test').uri({ protocol: 'ws:' }), 'wss://example.test/primus');
  });

  test.it('without `query` there is no query string at all', () => {
    assert.equal(client('http://example.test/?a=1').uri({ protocol: 'ws:' }), 'ws://example.test/primus');
  });

  test.it('keeps credentials and uses the compiled pathname', () => {
    const { Primus } = load({ pathname: '/realtime' });
    const primus = new Primus('http://user:p%40ss@example.test', { manual: true });
    assert.equal(primus.uri({ protocol: 'http:' }), 'http://user:p@ss@example.test/realtime');
  });

  test.it('outgoing::url listeners may change the options; object: true returns them', () => {
    const primus = client('http://example.test');
    primus.on('outgoing::url', (options) => {
      options.pathname = 'elsewhere';
      options.port = 9000;
    });
    assert.equal(primus.uri({ protocol: 'ws:' }), 'ws://example.test:9000/elsewhere');
    const object = client('https://example.test:444/?q=1').uri({ protocol: 'ws:', query: true, object: true });
    assert.equal(object.secure, true);
    assert.equal(object.port, 444);
    assert.equal(object.hostname, 'example.test');
    assert.match(object.query, /^q=1&_primuscb=/);
  });

  test.it('_primuscb differs between two URLs built in the same millisecond', () => {
    const primus = client('http://example.test');
    const first = primus.uri({ protocol: 'ws:', query: true });
    const second = primus.uri({ protocol: 'ws:', query: true });
    assert.notEqual(first, second);
    assert.equal(second, first.replace(/_primuscb=([^&]*)/, (all, stamp) => `_primuscb=${stamp.split('.')[0]}.0`));
  });
});

test.describe('emits', () => {
  function client() {
    const { Primus } = load();
    return new Primus('http://example.test', { manual: true });
  }

  test.it('without a parser the returned function emits the event with its arguments', () => {
    const primus = client();
    const events = record(primus, ['thing']);
    const emitter = primus.emits('thing');
    assert.equal(emitter(1, 'two'), true);
    assert.deepEqual(events, [['thing', 1, 'two']]);
  });

  test.it('a parser chooses what is emitted: its value, the original arguments, or none', () => {
    const primus = client();
    const events = record(primus, ['thing']);
    const seen = [];
    primus.emits('thing', function parser(next, a, b) {
      seen.push([this === primus, a, b]);
      next(undefined, [a + b]);
    })(2, 3);
    primus.emits('thing', (next) => next())('kept', 'as is');
    primus.emits('thing', (next) => next(undefined, null))('dropped');
    assert.deepEqual(seen, [[true, 2, 3]]);
    assert.deepEqual(events, [['thing', 5], ['thing', 'kept', 'as is'], ['thing']]);
  });

  test.it('a parser error is emitted as error, and the event is not', () => {
    const primus = client();
    const events = record(primus, ['thing', 'error']);
    const failure = new Error('bad');
    primus.emits('thing', (next) => next(failure))('x');
    assert.deepEqual(events, [['error', failure]]);
  });
});

test.describe('fallbacks', () => {
  test.it('a transformer without a browser client fails at the first connection, naming it', () => {
    const { Primus, clock } = load({ transformer: 'toy' });
    const primus = new Primus('http://example.test', { strategy: false });
    const errors = [];
    primus.on('error', (err) => errors.push(err.message));
    clock.advance(0);
    assert.deepEqual(errors, ['the toy transformer has no browser client in this build']);
  });

  test.it('a parser without a browser codec fails every message, naming it', () => {
    const { Primus } = load({ parser: 'nope' });
    const primus = new Primus('http://example.test', { manual: true });
    const results = [];
    primus.encoder({ a: 1 }, (err, packet) => results.push([err.message, packet]));
    primus.decoder('{}', (err, value) => results.push([err.message, value]));
    assert.deepEqual(results, [
      ['the nope parser has no browser implementation in this build', undefined],
      ['the nope parser has no browser implementation in this build', undefined],
    ]);
  });

  test.it('plugins run once per client at construction, in order, with the client and its options', () => {
    const { Primus } = load({
      plugins: [
        ['first', 'function first(primus, options) { primus.order = [options.tag + 1]; }'],
        ['second', 'function second(primus, options) { primus.order.push(options.tag + 2, this === primus); }'],
      ],
    });
    const primus = new Primus('http://example.test', { manual: true, tag: 't' });
    assert.deepEqual(primus.order, ['t1', 't2', true]);
    assert.deepEqual(Object.keys(primus.plugin()), ['first', 'second']);
  });
});

test.describe('named events (primus-emitter packets)', () => {
  test('send writes an event packet, with an id when a callback waits for an acknowledgement', () => {
    const { primus, socket } = connected();
    primus.send('chat', 'hi', 2);
    let answer = null;
    primus.send('add', 1, 2, (sum) => { answer = sum; });
    const sent = socket.sent.map((text) => JSON.parse(text));
    assert.deepEqual(sent.slice(-2), [{ type: 0, data: ['chat', 'hi', 2] }, { type: 0, data: ['add', 1, 2], id: 1 }]);
    socket.receive(JSON.stringify({ type: 1, id: 1, data: [3] }));
    assert.equal(answer, 3);
    // A repeated or made-up acknowledgement does nothing.
    socket.receive(JSON.stringify({ type: 1, id: 1, data: [4] }));
    socket.receive(JSON.stringify({ type: 1, id: 99, data: [5] }));
    assert.equal(answer, 3);
  });

  test('server events are emitted locally, with an acknowledgement function when asked', () => {
    const { primus, socket } = connected();
    const events = record(primus, ['news', 'data']);
    socket.receive(JSON.stringify({ type: 0, data: ['news', { a: 1 }, 'b'] }));
    assert.deepEqual(events, [['news', { a: 1 }, 'b']]);
    let ack = null;
    primus.on('question', (text, fn) => { ack = fn; });
    socket.receive(JSON.stringify({ type: 0, data: ['question', 'why?'], id: 7 }));
    ack('because', 42);
    ack('twice');
    const replies = socket.sent.map((text) => JSON.parse(text)).filter((v) => v && v.type === 1);
    assert.deepEqual(replies, [{ type: 1, id: 7, data: ['because', 42] }]);
  });

  test('reserved names stay local and look-alikes stay data', () => {
    const { primus, socket } = connected();
    const events = record(primus, ['data', 'end', 'open']);
    socket.receive(JSON.stringify({ type: 0, data: ['end'] }));
    socket.receive(JSON.stringify({ type: 0, data: ['open'] }));
    const lookalikes = [{ type: 0, data: ['x'], extra: 1 }, { type: 2, data: [] }, { type: 0, data: [1] }, { type: 1, data: [] }];
    lookalikes.forEach((value) => socket.receive(JSON.stringify(value)));
    assert.deepEqual(events.map((e) => e[0]), ['data', 'data', 'data', 'data']);
    assert.deepEqual(events.map((e) => e[1]), lookalikes);
  });
});
