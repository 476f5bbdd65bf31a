'use strict';
// Builds the browser library from the .js files the way the server does
// (BrowserLibraryCompiler.swift: library.js with its $$name$$ placeholders filled, core.js,
// recovery-position.js, the transport client, the parser's codec) and loads it with a fake clock, a fake WebSocket and
// controllable Math.random, so tests drive the client deterministically with no network and no
// real timers.

const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const root = path.join(__dirname, '..', '..', '..', 'Sources', 'PrimusServer', 'BrowserClient', 'JavaScript');

function read(relative) {
  return fs.readFileSync(path.join(root, relative), 'utf8');
}

// One pass over the template only, as BrowserLibraryTemplate.render does.
function render(template, values) {
  return template.replace(/\$\$([A-Za-z0-9_]+)\$\$/g, (whole, name) => (name in values ? values[name] : whole));
}

function expression(source) {
  return source.replace(/\s+$/, '').replace(/;$/, '').replace(/\s+$/, '');
}

// The library's source for a server with these settings.
function compile(settings = {}) {
  const transformer = settings.transformer || 'websockets';
  const parser = settings.parser || 'json';
  const literal = (value) => JSON.stringify(value);
  const transportFile = path.join(root, 'transports', transformer + '.js');
  const parserFile = path.join(root, 'parsers', parser + '.js');
  // A transport layered on Engine.IO gets its client at `$$engineio$$`, as
  // BrowserLibraryCompiler.layered does.
  const client = fs.existsSync(transportFile)
    ? render(fs.readFileSync(transportFile, 'utf8'), { engineio: expression(read('transports/engine.io.js')) })
    : render(read('fallbacks/unsupported-transport.js'), { transformer: literal(transformer) });
  const codec = settings.codec ||
    (fs.existsSync(parserFile)
      ? fs.readFileSync(parserFile, 'utf8')
      : render(read('fallbacks/unsupported-parser.js'), { parser: literal(parser) }));
  const plugins = (settings.plugins || [])
    .map(([name, source]) => '\n    [' + literal(name) + ', ' + source + '\n    ]')
    .join(',');
  const version = settings.version || '8.0.9';
  return render(read('library.js'), {
    versionComment: version,
    globalName: literal('Primus'),
    pathname: literal(settings.pathname || '/primus'),
    version: literal(version),
    parser: literal(parser),
    transformer: literal(transformer),
    pingTimeout: settings.pingTimeout === undefined ? 'false' : String(settings.pingTimeout),
    authorization: settings.authorization ? 'true' : 'false',
    core: read('core.js'),
    recovery: read('recovery-position.js'),
    client: expression(client),
    codec: expression(codec),
    plugins: plugins ? plugins + '\n  ' : '',
  });
}

// Timers that run only when the test advances the clock; `now` is what Date.now() returns.
class FakeClock {
  constructor() {
    this.now = 1700000000000;
    this.timers = new Map();
    this.nextId = 1;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.set(id, { at: this.now + (Number.isFinite(ms) && ms > 0 ? ms : 0), fn });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers.delete(id);
    };
  }

  // Runs every timer due within `ms`, in time order (ties in creation order), moving `now` along.
  advance(ms) {
    const end = this.now + ms;
    for (;;) {
      let nextId = null;
      let next = null;
      for (const [id, timer] of this.timers) {
        if (timer.at <= end && (next === null || timer.at < next.at)) {
          nextId = id;
          next = timer;
        }
      }
      if (next === null) break;
      this.timers.delete(nextId);
      this.now = next.at;
      next.fn();
    }
    this.now = end;
  }

  // Delays (ms from now) of the pending timers, sorted.
  pending() {
    return [...this.timers.values()].map((timer) => timer.at - this.now).sort((a, b) => a - b);
  }
}

// A WebSocket the test opens, feeds and closes by hand.
function fakeWebSocketClass() {
  class FakeWebSocket {
    constructor(url) {
      this.url = url;
      this.readyState = 0;
      this.sent = [];
      this.closed = false;
      FakeWebSocket.made.push(this);
    }

    send(data) {
      if (this.readyState !== 1) throw new Error('send() on a socket that is not open');
      this.sent.push(data);
    }

    close() {
      this.closed = true;
      this.readyState = 3;
    }

    // Test controls: what the network does.
    open() {
      this.readyState = 1;
      if (this.onopen) this.onopen({ type: 'open' });
    }

    receive(data) {
      if (this.onmessage) this.onmessage({ data });
    }

    fail() {
      this.readyState = 3;
      if (this.onerror) this.onerror({ type: 'error' });
      if (this.onclose) this.onclose({ code: 1006 });
    }

    serverClose() {
      this.readyState = 3;
      if (this.onclose) this.onclose({ code: 1000 });
    }

    static last() {
      return FakeWebSocket.made[FakeWebSocket.made.length - 1];
    }
  }
  FakeWebSocket.made = [];
  return FakeWebSocket;
}

// Loads the library built with `settings` in this realm (so its objects and errors compare
// normally), its globals replaced by fakes. `random` is what Math.random() returns.
function load(settings = {}) {
  const clock = new FakeClock();
  const WebSocket = fakeWebSocketClass();
  const random = { value: 0.5 };
  const FakeMath = Object.create(Math, { random: { value: () => random.value } });
  // A real Date (codecs such as ejson's build Dates) whose now() is the fake clock's.
  const FakeDate = class extends Date {
    static now() {
      return clock.now;
    }
  };
  const factory = vm.runInThisContext(
    '(function (setTimeout, clearTimeout, WebSocket, Date, Math, window, location) {\n' + compile(settings) + '\n})',
    { filename: 'primus.js' }
  );
  const holder = {};
  factory.call(holder, clock.setTimeout, clock.clearTimeout, WebSocket, FakeDate, FakeMath, undefined, undefined);
  return { Primus: holder.Primus, clock, WebSocket, random };
}

module.exports = { compile, load, FakeClock, root };
