// The browser client's core: the transport-independent part of the library (event emitter,
// named timers, the reconnect engine and the `Primus` client itself). Plain ES5, no
// dependencies, no build step; nothing here names a transport or a parser.
//
// The server splices this file into library.js, inside the wrapper function, after
// `var COMPILED = { pathname, version, parser, transformer, pingTimeout, authorization }` and
// before recovery-position.js (`RecoveryPosition`, missed-message recovery), the transport
// client (`Primus.prototype.client`), the parser (`Primus.prototype.encoder` / `decoder`) and the
// plugins (`Primus.prototype.ark`).
// The served library puts COMPILED before this line, so it is not a directive there and the
// library runs in sloppy mode, as it always has; linting this file alone checks it as strict.
'use strict';

var has = Object.prototype.hasOwnProperty;
var slice = Array.prototype.slice;

// ---------------------------------------------------------------- EventEmitter
// The subset of EventEmitter3 that Primus pages use: on/addListener, once, off/removeListener,
// removeAllListeners, emit (returns whether anyone listened), listeners, listenerCount.
function EventEmitter() {
  this._events = Object.create(null);
}

EventEmitter.prototype.on = function on(event, fn, context) {
  if (typeof fn !== 'function') throw new TypeError('The listener must be a function');
  var list = this._events[event] || (this._events[event] = []);
  list.push({ fn: fn, context: context, once: false });
  return this;
};
EventEmitter.prototype.addListener = EventEmitter.prototype.on;

EventEmitter.prototype.once = function once(event, fn, context) {
  if (typeof fn !== 'function') throw new TypeError('The listener must be a function');
  var list = this._events[event] || (this._events[event] = []);
  list.push({ fn: fn, context: context, once: true });
  return this;
};

EventEmitter.prototype.removeListener = function removeListener(event, fn, context, once) {
  var list = this._events[event];
  if (!list) return this;
  if (!fn) {
    delete this._events[event];
    return this;
  }
  var kept = list.filter(function keep(entry) {
    if (entry.fn !== fn) return true;
    if (once && !entry.once) return true;
    if (context !== undefined && entry.context !== context) return true;
    return false;
  });
  if (kept.length) this._events[event] = kept;
  else delete this._events[event];
  return this;
};
EventEmitter.prototype.off = EventEmitter.prototype.removeListener;

EventEmitter.prototype.removeAllListeners = function removeAllListeners(event) {
  if (event === undefined) this._events = Object.create(null);
  else delete this._events[event];
  return this;
};

EventEmitter.prototype.listeners = function listeners(event) {
  var list = this._events[event];
  return list ? list.map(function fn(entry) { return entry.fn; }) : [];
};

EventEmitter.prototype.listenerCount = function listenerCount(event) {
  var list = this._events[event];
  return list ? list.length : 0;
};

EventEmitter.prototype.eventNames = function eventNames() {
  return Object.keys(this._events);
};

EventEmitter.prototype.emit = function emit(event) {
  var list = this._events[event];
  if (!list || !list.length) return false;
  var args = slice.call(arguments, 1);
  var snapshot = list.slice();
  for (var i = 0; i < snapshot.length; i++) {
    var entry = snapshot[i];
    if (entry.once) {
      var current = this._events[event];
      if (current) {
        var rest = current.filter(function other(candidate) { return candidate !== entry; });
        if (rest.length) this._events[event] = rest;
        else delete this._events[event];
      }
    }
    entry.fn.apply(entry.context === undefined ? this : entry.context, args);
  }
  return true;
};

// ---------------------------------------------------------------- named timers
// One timeout per name; `clear('a, b')` or `clear()` for all; `active(name)`.
function Timers(owner) {
  this.owner = owner;
  this.timers = Object.create(null);
}

Timers.prototype.setTimeout = function set(name, fn, ms) {
  var timers = this;
  timers.clear(name);
  timers.timers[name] = setTimeout(function fire() {
    delete timers.timers[name];
    fn.call(timers.owner);
  }, ms);
  return timers;
};

Timers.prototype.clear = function clear(names) {
  var timers = this;
  var list = names === undefined ? Object.keys(timers.timers) : String(names).split(/\s*,\s*/);
  list.forEach(function each(name) {
    if (name in timers.timers) {
      clearTimeout(timers.timers[name]);
      delete timers.timers[name];
    }
  });
  return timers;
};

