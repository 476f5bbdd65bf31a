'use strict';
// The sockjs transport client (transports/sockjs.js) in the library the server compiles, on a
// fake clock, a fake WebSocket and a fake XMLHttpRequest: /info first, the order of transports
// and the fallback between them, SockJS frames, xhr_send batching, and the bounds. What needs a
// real server and browser is in Interop/browser/test_browser_sockjs.py.

const test = require('node:test');
const assert = require('node:assert/strict');
const { load } = require('./support/library.js');

// An XMLHttpRequest the test answers by hand.
class FakeXHR {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.responseText = '';
    this.aborted = false;
    FakeXHR.made.push(this);
  }

  open(method, url) {
    this.method = method;
    this.url = url;
    this.readyState = 1;
  }

  setRequestHeader() {}

  send(body) {
    this.body = body;
  }

  abort() {
    this.aborted = true;
  }

  // Test controls: part of a streaming answer, or the whole answer.
  progress(text) {
    this.status = 200;
    this.readyState = 3;
    this.responseText += text;
    this.onreadystatechange();
  }

  respond(status, text) {
    this.status = status;
    this.readyState = 4;
    this.responseText += text;
    this.onreadystatechange();
  }

  // The path of the request, without origin and query.
  get path() {
    return this.url.replace(/^https?:\/\/[^/]+/, '').split('?')[0];
  }

  static pending(suffix) {
    return FakeXHR.made.filter((xhr) => xhr.readyState < 4 && !xhr.aborted && xhr.path.endsWith(suffix));
  }
}

// A client whose /info has been asked for; `info` answers it.
function started(options = {}) {
  FakeXHR.made = [];
  globalThis.XMLHttpRequest = FakeXHR;
  const world = load({ transformer: 'sockjs' });
  const primus = new world.Primus('http://example.test', options);
  const events = [];
  ['open', 'data', 'error', 'close', 'end', 'reconnect scheduled'].forEach((name) => {
    primus.on(name, (arg) => events.push([name, arg instanceof Error ? arg.message : arg]));
  });
  world.clock.advance(0);
  const info = FakeXHR.made[0];
  return { ...world, primus, events, info };
}

test.afterEach(() => {
  delete globalThis.XMLHttpRequest;
});

