// The browser client's JavaScript, part 2: one transport client per transformer and one
// encoder/decoder pair per parser, keyed by name; `BrowserLibraryCompiler` picks the ones the
// server runs. A larger client lives in its own file (`BrowserClientEngineIO.swift`).

enum BrowserClientTransports {
    /// `Primus.prototype.client` per transformer name: runs once per client with `this` = the
    /// client; handles `outgoing::open|data|reconnect|end` and emits `incoming::open|data|error|end`.
    static let clients: [String: String] = [
        "websockets": websockets,
        "engine.io": engineIO,
    ]

    /// The native WebSocket (browsers, Node 22+), else Node's `ws` module. One Primus message per
    /// text frame; `outgoing::open` drops the previous socket first, so there is never a second one.
    static let websockets = #"""
function websockets() {
    var primus = this;
    var socket = null;
    var Factory = typeof WebSocket !== 'undefined' ? WebSocket : null;

    if (!Factory && typeof require === 'function') {
      try { Factory = require('ws'); } catch (e) { Factory = null; }
    }
    if (!Factory) {
      return primus.critical(new Error('No WebSocket implementation: this environment has no global WebSocket and no `ws` module'));
    }

    function drop() {
      if (!socket) return;
      var old = socket;
      socket = null;
      old.onopen = old.onerror = old.onclose = old.onmessage = function ignore() {};
      try { old.close(); } catch (e) { /* already closing */ }
    }

    primus.on('outgoing::open', function opening() {
      primus.emit('outgoing::end');
      var current;
      try {
        var url = primus.uri({ protocol: 'ws:', query: true });
        current = typeof window === 'undefined' && Factory.length === 3
          ? new Factory(url, [], primus.transport)
          : new Factory(url);
        current.binaryType = 'arraybuffer';
      } catch (e) {
        return primus.emit('incoming::error', e);
      }
      socket = current;
      primus.socket = current;

      current.onopen = function onopen() { primus.emit('incoming::open'); };
      current.onerror = function onerror(event) { primus.emit('incoming::error', event); };
      current.onclose = function onclose() {
        if (socket === current) socket = null;
        primus.emit('incoming::end');
      };
      current.onmessage = function onmessage(event) { primus.emit('incoming::data', event.data); };
    });

    primus.on('outgoing::data', function write(message) {
      if (!socket || socket.readyState !== 1) return;
      try {
        socket.send(message);
      } catch (e) {
        primus.emit('incoming::error', e);
      }
    });

    primus.on('outgoing::reconnect', function reconnect() {
      primus.emit('outgoing::open');
    });

    primus.on('outgoing::end', drop);
  }
"""#

    /// `[encoder, decoder]` sources per parser name, each `function (data, fn)` calling
    /// `fn(err, result)`, with `this` = the client.
    static let parsers: [String: (encoder: String, decoder: String)] = [
        "json": (
            encoder: #"""
function encoder(data, fn) {
    var err, packet;
    try {
      packet = JSON.stringify(data);
      if (packet === undefined) err = new Error('JSON cannot encode ' + typeof data);
    } catch (e) {
      err = e;
    }
    fn(err, packet);
  }
"""#,
            decoder: #"""
function decoder(data, fn) {
    var err, value = data;
    if (typeof data !== 'string') return fn(err, data);
    try {
      value = JSON.parse(data);
    } catch (e) {
      err = e;
    }
    fn(err, value);
  }
"""#
        )
    ]

    /// A client for a transformer or parser this library has no browser code for: it fails
    /// loudly at the first use instead of speaking the wrong protocol.
    static func unsupportedClient(transformer: String) -> String {
        let message = JSONValueText.string("the \(transformer) transformer has no browser client in this build")
        return """
        function unsupported() {
            var primus = this;
            primus.on('outgoing::open', function opening() {
              primus.emit('incoming::error', new Error(\(message)));
            });
          }
        """
    }

    static func unsupportedParser(_ parser: String) -> (encoder: String, decoder: String) {
        let message = JSONValueText.string("the \(parser) parser has no browser implementation in this build")
        let body = "function unsupported(data, fn) { fn(new Error(\(message))); }"
        return (body, body)
    }
}
