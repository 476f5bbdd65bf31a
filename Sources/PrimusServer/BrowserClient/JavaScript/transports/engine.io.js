function engineio() {
  // The transport client of the `engine.io` transformer: a small Engine.IO v4 client (HTTP
  // long-polling over `fetch`, then an upgrade to WebSocket) behind the same contract as
  // transports/websockets.js. Spliced into the library after core.js, so the core's helpers
  // (`cacheBuster`) are in scope.
  //
  // Engine.IO 4 as Primus 8 runs engine.io-client: path `<pathname>/`, base64 only, a timestamp
  // on every request, transports polling then websocket (polling only when the client avoids
  // WebSockets). `primus.socket` is `{ id: sid, url, transport, readyState }`.
  //
  // - Handshake `GET …&EIO=4&transport=polling&t=…&b64=1` → `0{"sid",…}`; then one long `GET`
  //   and at most one `POST` at a time, payloads joined by U+001E, posts cut at `maxPayload`.
  // - Upgrade: WebSocket with the sid, `2probe` → `3probe`, polling paused (the server ends the
  //   outstanding `GET` with a noop), `5`, then everything queued goes over the WebSocket. A
  //   failed probe leaves the connection on polling.
  // - Server pings `2` are answered `3`; no ping for `pingInterval + pingTimeout` means the
  //   connection is gone (`incoming::end`). A failed request or socket is `incoming::error` then
  //   `incoming::end`; `1` from the server is `incoming::end`.
  // - The json parser's packets are strings, so binary packets (`b…`) never occur.
  // - URL credentials (`http://user:pass@host`) leave the URL, which `fetch` would refuse, and go
  //   as `Authorization: Basic …` on every request; the upgrade WebSocket keeps them in its URL
  //   (Chromium ignores them there).
  // - A handshake answered `4xx`, or any request answered `401`/`403`, is a refusal: the error
  //   has `refused`, `status`, `body` and the server's `{"error"}` reason, and the core ends the
  //   client instead of reconnecting.
  var primus = this;
  var current = null;

  function noop() {}

  if (typeof fetch !== 'function') {
    return primus.critical(new Error('No fetch implementation: the engine.io transport needs fetch()'));
  }

  // UTF-8 byte count, to keep a POST within the server's maxPayload.
  function utf8Length(text) {
    var length = 0;
    for (var i = 0; i < text.length; i++) {
      var code = text.charCodeAt(i);
      if (code < 0x80) length += 1;
      else if (code < 0x800) length += 2;
      else if (code >= 0xd800 && code < 0xdc00) { length += 4; i++; }
      else length += 3;
    }
    return length;
  }

  // `Basic base64(user:password)` of the URL's credentials (UTF-8), or '' without any.
  function basicAuthorization(auth) {
    if (!auth) return '';
    var bytes = unescape(encodeURIComponent(auth));
    return 'Basic ' + (typeof btoa === 'function' ? btoa(bytes) : Buffer.from(bytes, 'binary').toString('base64'));
  }

  // One HTTP request; `done(err, text)` runs once unless the request is aborted first. An
  // answer other than 2xx is an error with `status`, `body` and the server's `{"error"}` reason;
  // 401 and 403 are marked `refused` (authorization runs on every polling request).
  function request(method, url, body, authorization, done) {
    var controller = typeof AbortController === 'function' ? new AbortController() : null;
    var settled = false;
    var init = { method: method, credentials: 'include', cache: 'no-store', headers: {} };
    if (controller) init.signal = controller.signal;
    // fetch() refuses URLs with credentials: they travel as the header Primus would send.
    if (authorization) init.headers.Authorization = authorization;
    if (body !== undefined) {
      init.body = body;
      init.headers['Content-Type'] = 'text/plain;charset=UTF-8';
    }
    function finish(err, text) {
      if (settled) return;
      settled = true;
      done(err, text);
    }
    fetch(url, init).then(function received(response) {
      return response.text().then(function read(text) {
        if (response.ok) return finish(null, text);
        var reason = '';
        try { reason = JSON.parse(text).error; } catch (e) { reason = ''; }
        var err = new Error('Engine.IO ' + method + ' failed with HTTP ' + response.status +
          (typeof reason === 'string' && reason ? ': ' + reason : ''));
        err.status = response.status;
        err.body = text;
        if (response.status === 401 || response.status === 403) err.refused = true;
        finish(err);
      });
    }).catch(function failed(e) {
      finish(e instanceof Error ? e : new Error('Engine.IO ' + method + ' failed'));
    });
    return {
      abort: function abort() {
        settled = true;
        if (controller) controller.abort();
      }
    };
  }

  // Bytes of an ArrayBuffer, a typed array or a DataView, as a Uint8Array over the same memory.
  function bytesOf(data) {
    if (data instanceof ArrayBuffer) return new Uint8Array(data);
    return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  }

  // Base64 of bytes, for a binary message over polling (`b<base64>`).
  function toBase64(bytes) {
    if (typeof btoa !== 'function') return Buffer.from(bytes).toString('base64');
    var text = '';
    for (var i = 0; i < bytes.length; i += 0x8000) {
      text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
    }
    return btoa(text);
  }

  // The ArrayBuffer of a base64 text (a `b` record from the server).
  function fromBase64(text) {
    if (typeof atob !== 'function') {
      var buffer = Buffer.from(text, 'base64');
      return buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength);
    }
    var binary = atob(text);
    var bytes = new Uint8Array(binary.length);
    for (var i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
    return bytes.buffer;
  }

  function connect() {
    var address = primus.uri({ protocol: 'http:', query: true });
    // Credentials leave the URL (fetch and WebSocket refuse or ignore them) for a header.
    var credentials = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i.exec(address);
    var authorization = credentials ? basicAuthorization(credentials[2]) : '';
    if (credentials) address = credentials[1] + address.slice(credentials[0].length);
    var mark = address.indexOf('?');
    var base = mark === -1 ? address : address.slice(0, mark);
    var query = mark === -1 ? '' : address.slice(mark + 1);
    if (base.charAt(base.length - 1) !== '/') base += '/';
    // A WebSocket cannot carry headers: the credentials stay in its URL, for the browsers that
    // use them (Chromium ignores them, see Interop/browser/README.md).
    var wsBase = base.replace(/^http/, 'ws');
    if (credentials) wsBase = wsBase.replace(/^wss?:\/\//, function scheme(prefix) { return prefix + credentials[2] + '@'; });

    var socket = { id: null, url: '', transport: 'polling', readyState: 'opening' };
    var sid = null;
    var maxPayload = Infinity;
    var pingWindow = 0;
    var watchdog = null;
    var poll = null;      // the outstanding GET
    var post = null;      // the outstanding POST
    var ws = null;        // the probing, or after the upgrade the only, WebSocket
    var pausing = false;  // the probe succeeded: polling winds down before `5`
    var queue = [];       // packets waiting for the next POST

    function live() {
      return current === socket && socket.readyState !== 'closed';
    }

    function url(transport) {
      var out = (transport === 'websocket' ? wsBase : base) +
        '?' + (query ? query + '&' : '') + 'EIO=4&transport=' + transport;
      if (sid) out += '&sid=' + encodeURIComponent(sid);
      out += '&t=' + cacheBuster();
      if (!sid || transport === 'websocket') out += '&b64=1';
      return out;
    }

    function heartbeat() {
      clearTimeout(watchdog);
      if (pingWindow > 0) watchdog = setTimeout(function expired() { finish(); }, pingWindow);
    }

    // Everything stops; `notify` tells the server (a `1` packet) when we close on purpose, after
    // the text messages of `last` (a layer's own goodbye, such as Socket.IO's DISCONNECT).
    function shut(notify, last) {
      if (socket.readyState === 'closed') return;
      var wasOpen = socket.readyState === 'open';
      socket.readyState = 'closed';
      clearTimeout(watchdog);
      var goodbye = notify && wasOpen && last ? last.map(function message(text) { return '4' + text; }) : [];
      // On WebSocket, its close is the goodbye; on polling, one last POST (not waited for),
      // sent before the aborted poll can tell the server first.
      if (notify && wasOpen && socket.transport === 'polling') {
        request('POST', url('polling'), goodbye.concat('1').join('\x1e'), authorization, noop);
      }
      if (poll) poll.abort();
      if (post) post.abort();
      poll = post = null;
      queue.length = 0;
      if (ws) {
        var old = ws;
        ws = null;
        old.onopen = old.onmessage = old.onerror = old.onclose = noop;
        try {
          if (socket.transport === 'websocket') goodbye.forEach(function each(packet) { old.send(packet); });
          old.close();
        } catch (e) { /* already closing */ }
      }
    }

    function finish() {
      if (!live()) return;
      shut(false);
      primus.emit('incoming::end');
    }

    function fail(err) {
      if (!live()) return;
      shut(false);
      primus.emit('incoming::error', err);
      primus.emit('incoming::end');
    }

    // One packet: text (`<type><data>`, or `b<base64>` for bytes over polling), or the
    // ArrayBuffer of a binary WebSocket frame, which is always a message.
    function receive(packet) {
      if (!live() || !packet) return;
      if (typeof packet !== 'string') return primus.emit('incoming::data', packet);
      switch (packet.charAt(0)) {
        case '4': primus.emit('incoming::data', packet.slice(1)); break;
        case 'b':
          var bytes;
          try {
            bytes = fromBase64(packet.slice(1));
          } catch (e) {
            return fail(new Error('Engine.IO: a binary packet that is not base64'));
          }
          primus.emit('incoming::data', bytes);
          break;
        case '2':
          heartbeat();
          send('3' + packet.slice(1));
          // For a layer above (transports/socket.io.js), which turns pings into the core's heartbeat.
          primus.emit('engineio::ping');
          break;
        case '1': finish(); break;
        default: break; // 6 noop; nothing else is meant for an open client
      }
    }

    // One packet: text, or bytes (a Uint8Array) that go as a binary frame on the WebSocket
    // and as `b<base64>` over polling.
    function send(packet) {
      if (!live()) return;
      if (socket.transport === 'websocket') {
        try { ws.send(packet); } catch (e) { fail(e); }
        return;
      }
      queue.push(packet);
      flush();
    }

    function flush() {
      if (!live() || post || pausing || !queue.length || socket.transport !== 'polling') return;
      var size = 0;
      var count = 0;
      var records = [];
      while (count < queue.length) {
        var record = typeof queue[count] === 'string' ? queue[count] : 'b' + toBase64(queue[count]);
        var next = utf8Length(record) + (count ? 1 : 0);
        if (count && size + next > maxPayload) break;
        size += next;
        records.push(record);
        count++;
      }
      queue.splice(0, count);
      post = request('POST', url('polling'), records.join('\x1e'), authorization, function posted(err) {
        post = null;
        if (err) return fail(err);
        if (pausing) return switchOver();
        flush();
      });
    }

    function pollAgain() {
      if (!live() || poll || pausing || socket.transport !== 'polling') return;
      poll = request('GET', url('polling'), undefined, authorization, function polled(err, text) {
        poll = null;
        if (err) return fail(err);
        text.split('\x1e').forEach(receive);
        if (pausing) return switchOver();
        pollAgain();
      });
    }

    // Polling has wound down (no GET, no POST out): `5`, then the WebSocket carries everything.
    function switchOver() {
      if (!live() || !pausing || poll || post || !ws) return;
      pausing = false;
      socket.transport = 'websocket';
      var pending = queue.splice(0, queue.length);
      try {
        ws.send('5');
        pending.forEach(function each(packet) { ws.send(packet); });
      } catch (e) {
        fail(e);
      }
    }

    function upgrade() {
      var candidate;
      try {
        candidate = new WebSocket(url('websocket'));
      } catch (e) {
        return; // stay on polling
      }
      ws = candidate;
      candidate.binaryType = 'arraybuffer';
      candidate.onopen = function onopen() { candidate.send('2probe'); };
      candidate.onmessage = function onmessage(event) {
        if (ws !== candidate || !live()) return;
        if (socket.transport === 'websocket') return receive(event.data);
        var packet = String(event.data);
        if (packet === '3probe' && !pausing) {
          pausing = true;
          switchOver();
        }
      };
      function lost(err) {
        if (ws !== candidate || !live()) return;
        ws = null;
        if (socket.transport === 'websocket') return err ? fail(err) : finish();
        // The probe failed: carry on polling.
        pausing = false;
        pollAgain();
        flush();
      }
      candidate.onerror = function onerror() { lost(new Error('Engine.IO WebSocket error')); };
      candidate.onclose = function onclose() { lost(null); };
    }

    socket.url = url('polling');
    socket.send = send;
    socket.close = function close(last) { shut(true, last); };

    poll = request('GET', socket.url, undefined, authorization, function handshake(err, text) {
      poll = null;
      // A handshake answered 4xx is a refusal (authorization, CORS): final, not an outage.
      if (err && err.status >= 400 && err.status < 500) err.refused = true;
      if (err) return fail(err);
      var packets = text.split('\x1e');
      var first = packets.shift();
      var info = null;
      try {
        if (first.charAt(0) === '0') info = JSON.parse(first.slice(1));
      } catch (e) {
        info = null;
      }
      if (!info || typeof info.sid !== 'string') {
        return fail(new Error('Engine.IO handshake failed: ' + first.slice(0, 200)));
      }
      sid = socket.id = info.sid;
      pingWindow = (+info.pingInterval || 0) + (+info.pingTimeout || 0);
      if (+info.maxPayload > 0) maxPayload = +info.maxPayload;
      socket.readyState = 'open';
      heartbeat();
      primus.emit('incoming::open');
      packets.forEach(receive);
      if (!live()) return;
      pollAgain();
      var upgrades = Array.isArray(info.upgrades) ? info.upgrades : [];
      if (!primus.AVOID_WEBSOCKETS && typeof WebSocket !== 'undefined' && upgrades.indexOf('websocket') !== -1) {
        upgrade();
      }
    });
    return socket;
  }

  primus.on('outgoing::open', function opening() {
    primus.emit('outgoing::end');
    current = connect();
    primus.socket = current;
  });

  primus.on('outgoing::data', function write(message) {
    if (!current) return;
    current.send(typeof message === 'string' ? '4' + message : bytesOf(message));
  });

  primus.on('outgoing::reconnect', function reconnect() {
    primus.emit('outgoing::open');
  });

  // `last`: text messages a layer above sends just before the goodbye (the core passes none).
  primus.on('outgoing::end', function end(last) {
    var socket = current;
    current = null;
    if (socket) socket.close(last);
  });
}