Timers.prototype.active = function active(name) {
  return name in this.timers;
};

Timers.prototype.destroy = function destroy() {
  this.clear();
  return true;
};

// ---------------------------------------------------------------- durations
// Numbers are milliseconds; strings such as '500 ms', '30 seconds', '2m' or 'Infinity' too.
var UNITS = {
  ms: 1, msec: 1, msecs: 1, millisecond: 1, milliseconds: 1,
  s: 1e3, sec: 1e3, secs: 1e3, second: 1e3, seconds: 1e3,
  m: 6e4, min: 6e4, mins: 6e4, minute: 6e4, minutes: 6e4,
  h: 36e5, hr: 36e5, hrs: 36e5, hour: 36e5, hours: 36e5,
  d: 864e5, day: 864e5, days: 864e5,
  w: 6048e5, week: 6048e5, weeks: 6048e5,
  y: 315576e5, year: 315576e5, years: 315576e5
};

function duration(value, fallback) {
  if (value === undefined || value === null || value === '') return fallback;
  if (typeof value === 'number') return value;
  var text = String(value).trim();
  if (/^[+]?infinity$/i.test(text)) return Infinity;
  var match = /^(-?(?:\d+)?\.?\d+)\s*([a-z]*)$/i.exec(text);
  if (!match) return fallback;
  var unit = match[2] ? UNITS[match[2].toLowerCase()] : 1;
  if (unit === undefined) return fallback;
  return parseFloat(match[1]) * unit;
}

// ---------------------------------------------------------------- Recovery (reconnect engine)
// Randomised exponential backoff: attempt 1 waits `min`, attempt n waits
// min(round((random + 1) * min * factor^(n-1)), max); after `retries` failed attempts it
// gives up with 'reconnect failed'. Every attempt that does not settle within
// 'reconnect timeout' counts as failed.
var RECOVERY_KEYS = ['reconnect timeout', 'retries', 'factor', 'max', 'min'];

function Recovery(options) {
  EventEmitter.call(this);
  options = options || {};
  this.attempt = null;
  this._fn = null;
  this['reconnect timeout'] = duration(options['reconnect timeout'], 30e3);
  this.retries = options.retries === undefined ? 10 : +options.retries;
  this.factor = options.factor === undefined ? 2 : +options.factor;
  this.max = duration(options.max, Infinity);
  this.min = duration(options.min, 500);
  this.timers = new Timers(this);
}
Recovery.prototype = Object.create(EventEmitter.prototype);
Recovery.prototype.constructor = Recovery;

Recovery.prototype.reconnect = function reconnect() {
  var recovery = this;
  return recovery.backoff(function settled(err, opts) {
    opts.duration = Date.now() - opts.start;
    if (err) return recovery.emit('reconnect failed', err, opts);
    recovery.emit('reconnected', opts);
  }, recovery.attempt);
};

Recovery.prototype.backoff = function backoff(fn, opts) {
  var recovery = this;
  opts = opts || recovery.attempt || {};
  if (opts.backoff) return recovery; // an attempt is already scheduled

  RECOVERY_KEYS.forEach(function fill(key) {
    opts[key] = key in opts && opts[key] !== undefined
      ? (key === 'retries' || key === 'factor' ? +opts[key] : duration(opts[key], recovery[key]))
      : recovery[key];
  });
  opts.start = +opts.start || Date.now();
  opts.duration = +opts.duration || 0;
  opts.attempt = +opts.attempt || 0;

  if (opts.attempt >= opts.retries) {
    fn.call(recovery, new Error('Unable to recover'), opts);
    return recovery;
  }

  opts.backoff = true;
  opts.attempt++;
  recovery.attempt = opts;
  opts.scheduled = opts.attempt === 1
    ? opts.min
    : Math.min(Math.round((Math.random() + 1) * opts.min * Math.pow(opts.factor, opts.attempt - 1)), opts.max);

  recovery.timers.setTimeout('reconnect', function attempt() {
    opts.duration = Date.now() - opts.start;
    opts.backoff = false;
    recovery.timers.clear('reconnect, timeout');

    var settled = false;
    var connect = recovery._fn = function connect(err) {
      if (settled) return;
      settled = true;
      recovery.reset();
      if (err) return recovery.backoff(fn, opts);
      fn.call(recovery, undefined, opts);
    };

    recovery.emit('reconnect', opts, connect);
    if (settled) return; // the attempt already failed or succeeded synchronously

    recovery.timers.setTimeout('timeout', function expired() {
      var err = new Error('Failed to reconnect in a timely manner');
      opts.duration = Date.now() - opts.start;
      recovery.emit('reconnect timeout', err, opts);
      connect(err);
    }, opts['reconnect timeout']);
  }, opts.scheduled);

  recovery.emit('reconnect scheduled', opts);
  return recovery;
};