test.describe('sockjs transport', () => {
  test.it('asks /info (with the query and a cache buster), then opens a WebSocket session that carries frames', () => {
    const { info, WebSocket, primus, events, clock } = started();
    assert.equal(info.method, 'GET');
    assert.match(info.url, /^http:\/\/example\.test\/primus\/info\?_primuscb=[^&]+&_primus_recover=&t=/);
    info.respond(200, '{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":1}');
    const socket = WebSocket.last();
    assert.match(socket.url, /^ws:\/\/example\.test\/primus\/\d{3}\/[a-z0-5]{8}\/websocket\?_primuscb=/);
    socket.open();
    assert.deepEqual(events, [], 'the socket is not the session: the o frame is');
    socket.receive('o');
    socket.receive('h');
    socket.receive('a["\\"one\\"","{\\"two\\":2}"]');
    assert.deepEqual(events, [['open', undefined], ['data', 'one'], ['data', { two: 2 }]]);
    primus.write({ three: [3] });
    clock.advance(0);
    assert.deepEqual(socket.sent, ['["{\\"three\\":[3]}"]']);
    assert.equal(primus.socket.transport, 'websocket');
    primus.end();
    assert.equal(socket.closed, true);
  });

  test.it('skips the WebSocket when /info says websocket:false, and streams over xhr_streaming with batched xhr_send', () => {
    const { info, WebSocket, primus, events, clock } = started();
    info.respond(200, '{"websocket":false}');
    assert.equal(WebSocket.made.length, 0);
    const [stream] = FakeXHR.pending('/xhr_streaming');
    assert.equal(stream.method, 'POST');
    stream.progress('h'.repeat(2048) + '\n');
    stream.progress('o\na["\\"x\\""]\na["\\"y');   // a frame cut across chunks
    assert.deepEqual(events, [['open', undefined], ['data', 'x']]);
    stream.progress('\\""]\n');
    assert.deepEqual(events.slice(2), [['data', 'y']]);
    primus.write('a');
    primus.write('b');
    primus.write('c');
    clock.advance(0);
    const sends = FakeXHR.pending('/xhr_send');
    assert.equal(sends.length, 1, 'one xhr_send at a time');
    assert.equal(sends[0].body, '["\\"a\\""]');
    sends[0].respond(204, '');
    const [next] = FakeXHR.pending('/xhr_send');
    assert.equal(next.body, '["\\"b\\"","\\"c\\""]', 'what waited goes together');
    assert.equal(next.path, stream.path.replace(/xhr_streaming$/, 'xhr_send'), 'the same session');
    // The server ends the response at its limit: a new one follows on the same session.
    stream.respond(200, '');
    const [again] = FakeXHR.pending('/xhr_streaming');
    assert.equal(again.path, stream.path);
    primus.end();
    assert.equal(again.aborted, true);
  });

  test.it('falls back from a WebSocket that fails, and from one that does not open in time', () => {
    const failing = started();
    failing.info.respond(200, '{"websocket":true}');
    failing.WebSocket.last().fail();
    assert.equal(FakeXHR.pending('/xhr_streaming').length, 1);

    const slow = started();
    slow.info.respond(200, '{"websocket":true}');
    slow.clock.advance(2999);
    assert.equal(FakeXHR.pending('/xhr_streaming').length, 0);
    slow.clock.advance(1);
    assert.equal(slow.WebSocket.last().closed, true);
    assert.equal(FakeXHR.pending('/xhr_streaming').length, 1);
  });

  test.it('goes through every transport in order, each on a fresh session, and then fails', () => {
    const { info, events, clock, random } = started({ reconnect: { retries: 0 } });
    info.respond(200, '{"websocket":false}');
    const [streaming] = FakeXHR.pending('/xhr_streaming');
    random.value = 0.1; // the fake Math.random, which names sessions
    streaming.respond(500, 'nope');
    clock.advance(0); // no EventSource in Node: skipped at once
    const [polling] = FakeXHR.pending('/xhr');
    assert.notEqual(polling.path.split('/')[3], streaming.path.split('/')[3], 'a fresh session');
    polling.respond(404, 'gone');
    const errors = events.filter(([name]) => name === 'error');
    assert.equal(errors.length, 1);
    assert.match(errors[0][1], /HTTP 404/);
    assert.ok(!events.some(([name]) => name === 'open'));
  });

  test.it('xhr-polling asks again after every answer', () => {
    const { info, events } = started({ transport: { transports: ['xhr-polling'] } });
    info.respond(200, '{"websocket":true}');
    FakeXHR.pending('/xhr')[0].respond(200, 'o\n');
    FakeXHR.pending('/xhr')[0].respond(200, 'a["1","2"]\n');
    FakeXHR.pending('/xhr')[0].respond(200, 'h\n');
    assert.deepEqual(events, [['open', undefined], ['data', 1], ['data', 2]]);
    assert.equal(FakeXHR.pending('/xhr').length, 1);
  });

  test.it('a close frame above 1000 is an error before the end, as Primus has it; 1000 is a plain end', () => {
    const away = started({ reconnect: { retries: 0 } });
    away.info.respond(200, '{"websocket":true}');
    away.WebSocket.last().open();
    away.WebSocket.last().receive('o');
    away.WebSocket.last().receive('c[3000,"Go away!"]');
    assert.deepEqual(away.events.map(([name]) => name).slice(0, 3), ['open', 'error', 'close']);
    assert.match(away.events[1][1], /3000 Go away!/);

    const normal = started({ reconnect: { retries: 0 } });
    normal.info.respond(200, '{"websocket":true}');
    normal.WebSocket.last().open();
    normal.WebSocket.last().receive('o');
    normal.WebSocket.last().receive('c[1000,"Normal closure"]');
    assert.deepEqual(normal.events.map(([name]) => name).slice(0, 2), ['open', 'close']);
    assert.ok(!normal.events.some(([name]) => name === 'error'));
  });

  test.it('a frame that is not SockJS, and a stream past the limit, fail the connection', () => {
    const broken = started({ reconnect: { retries: 0 } });
    broken.info.respond(200, '{"websocket":true}');
    broken.WebSocket.last().open();
    broken.WebSocket.last().receive('o');
    broken.WebSocket.last().receive('a[not json');
    assert.match(broken.events.find(([name]) => name === 'error')[1], /not JSON/);

    const endless = started({ reconnect: { retries: 0 } });
    endless.info.respond(200, '{"websocket":false}');
    const [stream] = FakeXHR.pending('/xhr_streaming');
    stream.progress('o\n');
    stream.progress('x'.repeat(16 * 1024 * 1024 + 1));
    assert.equal(stream.aborted, true);
    assert.match(endless.events.find(([name]) => name === 'error')[1], /longer than/);
  });

  test.it('an /info that is refused ends the client without reconnecting', () => {
    const { info, events } = started({ reconnect: { min: 10 } });
    info.respond(401, '{"error":"no"}');
    const names = events.map(([name]) => name);
    assert.ok(names.includes('error'));
    assert.ok(names.includes('end'));
    assert.ok(!names.includes('reconnect scheduled'));
  });
});
