function websockets() {
  // The transport client of the `websockets` transformer, spliced in as `Primus.prototype.client`
  // and run once per client with `this` = the client: it handles `outgoing::open|data|reconnect|end`
  // and emits `incoming::open|data|error|end`.
  //
  // The native WebSocket (browsers, Node 22+), else Node's `ws` module. One Primus message per
  // frame; `outgoing::open` drops the previous socket first, so there is never a second one.
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