Recovery.prototype.reconnecting = function reconnecting() {
  return !!this.attempt;
};

Recovery.prototype.reconnected = function reconnected(err) {
  if (this._fn) this._fn(err);
  return this;
};

Recovery.prototype.reset = function reset() {
  this._fn = null;
  this.timers.clear('reconnect, timeout');
  this.attempt = null;
  return this;
};

Recovery.prototype.destroy = function destroy() {
  this.reset();
  this.removeAllListeners();
  return true;
};

// ---------------------------------------------------------------- helpers
var CACHE_ALPHABET = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz-_';
var lastStamp = '';
var stampSeed = 0;

function encodeStamp(number) {
  var out = '';
  do {
    out = CACHE_ALPHABET[number % 64] + out;
    number = Math.floor(number / 64);
  } while (number > 0);
  return out;
}

// A short, unique-per-page value for `_primuscb`: the time in base 64, plus `.n` within one ms.
function cacheBuster() {
  var now = encodeStamp(Date.now());
  if (now !== lastStamp) {
    stampSeed = 0;
    lastStamp = now;
    return now;
  }
  return now + '.' + encodeStamp(stampSeed++);
}

function defaultURL() {
  if (typeof location !== 'undefined' && location && location.protocol && /^(https?|wss?):$/.test(location.protocol)) {
    return location.origin || (location.protocol + '//' + location.host);
  }
  return 'http://127.0.0.1';
}

var reservedEvents = {};
['reconnect scheduled', 'reconnect timeout', 'readyStateChange', 'reconnect failed', 'reconnected',
  'reconnect', 'offline', 'timeout', 'destroy', 'online', 'error', 'close', 'open', 'data', 'end']
  .forEach(function add(name) { reservedEvents[name] = true; });

function context(self, method) {
  if (self instanceof Primus) return true;
  var failure = new Error('Primus#' + method + '\'s context should called with a Primus instance');
  if (!self || typeof self.listeners !== 'function' || !self.listeners('error').length) throw failure;
  self.emit('error', failure);
  return false;
}

// ---------------------------------------------------------------- Primus
var OPENING = 1;
var CLOSED = 2;
var OPEN = 3;

/**
 * new Primus(url, options) or Primus(url, options) or Primus.connect(url, options) or
 * new Primus({ url, ...options }). The URL is the server's origin (its query string is sent to
 * the server); the path is always the server's pathname.
 */
function Primus(url, options) {
  if (!(this instanceof Primus)) return new Primus(url, options);
  EventEmitter.call(this);

  if (url && typeof url === 'object' && !(typeof URL === 'function' && url instanceof URL)) {
    options = url;
    url = options.url || options.uri;
  }
  options = options || {};
  url = url ? String(url) : defaultURL();

  var primus = this;
  if ('ping' in options || 'pong' in options) {
    return primus.critical(new Error('The `ping` and `pong` options have been removed'));
  }

  options.queueSize = 'queueSize' in options ? options.queueSize : Infinity;
  options.timeout = 'timeout' in options ? options.timeout : 10e3;
  options.reconnect = 'reconnect' in options && options.reconnect ? options.reconnect : {};
  options.pingTimeout = 'pingTimeout' in options ? options.pingTimeout : COMPILED.pingTimeout;
  options.strategy = 'strategy' in options ? options.strategy : [];
  options.transport = 'transport' in options ? options.transport : {};
  options.recover = 'recover' in options ? !!options.recover : true;

  primus.buffer = [];
  primus.writable = true;
  primus.readable = true;
  primus.url = primus.parse(url);
  primus.readyState = CLOSED;
  primus.options = options;
  primus.timers = new Timers(primus);
  primus.socket = null;
  primus.disconnect = false;
  primus.transport = options.transport;
  primus.transformers = { outgoing: [], incoming: [] };
  primus.recovery = new Recovery(options.reconnect);
  // Missed-message recovery (recovery-position.js): kept across reconnects of this instance.
  primus.recoveryPosition = options.recover ? new RecoveryPosition() : null;
  primus.online = true;
  primus.firstConnect = false;

  if (typeof options.strategy === 'string') {
    options.strategy = options.strategy.split(/\s*,\s*/).filter(Boolean);
  }
  if (options.strategy === false || options.strategy === null) {
    options.strategy = [];
  } else if (!options.strategy.length) {
    options.strategy.push('disconnect', 'online');
    if (!primus.authorization) options.strategy.push('timeout');
  }
  options.strategy = options.strategy.join(',').toLowerCase();

  if ('websockets' in options) primus.AVOID_WEBSOCKETS = !options.websockets;
  if ('network' in options) primus.NETWORK_EVENTS = !!options.network;

  if (!options.manual) {
    primus.timers.setTimeout('open', function open() {
      primus.timers.clear('open');
      primus.open();
    }, 0);
  }

  primus.initialise(options);

  Object.keys(primus.ark).forEach(function plug(name) {
    primus.ark[name].call(primus, primus, options);
  });
}

