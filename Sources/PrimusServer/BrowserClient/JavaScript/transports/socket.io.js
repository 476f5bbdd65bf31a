/* global EventEmitter, emitterShape */
(function socketioTransport(engineio) {
  // The transport client of the `socket.io` transformer: Primus over Socket.IO v5, namespace `/`,
  // on top of the Engine.IO client of transports/engine.io.js (spliced in as the argument below by
  // BrowserLibraryCompiler.layered, so polling, the WebSocket upgrade, binary frames and `b…`
  // records over polling are that code's). The mapping is the server's (SocketIOPrimusBridge):
  //
  // - Engine.IO open → CONNECT `0` (`0{…}` with the options' `transport: { auth }`, an object or
  //   a function returning one, as socket.io-client's `auth`); the core sees `incoming::open` only once the server answers
  //   `0{"sid"}` (the sid is the spark id, `primus.socket.id`), within the open timeout
  //   (`options.timeout`, 10 s by default). CONNECT_ERROR `4{"message"}` is a refusal: an error
  //   with `refused`, then the end, without reconnecting.
  // - The core's data `x` ⇄ EVENT `["message", x]`; its emitter packets (`primus.send`) ⇄ native
  //   EVENT / ACK packets with their ids; bytes anywhere in the arguments ⇄ BINARY_EVENT /
  //   BINARY_ACK attachments (ArrayBuffers in; ArrayBuffers and typed arrays out). Values with
  //   bytes bypass the parser both ways, since the json parser cannot carry them.
  // - DISCONNECT `1` from the server → `primus::server::close` to the core, then the end (no
  //   reconnect); the client's end sends `1` first. An Engine.IO session that just closes is an
  //   outage: the core reconnects.
  // - Engine.IO pings → `primus::ping::<Date.now()>` to the core (its heartbeat timer); the core's
  //   `primus::pong::` is dropped, and `primus::id::` is answered here with the sid.
  //
  // The codec (`socketio.codec`, tested in Tests/JavaScript/socketio.test.js) is bounded: at most
  // `maxAttachments` attachments per packet (10, as socket.io-parser) and `maxAttachmentBytes`
  // bytes of them; anything malformed is an error that drops the connection, as Socket.IO does.

  var CONNECT = 0;
  var DISCONNECT = 1;
  var EVENT = 2;
  var ACK = 3;
  var CONNECT_ERROR = 4;
  var BINARY_EVENT = 5;
  var BINARY_ACK = 6;
  // Event names Socket.IO keeps for itself: a packet carrying one is malformed.
  var RESERVED = ['connect', 'connect_error', 'disconnect', 'disconnecting', 'newListener', 'removeListener'];
  var LIMITS = { maxAttachments: 10, maxAttachmentBytes: 16 * 1024 * 1024 };
  var MAX_DEPTH = 512;

  function malformed(reason) {
    var err = new Error('Socket.IO: ' + reason);
    err.malformed = true;
    return err;
  }

  function isBinary(value) {
    return typeof ArrayBuffer === 'function' && value !== null && typeof value === 'object' &&
      (value instanceof ArrayBuffer || (typeof ArrayBuffer.isView === 'function' && ArrayBuffer.isView(value)));
  }

  // The bytes of an ArrayBuffer or a view, as a Uint8Array over the same memory.
  function bytesOf(value) {
    if (value instanceof ArrayBuffer) return new Uint8Array(value);
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  function hasBinary(value, depth) {
    if (depth > MAX_DEPTH) throw malformed('a value nested too deeply');
    if (isBinary(value)) return true;
    if (!value || typeof value !== 'object') return false;
    for (var key in value) {
      if (Object.prototype.hasOwnProperty.call(value, key) && hasBinary(value[key], depth + 1)) return true;
    }
    return false;
  }

  // `value` with every ArrayBuffer / view replaced by `{"_placeholder":true,"num":i}`, the bytes
  // pushed on `attachments`.
  function deconstruct(value, attachments, depth) {
    if (depth > MAX_DEPTH) throw malformed('a value nested too deeply');
    if (isBinary(value)) {
      attachments.push(bytesOf(value));
      return { _placeholder: true, num: attachments.length - 1 };
    }
    if (Array.isArray(value)) {
      var list = [];
      for (var i = 0; i < value.length; i++) list.push(deconstruct(value[i], attachments, depth + 1));
      return list;
    }
    if (value && typeof value === 'object' && typeof value.toJSON !== 'function') {
      var out = {};
      for (var key in value) {
        if (Object.prototype.hasOwnProperty.call(value, key)) out[key] = deconstruct(value[key], attachments, depth + 1);
      }
      return out;
    }
    return value;
  }

  // `value` with its placeholders replaced by the attachments (ArrayBuffers).
  function reconstruct(value, attachments, depth) {
    if (depth > MAX_DEPTH) throw malformed('a payload nested too deeply');
    if (!value || typeof value !== 'object') return value;
    if (value._placeholder === true) {
      var num = value.num;
      if (typeof num !== 'number' || num % 1 !== 0 || num < 0 || num >= attachments.length) {
        throw malformed('a placeholder for an attachment that does not exist');
      }
      return attachments[num];
    }
    for (var key in value) {
      if (Object.prototype.hasOwnProperty.call(value, key)) value[key] = reconstruct(value[key], attachments, depth + 1);
    }
    return value;
  }

  function eventNameOK(data) {
    return Array.isArray(data) && data.length > 0 &&
      (typeof data[0] === 'number' || (typeof data[0] === 'string' && RESERVED.indexOf(data[0]) === -1));
  }

  function payloadOK(type, data) {
    switch (type) {
      case CONNECT: return data === undefined || (data !== null && typeof data === 'object' && !Array.isArray(data));
      case DISCONNECT: return data === undefined;
      case CONNECT_ERROR: return typeof data === 'string' || (data !== null && typeof data === 'object' && !Array.isArray(data));
      case EVENT: case BINARY_EVENT: return eventNameOK(data);
      default: return Array.isArray(data); // ACK, BINARY_ACK
    }
  }

  // A packet `{ type, nsp, id, data }` as what goes on Engine.IO: the text packet, then the
  // attachments (Uint8Arrays). EVENT and ACK carrying bytes become BINARY_EVENT / BINARY_ACK.
  function encode(packet) {
    var type = packet.type;
    var attachments = [];
    var data = packet.data;
    if ((type === EVENT || type === ACK) && hasBinary(data, 0)) {
      data = deconstruct(data, attachments, 0);
      type = type === EVENT ? BINARY_EVENT : BINARY_ACK;
    }
    if (data !== undefined && !payloadOK(type, data)) throw malformed('cannot send this packet: ' + JSON.stringify(data));
    var text = String(type);
    if (type === BINARY_EVENT || type === BINARY_ACK) text += attachments.length + '-';
    if (packet.nsp && packet.nsp !== '/') text += packet.nsp + ',';
    if (packet.id !== undefined && packet.id !== null) text += packet.id;
    if (data !== undefined) text += JSON.stringify(data);
    return [text].concat(attachments);
  }

  function isDigit(c) {
    return c >= '0' && c <= '9';
  }

  // One text packet: `<type>[<n>-][<nsp>,][<id>][<json>]`, as `{ type, nsp, id, data,
  // attachments }` (`attachments` is the count a binary packet announces). Throws on anything
  // malformed.
  function decodeText(text, limits) {
    if (typeof text !== 'string' || !text.length) throw malformed('an empty packet');
    var type = text.charCodeAt(0) - 48;
    if (!(type >= CONNECT && type <= BINARY_ACK)) throw malformed('unknown packet type ' + JSON.stringify(text.charAt(0)));
    var i = 1;
    var packet = { type: type, nsp: '/', id: undefined, data: undefined, attachments: 0 };
    if (type === BINARY_EVENT || type === BINARY_ACK) {
      var start = i;
      while (i < text.length && isDigit(text.charAt(i))) i++;
      if (i === start || i - start > 6 || text.charAt(i) !== '-') throw malformed('a binary packet without its attachment count');
      packet.attachments = +text.slice(start, i);
      if (packet.attachments > limits.maxAttachments) {
        throw malformed(packet.attachments + ' attachments, more than the limit of ' + limits.maxAttachments);
      }
      i++;
    }
    if (text.charAt(i) === '/') {
      var comma = text.indexOf(',', i);
      var end = comma === -1 ? text.length : comma;
      packet.nsp = text.slice(i, end);
      i = comma === -1 ? end : end + 1;
    }
    var idStart = i;
    while (i < text.length && isDigit(text.charAt(i))) i++;
    if (i > idStart) {
      if (i - idStart > 15) throw malformed('an acknowledgement id out of range');
      packet.id = +text.slice(idStart, i);
    }
    if (i < text.length) {
      try {
        packet.data = JSON.parse(text.slice(i));
      } catch (e) {
        throw malformed('a payload that is not JSON');
      }
    }
    if (!payloadOK(type, packet.data)) throw malformed('an invalid payload for packet type ' + type);
    if ((type === ACK || type === BINARY_ACK) && packet.id === undefined) throw malformed('an acknowledgement without its id');
    return packet;
  }

  // Reassembles packets from Engine.IO messages: `add(message)` takes a text packet or the
  // ArrayBuffer of an attachment and returns the complete packet (`{ type, nsp, id, data }`,
  // bytes as ArrayBuffers) or null while attachments are outstanding. Throws on a protocol error.
  function Decoder(limits) {
    this.limits = limits || LIMITS;
    this.pending = null;
    this.buffers = [];
    this.bytes = 0;
  }

  Decoder.prototype.add = function add(message) {
    if (typeof message === 'string') {
      if (this.pending) throw malformed('a text packet while attachments were expected');
      var packet = decodeText(message, this.limits);
      if (packet.type !== BINARY_EVENT && packet.type !== BINARY_ACK) return this.finish(packet, []);
      if (!packet.attachments) return this.finish(packet, []);
      this.pending = packet;
      this.buffers = [];
      this.bytes = 0;
      return null;
    }
    if (!isBinary(message)) throw malformed('a message that is neither text nor bytes');
    if (!this.pending) throw malformed('an attachment without a binary packet');
    var buffer = message instanceof ArrayBuffer ? message : bytesOf(message).slice().buffer;
    this.bytes += buffer.byteLength;
    if (this.bytes > this.limits.maxAttachmentBytes) {
      throw malformed('attachments larger than the limit of ' + this.limits.maxAttachmentBytes + ' bytes');
    }
    this.buffers.push(buffer);
    if (this.buffers.length < this.pending.attachments) return null;
    var done = this.pending;
    var buffers = this.buffers;
    this.pending = null;
    this.buffers = [];
    this.bytes = 0;
    return this.finish(done, buffers);
  };

  Decoder.prototype.finish = function finish(packet, buffers) {
    var data = packet.attachments ? reconstruct(packet.data, buffers, 0) : packet.data;
    var type = packet.type === BINARY_EVENT ? EVENT : packet.type === BINARY_ACK ? ACK : packet.type;
    return { type: type, nsp: packet.nsp, id: packet.id, data: data };
  };

  // What the core wrote as a Socket.IO packet, or `{ local: 'pong' | 'id' }` for the Primus
  // protocol messages this transport answers or drops itself. `value` is the message as the
  // parser decodes it (what it means); `wire`, when the parser writes JSON text, that text as
  // plain JSON, which is what travels (so ejson's `{"$date":…}` stays as the parser wrote it).
  function fromPrimus(value, wire) {
    if (arguments.length < 2) wire = value;
    if (typeof value === 'string' && value.indexOf('primus::') === 0) {
      if (value.indexOf('primus::pong::') === 0) return { local: 'pong' };
      if (value === 'primus::id::') return { local: 'id' };
    }
    if (emitterShape(value)) {
      var args = wire && Array.isArray(wire.data) && wire.data.length === value.data.length ? wire.data : value.data;
      if (value.type === 1) return { type: ACK, nsp: '/', id: value.id, data: args };
      return { type: EVENT, nsp: '/', id: value.id, data: args };
    }
    return { type: EVENT, nsp: '/', data: ['message', wire === undefined ? null : wire] };
  }

  // A complete EVENT or ACK packet as the value the core receives: `message`'s argument, an
  // emitter event, or an emitter acknowledgement.
  function toPrimus(packet) {
    if (packet.type === ACK) return { type: 1, id: packet.id, data: packet.data };
    var name = packet.data[0];
    if (name === 'message') return packet.data.length > 1 ? packet.data[1] : null;
    var event = { type: 0, data: [String(name)].concat(packet.data.slice(1)) };
    if (packet.id !== undefined) event.id = packet.id;
    return event;
  }

  function socketio() {
    var primus = this;
    var engine = new EventEmitter();
    var current = null; // the Socket.IO session of the current Engine.IO connection

    engine.uri = function uri(options) { return primus.uri(options); };
    engine.critical = function critical(err) { return primus.critical(err); };
    engine.AVOID_WEBSOCKETS = primus.AVOID_WEBSOCKETS;
    engineio.call(engine);

    // Whether the parser writes text (json, ejson): then what the server sends is that text as
    // JSON values, handed to the core as JSON text for the parser to read (as the server frames
    // its parser's text in `["message",…]`).
    var textParser = true;
    primus.encoder(null, function probed(err, out) { textParser = !err && typeof out === 'string'; });

    // Hands a value to the core as if the transport had received it. Values carrying bytes
    // skip the parser (the json parser cannot carry them) and take the core's own path after
    // its decoder.
    function deliver(value) {
      if (hasBinary(value, 0)) {
        primus.received(value, value);
        return;
      }
      if (textParser) return primus.emit('incoming::data', JSON.stringify(value === undefined ? null : value));
      primus.encoder(value, function encoded(err, raw) {
        if (err) return primus.listeners('error').length ? primus.emit('error', err) : undefined;
        primus.emit('incoming::data', raw);
      });
    }

    function open() {
      var session = {
        state: 'connecting',
        decoder: new Decoder(LIMITS),
        timer: null,
        socket: { id: null, readyState: 'opening' }
      };
      ['url', 'transport'].forEach(function delegate(name) {
        Object.defineProperty(session.socket, name, {
          enumerable: true,
          get: function get() { return engine.socket ? engine.socket[name] : undefined; }
        });
      });
      Object.defineProperty(session.socket, 'engine', {
        get: function get() { return engine.socket; }
      });
      current = session;
      primus.socket = session.socket;
      engine.AVOID_WEBSOCKETS = primus.AVOID_WEBSOCKETS;
      engine.emit('outgoing::open');
      return session;
    }

    // Ends `session`; `goodbye` sends DISCONNECT first (the client ends on purpose).
    function close(session, goodbye) {
      if (!session || session.state === 'closed') return;
      var wasOpen = session.state === 'open';
      session.state = 'closed';
      session.socket.readyState = 'closed';
      clearTimeout(session.timer);
      if (current === session) current = null;
      // DISCONNECT goes with the Engine.IO goodbye: in the same last POST when polling (a POST of
      // its own would be cut short by the close), before the close on the WebSocket.
      engine.emit('outgoing::end', goodbye && wasOpen ? encode({ type: DISCONNECT, nsp: '/' }) : undefined);
    }

    function fail(session, err) {
      if (session !== current) return;
      close(session, false);
      primus.emit('incoming::error', err);
      primus.emit('incoming::end');
    }

    function send(session, packet) {
      if (session.state !== 'open') return;
      var parts;
      try {
        parts = encode(packet);
      } catch (e) {
        return primus.listeners('error').length ? primus.emit('error', e) : undefined;
      }
      for (var i = 0; i < parts.length; i++) engine.emit('outgoing::data', parts[i]);
    }

    function received(session, packet) {
      if (packet.nsp !== '/') return; // another namespace: not this client's
      if (session.state === 'connecting') {
        if (packet.type === CONNECT) {
          if (!packet.data || typeof packet.data.sid !== 'string') {
            return fail(session, malformed('a CONNECT answer without a sid'));
          }
          clearTimeout(session.timer);
          session.state = 'open';
          session.socket.id = packet.data.sid;
          session.socket.readyState = 'open';
          return primus.emit('incoming::open');
        }
        if (packet.type === CONNECT_ERROR) {
          var data = packet.data;
          var message = typeof data === 'string' ? data : data && typeof data.message === 'string' ? data.message : '';
          var err = new Error('Socket.IO connection refused' + (message ? ': ' + message : ''));
          err.refused = true;
          err.reason = message;
          if (data && typeof data === 'object' && 'data' in data) err.data = data.data;
          return fail(session, err);
        }
        return; // nothing else is meant for a socket that is not connected yet
      }
      switch (packet.type) {
        case EVENT:
        case ACK:
          return deliver(toPrimus(packet));
        case DISCONNECT:
          deliver('primus::server::close');
          if (session !== current) return;
          close(session, false);
          return primus.emit('incoming::end');
        case CONNECT_ERROR:
          return fail(session, new Error('Socket.IO: CONNECT_ERROR on a connected socket'));
        default:
          return; // a second CONNECT answer: nothing to do
      }
    }

    engine.on('incoming::open', function engineOpened() {
      var session = current;
      if (!session || session.state !== 'connecting') return;
      var wait = +primus.options.timeout > 0 ? +primus.options.timeout : 10e3;
      session.timer = setTimeout(function noAnswer() {
        fail(session, new Error('Socket.IO: no answer to CONNECT within ' + wait + ' ms'));
      }, wait);
      var auth = primus.transport && primus.transport.auth;
      if (typeof auth === 'function') auth = auth();
      var connect = { type: CONNECT, nsp: '/' };
      if (auth && typeof auth === 'object' && !Array.isArray(auth)) connect.data = auth;
      engine.emit('outgoing::data', encode(connect)[0]);
    });

    engine.on('incoming::data', function engineData(message) {
      var session = current;
      if (!session || session.state === 'closed') return;
      var packet;
      try {
        packet = session.decoder.add(message);
      } catch (e) {
        return fail(session, e);
      }
      if (packet) received(session, packet);
    });

    engine.on('engineio::ping', function enginePing() {
      if (current && current.state === 'open') deliver('primus::ping::' + Date.now());
    });

    // The Engine.IO client reports a failure as an error then an end: both are passed on here,
    // so its end finds no session and is not passed on twice.
    engine.on('incoming::error', function engineError(err) {
      if (current) fail(current, err);
    });

    engine.on('incoming::end', function engineEnded() {
      var session = current;
      if (!session) return;
      close(session, false);
      primus.emit('incoming::end');
    });

    // Values carrying bytes (`primus.send('x', new Uint8Array(…))`, an ack with bytes) skip the
    // parser on the way out too, as attachments: the json parser would flatten them.
    var parserWrite = primus._write;
    primus._write = function writeWithBytes(data) {
      var session = current;
      var binary = false;
      try {
        binary = !!session && session.state === 'open' && hasBinary(data, 0);
      } catch (e) {
        binary = false;
      }
      if (!binary) return parserWrite.call(primus, data);
      var out = fromPrimus(data);
      if (!out.local) send(session, out);
      return true;
    };

    primus.on('outgoing::open', function opening() {
      primus.emit('outgoing::end');
      open();
    });

    primus.on('outgoing::reconnect', function reconnect() {
      primus.emit('outgoing::open');
    });

    primus.on('outgoing::data', function write(packet) {
      var session = current;
      if (!session || session.state !== 'open') return;
      primus.decoder(packet, function decoded(err, value) {
        if (err) return primus.listeners('error').length ? primus.emit('error', err) : undefined;
        var wire = value;
        if (typeof packet === 'string') {
          try { wire = JSON.parse(packet); } catch (e) { wire = value; }
        }
        var out = fromPrimus(value, wire);
        if (out.local === 'pong') return;
        if (out.local === 'id') return deliver('primus::id::' + session.socket.id);
        send(session, out);
      });
    });

    primus.on('outgoing::end', function end() {
      close(current, true);
    });
  }

  socketio.codec = {
    types: {
      CONNECT: CONNECT, DISCONNECT: DISCONNECT, EVENT: EVENT, ACK: ACK,
      CONNECT_ERROR: CONNECT_ERROR, BINARY_EVENT: BINARY_EVENT, BINARY_ACK: BINARY_ACK
    },
    limits: LIMITS,
    encode: encode,
    Decoder: Decoder,
    fromPrimus: fromPrimus,
    toPrimus: toPrimus
  };
  return socketio;
})($$engineio$$ /* eslint-disable-line no-undef */)
