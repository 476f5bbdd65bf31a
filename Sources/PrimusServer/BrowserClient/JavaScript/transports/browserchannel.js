function browserchannel() {
  // The transport client of the `browserchannel` transformer: a small BrowserChannel (VER=8)
  // client over XMLHttpRequest, behind the same contract as transports/websockets.js. Spliced
  // into the library after core.js, so the core's helpers (`cacheBuster`) are in scope.
  //
  // - `POST <pathname>/bind?VER=8&RID=…` creates the session; its answer is the first chunk,
  //   whose array 0 is `["c", SID, hostPrefix, 8]`.
  // - The back channel `GET …/bind?RID=rpc&SID=…&CI=0&AID=…&TYPE=xmlhttp` streams chunks
  //   `<length>\n<json>\n` (the length in UTF-16 units, which is what a JavaScript string
  //   counts); when the server ends it, the next one opens at once, acknowledging (`AID`) the
  //   last array received, so re-sent arrays are skipped.
  // - Messages go as form-encoded maps (`count`, `ofs`, `req<i>__S`), one request at a time, so
  //   the server sees them in order.
  // - `["stop"]` or an answer `400` (Unknown SID) ends the connection (`incoming::end`); a failed
  //   request is `incoming::error` then `incoming::end`; `401`/`403` are refusals (`refused`).
  // - Closing on purpose sends `TYPE=terminate`, not waited for.
  // - BrowserChannel carries text only: binary messages are an error.
  var primus = this;
  var current = null;

  function noop() {}

  if (typeof XMLHttpRequest !== 'function' && typeof XMLHttpRequest !== 'object') {
    return primus.critical(new Error('No XMLHttpRequest: the browserchannel transport needs it'));
  }

  // One request. `progress(text)` gets the whole body so far as it grows (a streamed answer);
  // `done(err, text)` runs once at the end unless the request is aborted first.
  function request(method, url, body, progress, done) {
    var xhr = new XMLHttpRequest();
    var settled = false;
    function finish(err, text) {
      if (settled) return;
      settled = true;
      done(err, text);
    }
    xhr.open(method, url, true);
    xhr.withCredentials = true;
    if (body !== undefined) xhr.setRequestHeader('Content-Type', 'application/x-www-form-urlencoded');
    xhr.onprogress = function onprogress() {
      if (!settled && progress && xhr.status === 200) progress(xhr.responseText);
    };
    xhr.onload = function onload() {
      if (xhr.status === 200) {
        if (progress) progress(xhr.responseText);
        return finish(null, xhr.responseText);
      }
      var err = new Error('BrowserChannel ' + method + ' failed with HTTP ' + xhr.status +
        (xhr.responseText ? ': ' + String(xhr.responseText).slice(0, 200) : ''));
      err.status = xhr.status;
      err.body = xhr.responseText;
      if (xhr.status === 401 || xhr.status === 403) err.refused = true;
      finish(err);
    };
    xhr.onerror = function onerror() { finish(new Error('BrowserChannel ' + method + ' failed')); };
    xhr.send(body === undefined ? null : body);
    return {
      abort: function abort() {
        settled = true;
        try { xhr.abort(); } catch (e) { /* already done */ }
      }
    };
  }

  // Reads `<length>\n<json>\n` chunks out of a growing body; returns the parsed chunks that
  // were completed since the last call, or throws on a malformed one.
  function chunkReader() {
    var offset = 0;
    return function read(text) {
      var chunks = [];
      for (;;) {
        var newline = text.indexOf('\n', offset);
        if (newline === -1) break;
        var length = +text.slice(offset, newline);
        if (!(length > 0) || Math.floor(length) !== length) throw new Error('BrowserChannel: a bad chunk length');
        if (text.length < newline + 1 + length) break;
        chunks.push(JSON.parse(text.slice(newline + 1, newline + 1 + length)));
        offset = newline + 1 + length;
      }
      return chunks;
    };
  }

  function connect() {
    var address = primus.uri({ protocol: 'http:', query: true });
    var mark = address.indexOf('?');
    var base = mark === -1 ? address : address.slice(0, mark);
    var query = mark === -1 ? '' : address.slice(mark + 1);
    if (base.charAt(base.length - 1) === '/') base = base.slice(0, -1);
    base += '/bind';

    var socket = { id: null, url: '', transport: 'browserchannel', readyState: 'opening' };
    var sid = null;
    var rid = Math.floor(Math.random() * 100000);
    var lastArrayId = -1;
    var ofs = 0;
    var queue = [];   // messages waiting for the forward channel
    var sending = 0;  // how many the forward request under way carries
    var back = null;
    var forward = null;

    function url(params) {
      return base + '?' + (query ? query + '&' : '') + 'VER=8&' + params + '&zx=' + cacheBuster() + '&t=1';
    }

    function live() {
      return current === socket && socket.readyState !== 'closed';
    }

    function shut(notify) {
      if (socket.readyState === 'closed') return;
      var wasOpen = socket.readyState === 'open';
      socket.readyState = 'closed';
      if (notify && wasOpen && sid) {
        request('GET', url('SID=' + encodeURIComponent(sid) + '&RID=' + (rid++) + '&AID=' + lastArrayId + '&TYPE=terminate'), undefined, null, noop);
      }
      if (back) back.abort();
      if (forward) forward.abort();
      back = forward = null;
      queue.length = 0;
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

    // Arrays of one chunk: `[id, data]`; ids seen already were re-sent and are skipped.
    function receive(chunk) {
      for (var i = 0; i < chunk.length && live(); i++) {
        var array = chunk[i];
        if (!array || typeof array[0] !== 'number' || array[0] <= lastArrayId) continue;
        lastArrayId = array[0];
        var data = array[1];
        if (typeof data === 'string') primus.emit('incoming::data', data);
        else if (data && data[0] === 'stop') finish();
        // `["c", …]` and `["noop"]` carry no message.
      }
    }

    function openBackChannel() {
      if (!live()) return;
      var read = chunkReader();
      back = request('GET', url('RID=rpc&SID=' + encodeURIComponent(sid) + '&CI=0&AID=' + lastArrayId + '&TYPE=xmlhttp'), undefined,
        function progress(text) {
          try {
            read(text).forEach(receive);
          } catch (e) {
            fail(e);
          }
        },
        function ended(err) {
          back = null;
          if (err && err.status === 400) return finish(); // Unknown SID: the session is gone
          if (err) return fail(err);
          openBackChannel();
        });
    }

    function flush() {
      if (!live() || !sid || forward || !queue.length) return;
      sending = Math.min(queue.length, 1000);
      var body = 'count=' + sending + '&ofs=' + ofs;
      for (var i = 0; i < sending; i++) body += '&req' + i + '__S=' + encodeURIComponent(queue[i]);
      forward = request('POST', url('SID=' + encodeURIComponent(sid) + '&RID=' + (rid++) + '&AID=' + lastArrayId), body, null,
        function sent(err) {
          forward = null;
          if (err && err.status === 400 && /Unknown SID/.test(err.body || '')) return finish();
          if (err) return fail(err);
          queue.splice(0, sending);
          ofs += sending;
          sending = 0;
          flush();
        });
    }

    function send(message) {
      if (!live()) return;
      if (typeof message !== 'string') return fail(new Error('BrowserChannel carries text only'));
      queue.push(message);
      flush();
    }

    socket.url = url('RID=' + rid + '&CVER=1');
    socket.send = send;
    socket.close = function close() { shut(true); };

    forward = request('POST', socket.url, 'count=0', null, function created(err, text) {
      forward = null;
      rid++;
      // A creation answered 4xx is a refusal (authorization, CORS): final, not an outage.
      if (err && err.status >= 400 && err.status < 500) err.refused = true;
      if (err) return fail(err);
      var chunks;
      try {
        chunks = chunkReader()(text);
      } catch (e) {
        chunks = [];
      }
      var first = chunks.length && chunks[0][0];
      if (!first || first[0] !== 0 || !first[1] || first[1][0] !== 'c' || typeof first[1][1] !== 'string') {
        return fail(new Error('BrowserChannel: the session was not created: ' + String(text).slice(0, 200)));
      }
      sid = socket.id = first[1][1];
      socket.readyState = 'open';
      primus.emit('incoming::open');
      chunks.forEach(receive);
      if (!live()) return;
      openBackChannel();
      flush();
    });
    return socket;
  }

  primus.on('outgoing::open', function opening() {
    primus.emit('outgoing::end');
    current = connect();
    primus.socket = current;
  });

  primus.on('outgoing::data', function write(message) {
    if (current) current.send(message);
  });

  primus.on('outgoing::reconnect', function reconnect() {
    primus.emit('outgoing::open');
  });

  primus.on('outgoing::end', function end() {
    var socket = current;
    current = null;
    if (socket) socket.close();
  });
}