Primus.prototype = Object.create(EventEmitter.prototype);
Primus.prototype.constructor = Primus;
Primus.EventEmitter = EventEmitter;
Primus.Recovery = Recovery;
Primus.RecoveryPosition = RecoveryPosition;
Primus.OPENING = OPENING;
Primus.CLOSED = CLOSED;
Primus.OPEN = OPEN;

Primus.prototype.ark = {};
Primus.prototype.pathname = COMPILED.pathname;
Primus.prototype.version = COMPILED.version;
Primus.prototype.parser = COMPILED.parser;
Primus.prototype.transformer = COMPILED.transformer;
Primus.prototype.authorization = COMPILED.authorization;
Primus.prototype.AVOID_WEBSOCKETS = false;
Primus.prototype.NETWORK_EVENTS = typeof window !== 'undefined' && !!window.addEventListener &&
  typeof navigator !== 'undefined' && 'onLine' in navigator;

Primus.connect = function connect(url, options) {
  return new Primus(url, options);
};

Primus.prototype.setReadyState = function setReadyState(state, name) {
  var previous = this.readyState;
  this.readyState = state;
  if (previous !== state) this.emit('readyStateChange', name);
};

Primus.prototype.initialise = function initialise(options) {
  var primus = this;

  primus.recovery
    .on('reconnected', primus.emits('reconnected'))
    .on('reconnect failed', primus.emits('reconnect failed', function failed(next) {
      primus.emit('outgoing::end');
      primus.writable = false;
      primus.readable = false;
      primus.setReadyState(CLOSED, 'end');
      primus.emit('end');
      next();
    }))
    .on('reconnect timeout', primus.emits('reconnect timeout', function timedOut(next) {
      // Drop the hung attempt so a late answer cannot resurrect it.
      primus.emit('outgoing::end');
      next();
    }))
    .on('reconnect scheduled', primus.emits('reconnect scheduled'))
    .on('reconnect', primus.emits('reconnect', function reconnect(next) {
      primus.emit('outgoing::reconnect');
      next();
    }));

  primus.on('outgoing::open', function opening() {
    primus.setReadyState(OPENING, 'opening');
  });

  primus.on('incoming::open', function opened() {
    primus.firstConnect = false;
    if (primus.recovery.reconnecting()) primus.recovery.reconnected();
    primus.writable = true;
    primus.readable = true;
    if (!primus.online) {
      primus.online = true;
      primus.emit('online');
    }
    primus.setReadyState(OPEN, 'open');
    primus.heartbeat();

    if (primus.buffer.length) {
      var pending = primus.buffer.slice();
      primus.buffer.length = 0;
      for (var i = 0; i < pending.length; i++) primus._write(pending[i]);
    }
    primus.emit('open');
  });

  primus.on('incoming::ping', function ping(time) {
    primus.online = true;
    primus.heartbeat();
    primus.emit('outgoing::pong', time);
    primus._write('primus::pong::' + time);
  });

  primus.on('incoming::error', function error(e) {
    var connect = primus.timers.active('connect');
    var err = e;
    if (typeof e === 'string') {
      err = new Error(e);
    } else if (!(e instanceof Error) && e && typeof e === 'object') {
      err = new Error(e.message || e.reason || (e.type === 'error' ? 'WebSocket error' : 'Connection error'));
      for (var key in e) {
        if (has.call(e, key)) err[key] = e[key];
      }
    } else if (!(e instanceof Error)) {
      err = new Error('Connection error');
    }

    // A refusal is final: `error`, then `end`, never a reconnect (retrying with the same
    // credentials would only hammer the server). A transport marks what it knows is one
    // (`err.refused`: engine.io's polling sees the 401/403). A WebSocket only shows that it
    // failed; when the server checks authorization, a first connection that fails before it
    // opens is taken as refused, as Primus's client ends then (its strategy has no `timeout`).
    // Reconnect attempts keep backing off: a browser cannot tell a refusal from a restart.
    if (err.refused || (primus.authorization && primus.firstConnect && !primus.recovery.reconnecting())) {
      primus.firstConnect = false;
      primus.recovery.reset();
      if (primus.listeners('error').length) primus.emit('error', err);
      return primus.end();
    }

    if (primus.recovery.reconnecting()) return primus.recovery.reconnected(err);
    if (primus.listeners('error').length) primus.emit('error', err);

    if (connect) {
      primus.timers.clear('connect');
      if (~primus.options.strategy.indexOf('timeout')) primus.recovery.reconnect();
      else primus.end();
    }
  });

  primus.on('incoming::data', function message(raw) {
    primus.decoder(raw, function decoded(err, data) {
      if (err) {
        if (primus.listeners('error').length) primus.emit('error', err);
        return;
      }
      primus.received(data, raw);
    });
  });

  primus.on('incoming::end', function end() {
    var readyState = primus.readyState;

    if (primus.disconnect) {
      primus.disconnect = false;
      return primus.end();
    }

    primus.setReadyState(CLOSED, 'end');
    if (primus.timers.active('connect')) primus.end();

    if (readyState !== OPEN) {
      return primus.recovery.reconnecting() ? primus.recovery.reconnect() : false;
    }

    primus.writable = false;
    primus.readable = false;
    primus.timers.clear();
    primus.emit('close');

    if (~primus.options.strategy.indexOf('disconnect')) return primus.recovery.reconnect();

    primus.emit('outgoing::end');
    primus.emit('end');
  });

  primus.client();

  if (primus.NETWORK_EVENTS) {
    primus.offlineHandler = function offline() {
      if (!primus.online) return;
      primus.online = false;
      // Reconnect on 'online' only a client that was connected or connecting (Primus #708).
      primus.resumeOnline = primus.readyState !== CLOSED || primus.recovery.reconnecting() ||
        primus.timers.active('open') || primus.timers.active('connect');
      primus.emit('offline');
      primus.end();
      primus.recovery.reset();
    };

    primus.onlineHandler = function online() {
      if (primus.online) return;
      primus.online = true;
      primus.emit('online');
      if (~primus.options.strategy.indexOf('online') && primus.resumeOnline) {
        primus.resumeOnline = false;
        primus.recovery.reconnect();
      }
    };

    window.addEventListener('offline', primus.offlineHandler, false);
    window.addEventListener('online', primus.onlineHandler, false);
  }

  return primus;
};

// Handles the `primus::` protocol messages; false for anything else (user data).
Primus.prototype.protocol = function protocol(msg) {
  if (typeof msg !== 'string' || msg.indexOf('primus::') !== 0) return false;
  var last = msg.indexOf(':', 8);
  if (last === -1) return false;
  var value = msg.slice(last + 2);

  switch (msg.slice(8, last)) {
    case 'ping':
      this.emit('incoming::ping', +value);
      break;
    case 'server':
      if (value === 'close') this.disconnect = true;
      break;
    case 'id':
      this.emit('incoming::id', value);
      break;
    default:
      return false;
  }
  return true;
};

// A decoded message: a `primus::` protocol message, else unwrapped by missed-message recovery
// (a baseline or a duplicate delivers nothing), then an emitter packet or `data` for the user.
// `raw` is what arrived (for an envelope, the whole envelope).
Primus.prototype.received = function received(data, raw) {
  if (this.protocol(data)) return;
  if (this.recoveryPosition) {
    data = this.recoveryPosition.receive(data);
    if (data === RecoveryPosition.NOTHING) return;
  }
  if (this.emitterPacket(data)) return;
  this.transforms(this, this, 'incoming', data, raw);
};

// Named events and acknowledgements in the wire format of the primus-emitter plugin (the server's
// spark.on/emit): an event is the message {type: 0, data: [name, ...args]} (with id: N when an
// acknowledgement is wanted), an acknowledgement {type: 1, id: N, data: [...args]}.
// primus.send('name', ...args[, fn]) emits (fn receives the server's acknowledgement); the
// server's events are emitted on the client as 'name' with their arguments, plus an
// acknowledgement function when the server waits for one. Reserved names ('data', 'open',
// 'end', ...) stay local and are never emitted from the wire.
Primus.prototype.send = function send(event) {
  var args = slice.call(arguments, 1);
  var packet = { type: 0, data: [event].concat(args) };
  if (args.length && typeof args[args.length - 1] === 'function') {
    var fn = args.pop();
    packet.data = [event].concat(args);
    this.ackCount = (this.ackCount || 0) + 1;
    packet.id = this.ackCount;
    this.acks = this.acks || {};
    this.acks[packet.id] = fn;
  }
  return this.write(packet);
};

// Whether `data` is exactly an emitter packet: an object with only `type` (0 or 1), a `data`
// array and an integral `id` where needed, so ordinary messages are never taken for one.
function emitterShape(data) {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return false;
  var keys = Object.keys(data);
  if (keys.length > 3 || !Array.isArray(data.data)) return false;
  for (var i = 0; i < keys.length; i++) {
    if (keys[i] !== 'type' && keys[i] !== 'data' && keys[i] !== 'id') return false;
  }
  if ('id' in data && (typeof data.id !== 'number' || data.id % 1 !== 0 || data.id < 0)) return false;
  if (data.type === 0) return typeof data.data[0] === 'string' && (keys.length === 2 || 'id' in data);
  return data.type === 1 && 'id' in data;
}

// Handles an incoming emitter packet; false for anything else (user data).
Primus.prototype.emitterPacket = function emitterPacket(data) {
  if (!emitterShape(data)) return false;
  var primus = this;

  if (data.type === 1) {
    var fn = primus.acks && primus.acks[data.id];
    if (fn) {
      delete primus.acks[data.id];
      fn.apply(primus, data.data);
    }
    return true;
  }

  var name = data.data[0];
  if (primus.reserved(name)) return true;
  var args = data.data.slice(1);
  if ('id' in data) {
    var answered = false;
    args.push(function ack() {
      if (answered) return;
      answered = true;
      primus.write({ type: 1, id: data.id, data: slice.call(arguments) });
    });
  }
  primus.emit.apply(primus, [name].concat(args));
  return true;
};

// Runs the message transformers of `type`, then delivers (incoming) or sends (outgoing).
Primus.prototype.transforms = function transforms(primus, connection, type, data, raw) {
  var packet = { data: data };
  var fns = primus.transformers[type].slice();

  (function step(index) {
    var transformer = fns[index];
    if (!transformer) {
      if (type === 'incoming') return connection.emit('data', packet.data, raw);
      return connection._write(packet.data);
    }
    if (transformer.length === 1) {
      if (transformer.call(connection, packet) === false) return;
      return step(index + 1);
    }
    transformer.call(connection, packet, function finished(err, arg) {
      if (err) return connection.emit('error', err);
      if (arg === false) return;
      step(index + 1);
    });
  })(0);

  return this;
};

Primus.prototype.id = function id(fn) {
  if (this.socket && this.socket.id) return fn(this.socket.id);
  this._write('primus::id::');
  return this.once('incoming::id', fn);
};

Primus.prototype.open = function open() {
  if (!context(this, 'open')) return this;
  // A manual open() takes over from a pending reconnect (no second socket later, Primus #399).
  if (this.recovery.reconnecting()) this.recovery.reset();
  this.firstConnect = true; // until it opens (reconnect attempts do not come through here)
  if (this.options.timeout) this.timeout();
  this.emit('outgoing::open');
  return this;
};

Primus.prototype.write = function write(data) {
  if (!context(this, 'write')) return true;
  this.transforms(this, this, 'outgoing', data);
  return true;
};

Primus.prototype._write = function _write(data) {
  var primus = this;

  if (primus.readyState !== OPEN) {
    var size = primus.options.queueSize;
    if (!(size > 0)) return false; // queueSize 0: nothing is kept while not connected
    while (primus.buffer.length >= size) primus.buffer.splice(0, 1);
    primus.buffer.push(data);
    return false;
  }

  primus.encoder(data, function encoded(err, packet) {
    if (err) {
      if (primus.listeners('error').length) primus.emit('error', err);
      return;
    }
    if (typeof packet === 'string') {
      if (packet.indexOf('\u2028') !== -1) packet = packet.replace(/\u2028/g, '\\u2028');
      if (packet.indexOf('\u2029') !== -1) packet = packet.replace(/\u2029/g, '\\u2029');
    }
    primus.emit('outgoing::data', packet);
  });

  return true;
};

Primus.prototype.heartbeat = function heartbeat() {
  var primus = this;
  if (!primus.options.pingTimeout) return primus;

  primus.timers.clear('heartbeat');
  primus.timers.setTimeout('heartbeat', function expired() {
    if (!primus.online) return;
    primus.online = false;
    primus.emit('offline');
    primus.emit('incoming::end');
    primus.emit('outgoing::end'); // the connection is dead: drop the socket
  }, primus.options.pingTimeout);

  return primus;
};

// The connect timeout of open(): 'timeout', then reconnect (strategy 'timeout') or end().
Primus.prototype.timeout = function timeout() {
  var primus = this;

  function remove() {
    primus.removeListener('error', remove)
      .removeListener('open', remove)
      .removeListener('end', remove)
      .timers.clear('connect');
  }

  primus.timers.setTimeout('connect', function expired() {
    remove();
    if (primus.readyState === OPEN || primus.recovery.reconnecting()) return;
    primus.emit('timeout');
    if (~primus.options.strategy.indexOf('timeout')) {
      primus.emit('outgoing::end');
      primus.recovery.reconnect();
    } else {
      primus.end();
    }
  }, primus.options.timeout);

  return primus.on('error', remove).on('open', remove).on('end', remove);
};

Primus.prototype.end = function end(data) {
  if (!context(this, 'end')) return this;

  if (this.readyState === CLOSED && !this.timers.active('connect') && !this.timers.active('open')) {
    if (this.recovery.reconnecting()) {
      this.recovery.reset();
      this.emit('end');
    }
    return this;
  }

  if (data !== undefined) this.write(data);

  this.writable = false;
  this.readable = false;
  this.setReadyState(CLOSED, 'end');
  this.timers.clear();
  this.recovery.reset();
  this.emit('outgoing::end');
  this.emit('close');
  this.emit('end');
  return this;
};

Primus.prototype.destroy = function destroy() {
  var primus = this;
  if (primus.destroyed) return false;
  primus.end();
  primus.destroyed = true;

  if (primus.NETWORK_EVENTS && primus.offlineHandler) {
    window.removeEventListener('offline', primus.offlineHandler, false);
    window.removeEventListener('online', primus.onlineHandler, false);
  }
  primus.timers.destroy();
  primus.recovery.destroy();
  ['url', 'timers', 'options', 'recovery', 'socket', 'transport', 'transformers'].forEach(function free(key) {
    primus[key] = null;
  });
  primus.emit('destroy');
  primus.removeAllListeners();
  return true;
};

Primus.prototype.transform = function transform(type, fn) {
  if (!context(this, 'transform')) return this;
  if (!(type in this.transformers)) return this.critical(new Error('Invalid transformer type'));
  this.transformers[type].push(fn);
  return this;
};

Primus.prototype.plugin = function plugin(name) {
  if (!context(this, 'plugin')) return undefined;
  if (name) return this.ark[name];
  var plugins = {};
  for (var key in this.ark) plugins[key] = this.ark[key];
  return plugins;
};

Primus.prototype.reserved = function reserved(evt) {
  return (/^(incoming|outgoing)::/).test(evt) || has.call(reservedEvents, evt);
};

// emits('event', parser?) → a function that emits 'event' with its arguments, or with what
// parser(next, ...args) hands to next(err, value) (undefined keeps the arguments, null none).
Primus.prototype.emits = function emits(event, parser) {
  var primus = this;
  return function emitter() {
    var args = slice.call(arguments);
    if (typeof parser !== 'function') {
      primus.emit.apply(primus, [event].concat(args));
      return true;
    }
    parser.apply(primus, [function next(err, returned) {
      if (err) return primus.emit('error', err);
      var out = returned === undefined ? args : returned === null ? [] : returned;
      primus.emit.apply(primus, [event].concat(out));
    }].concat(args));
    return true;
  };
};

Primus.prototype.critical = function critical(err) {
  if (this.emit('error', err)) return this;
  throw err;
};

Primus.prototype.merge = function merge(target) {
  for (var i = 1; i < arguments.length; i++) {
    var source = arguments[i];
    if (!source) continue;
    for (var key in source) {
      if (has.call(source, key)) target[key] = source[key];
    }
  }
  return target;
};

Primus.prototype.clone = function clone(object) {
  return this.merge({}, object);
};

Primus.prototype.querystring = function querystring(query) {
  var result = {};
  String(query || '').replace(/^\?/, '').split('&').forEach(function pair(part) {
    if (!part) return;
    var index = part.indexOf('=');
    var key = index === -1 ? part : part.slice(0, index);
    var value = index === -1 ? '' : part.slice(index + 1);
    try {
      key = decodeURIComponent(key.replace(/\+/g, ' '));
      value = decodeURIComponent(value.replace(/\+/g, ' '));
    } catch (e) {
      return;
    }
    if (!(key in result)) result[key] = value;
  });
  return result;
};

Primus.prototype.querystringify = function querystringify(object) {
  var parts = [];
  for (var key in object) {
    if (!has.call(object, key)) continue;
    var value = object[key];
    if (value === undefined || value === null) value = '';
    parts.push(encodeURIComponent(key) + '=' + encodeURIComponent(value));
  }
  return parts.join('&');
};

// The server URL as a plain object: protocol, auth, host, hostname, port, pathname, query, hash.
Primus.prototype.parse = function parse(url) {
  var parsed;
  try {
    parsed = typeof location !== 'undefined' && location && location.href
      ? new URL(url, location.href)
      : new URL(url);
  } catch (e) {
    parsed = new URL('http://127.0.0.1');
  }
  var auth = parsed.username ? decodeURIComponent(parsed.username) + (parsed.password ? ':' + decodeURIComponent(parsed.password) : '') : '';
  return {
    href: parsed.href,
    protocol: parsed.protocol,
    slashes: true,
    auth: auth,
    host: parsed.host,
    hostname: parsed.hostname,
    port: parsed.port,
    pathname: parsed.pathname,
    query: parsed.search,
    hash: parsed.hash,
    origin: parsed.origin
  };
};

// The connection URL: `options.protocol` (made secure for https/wss pages), the server's host,
// the compiled pathname, the user's query plus `_primuscb` (and `_primus_recover` when the client
// recovers missed messages) when `options.query` is set.
// Listeners of 'outgoing::url' may change the options before the URL is built.
Primus.prototype.uri = function uri(options) {
  var url = this.url;
  options = options || {};
  var qsa = !!options.query;

  options.protocol = 'protocol' in options ? options.protocol : 'http:';
  options.query = url.query && qsa ? url.query.slice(1) : false;
  options.secure = 'secure' in options ? options.secure : url.protocol === 'https:' || url.protocol === 'wss:';
  options.auth = 'auth' in options ? options.auth : url.auth;
  options.pathname = 'pathname' in options ? options.pathname : this.pathname;
  options.port = 'port' in options ? +options.port : +url.port || (options.secure ? 443 : 80);
  options.hostname = 'hostname' in options ? options.hostname : url.hostname;

  var query = this.querystring(options.query || '');
  query._primuscb = cacheBuster();
  if (this.recoveryPosition) query[RecoveryPosition.QUERY_PARAMETER] = this.recoveryPosition.queryValue();
  options.query = this.querystringify(query);

  this.emit('outgoing::url', options);

  var protocol = options.secure ? options.protocol.replace(':', 's:') : options.protocol;
  var defaultPort = options.secure ? 443 : 80;
  var host = options.hostname + (options.port && options.port !== defaultPort ? ':' + options.port : '');
  var out = protocol + '//' + (options.auth ? options.auth + '@' : '') + host;
  if (options.pathname) out += options.pathname.charAt(0) === '/' ? options.pathname : '/' + options.pathname;
  if (qsa && options.query) out += '?' + options.query;
  else if (!qsa) delete options.query;
  if (options.object) return options;
  return out;
};
