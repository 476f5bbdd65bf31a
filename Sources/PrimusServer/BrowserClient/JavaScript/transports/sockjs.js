function sockjs() {
  // The transport client of the `sockjs` transformer: a small SockJS 0.3 client behind the same
  // contract as transports/websockets.js (`outgoing::open|data|reconnect|end` in,
  // `incoming::open|data|error|end` out). Spliced into the library after core.js, so the core's
  // helpers (`cacheBuster`) are in scope.
  //
  // - `GET <pathname>/info` first: `"websocket": false` there (or the client's `websockets:
  //   false`) leaves the WebSocket out.
  // - Then one transport after the other until one opens (its `o` frame), each on a fresh
  //   session `<pathname>/<server>/<session>/<transport>`: websocket, xhr-streaming (`POST
  //   xhr_streaming`), eventsource, xhr-polling (`POST xhr`). The HTTP ones send with `POST
  //   xhr_send`, one request at a time, the messages queued meanwhile going in the next one.
  // - Frames: `o` opens, `h` (and the streaming prelude of `h`s) is ignored, `a[...]` carries
  //   Primus messages (each the parser's string), `c[code,reason]` ends the connection; a code
  //   above 1000 is an error first, as Primus's own client has it.
  // - A streaming response the server ended is followed by a new one on the same session; one
  //   that fails is the end of the connection (`incoming::error`, `incoming::end`), and the core
  //   reconnects, from `/info` again.
  // - Bounds: a transport that does not open within OPEN_TIMEOUT gives way to the next; a
  //   streaming response longer than STREAM_LIMIT characters is a failure, so a server that
  //   never ends one cannot grow the page's memory without bound.
  var primus = this;
  var current = null;
  var OPEN_TIMEOUT = 3000;
  var INFO_TIMEOUT = 10000;
  var STREAM_LIMIT = 16 * 1024 * 1024;

  function noop() {}

  if (typeof XMLHttpRequest === 'undefined') {
    return primus.critical(new Error('No XMLHttpRequest implementation: the sockjs transport needs one'));
  }

  // `Basic base64(user:password)` of the URL's credentials (UTF-8), or '' without any.
  function basicAuthorization(auth) {
    if (!auth) return '';
    return 'Basic ' + btoa(unescape(encodeURIComponent(auth)));
  }

  function randomString(length, alphabet) {
    var out = '';
    for (var i = 0; i < length; i++) out += alphabet.charAt(Math.floor(Math.random() * alphabet.length));
    return out;
  }

  // One XMLHttpRequest. `progress(text)` (optional) sees the response text as it grows;
  // `done(err, text)` runs once, unless the request is aborted first. A status other than 2xx is
  // an error with `status` and `body`; 401 and 403 are marked `refused`.
  function request(method, url, body, authorization, progress, done) {
    var xhr = new XMLHttpRequest();
    var settled = false;
    function finish(err, text) {
      if (settled) return;
      settled = true;
      xhr.onreadystatechange = xhr.onerror = noop;
      done(err, text);
    }
    try {
      xhr.open(method, url, true);
      xhr.withCredentials = true;
      if (authorization) xhr.setRequestHeader('Authorization', authorization);
      if (body !== undefined) xhr.setRequestHeader('Content-Type', 'text/plain;charset=UTF-8');
    } catch (e) {
      setTimeout(function later() { finish(e); }, 0);
      return { abort: function abort() { settled = true; } };
    }
    xhr.onreadystatechange = function changed() {
      if (settled) return;
      if (xhr.readyState === 3 && progress && xhr.status === 200) {
        var partial = '';
        try { partial = xhr.responseText; } catch (e) { partial = ''; }
        progress(partial);
      }
      if (xhr.readyState !== 4) return;
      var text = xhr.responseText || '';
      if (xhr.status >= 200 && xhr.status < 300) {
        if (progress) progress(text);
        return finish(null, text);
      }
      var err = new Error('SockJS ' + method + ' failed' + (xhr.status ? ' with HTTP ' + xhr.status : ''));
      err.status = xhr.status;
      err.body = text;
      if (xhr.status === 401 || xhr.status === 403) err.refused = true;
      finish(err);
    };
    xhr.onerror = function failed() { finish(new Error('SockJS ' + method + ' failed: network error')); };
    try {
      xhr.send(body === undefined ? null : body);
    } catch (e) {
      setTimeout(function later() { finish(e); }, 0);
    }
    return {
      abort: function abort() {
        if (settled) return;
        settled = true;
        xhr.onreadystatechange = xhr.onerror = noop;
        try { xhr.abort(); } catch (e) { /* already done */ }
      }
    };
  }

  function connect() {
    var address = primus.uri({ protocol: 'http:', query: true });
    // Credentials leave the URL for a header on XHRs; WebSocket keeps them in its URL.
    var credentials = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i.exec(address);
    var authorization = credentials ? basicAuthorization(credentials[2]) : '';
    if (credentials) address = credentials[1] + address.slice(credentials[0].length);
    var mark = address.indexOf('?');
    var base = mark === -1 ? address : address.slice(0, mark);
    var query = mark === -1 ? '' : address.slice(mark + 1);
    if (base.charAt(base.length - 1) === '/') base = base.slice(0, -1);
    var wsBase = base.replace(/^http/, 'ws');
    if (credentials) wsBase = wsBase.replace(/^wss?:\/\//, function scheme(prefix) { return prefix + credentials[2] + '@'; });

    var socket = { id: null, url: '', transport: null, readyState: 'opening' };
    var candidates = [];
    var session = '';       // `<server>/<session>` of the transport being tried or used
    var attempt = null;     // the transport being tried or used: { stop: function () }
    var openTimer = null;
    var info = null;        // the /info request
    var sending = null;     // the outstanding xhr_send
    var queue = [];         // messages waiting for the next xhr_send

    function live() {
      return current === socket && socket.readyState !== 'closed';
    }

    function url(root, path, bust) {
      var search = query;
      if (bust) search += (search ? '&' : '') + 't=' + cacheBuster();
      return root + path + (search ? '?' + search : '');
    }

    function shut() {
      if (socket.readyState === 'closed') return;
      socket.readyState = 'closed';
      clearTimeout(openTimer);
      if (info) info.abort();
      if (sending) sending.abort();
      info = sending = null;
      queue.length = 0;
      if (attempt) attempt.stop();
      attempt = null;
    }

    function finish() {
      if (!live()) return;
      shut();
      primus.emit('incoming::end');
    }

    function fail(err) {
      if (!live()) return;
      shut();
      primus.emit('incoming::error', err);
      primus.emit('incoming::end');
    }

    // The transport being tried did not open: the next one, or the end.
    function fallBack(err) {
      if (!live() || socket.readyState !== 'opening') return;
      clearTimeout(openTimer);
      if (attempt) attempt.stop();
      attempt = null;
      if (err && err.refused) return fail(err);
      if (!candidates.length) {
        return fail(err || new Error('SockJS: no transport could connect'));
      }
      start(candidates.shift());
    }

    // One frame from the server, the same on every transport.
    function frame(text) {
      if (!live() || !text) return;
      var type = text.charAt(0);
      if (type === 'o') {
        if (socket.readyState !== 'opening') return;
        clearTimeout(openTimer);
        socket.readyState = 'open';
        primus.emit('incoming::open');
        return;
      }
      if (type === 'h') return;
      var payload;
      try {
        payload = JSON.parse(text.slice(1));
      } catch (e) {
        return fail(new Error('SockJS: a frame that is not JSON: ' + text.slice(0, 100)));
      }
      if (type === 'a' && Array.isArray(payload)) {
        for (var i = 0; i < payload.length && live(); i++) {
          if (typeof payload[i] === 'string') primus.emit('incoming::data', payload[i]);
        }
        return;
      }
      if (type === 'c' && Array.isArray(payload)) {
        var code = +payload[0];
        if (socket.readyState === 'opening') return fallBack(new Error('SockJS: closed before open: ' + payload[1]));
        if (code > 1000) {
          var err = new Error('SockJS closed the connection: ' + code + ' ' + payload[1]);
          err.code = code;
          err.reason = payload[1];
          return fail(err);
        }
        return finish();
      }
      fail(new Error('SockJS: an unknown frame: ' + text.slice(0, 100)));
    }

    // The frames of newline-separated text; returns how much of it was used.
    function lines(text, from) {
      var end;
      while (live() && (end = text.indexOf('\n', from)) !== -1) {
        frame(text.slice(from, end));
        from = end + 1;
      }
      return from;
    }

    function flush() {
      if (!live() || sending || !queue.length || socket.transport === 'websocket') return;
      var body = JSON.stringify(queue.splice(0, queue.length));
      sending = request('POST', url(base, '/' + session + '/xhr_send', false), body, authorization, null, function sent(err) {
        sending = null;
        if (err) return fail(err);
        flush();
      });
    }

    var transports = {
      websocket: function websocket() {
        var ws;
        try {
          ws = new WebSocket(url(wsBase, '/' + session + '/websocket', false));
        } catch (e) {
          setTimeout(function later() { fallBack(e); }, 0);
          return { stop: noop };
        }
        ws.onmessage = function onmessage(event) { frame(String(event.data)); };
        function lost(err) {
          ws.onopen = ws.onmessage = ws.onerror = ws.onclose = noop;
          if (socket.readyState === 'opening') return fallBack(err || new Error('SockJS: the WebSocket closed before open'));
          if (err) return fail(err);
          finish();
        }
        ws.onerror = function onerror() { lost(new Error('SockJS WebSocket error')); };
        ws.onclose = function onclose() { lost(null); };
        return {
          send: function send(message) {
            try { ws.send(JSON.stringify([message])); } catch (e) { fail(e); }
          },
          stop: function stop() {
            ws.onopen = ws.onmessage = ws.onerror = ws.onclose = noop;
            try { ws.close(); } catch (e) { /* already closing */ }
          }
        };
      },

      'xhr-streaming': function streaming() {
        var receiver = null;
        function receive() {
          var used = 0;
          receiver = request('POST', url(base, '/' + session + '/xhr_streaming', true), undefined, authorization,
            function progress(text) {
              used = lines(text, used);
              if (text.length > STREAM_LIMIT) {
                receiver.abort();
                fail(new Error('SockJS: a streaming response longer than ' + STREAM_LIMIT + ' characters'));
              }
            },
            function done(err) {
              receiver = null;
              if (err) return socket.readyState === 'opening' ? fallBack(err) : fail(err);
              if (live()) receive();
            });
        }
        receive();
        return { stop: function stop() { if (receiver) receiver.abort(); } };
      },

      eventsource: function eventsource() {
        if (typeof EventSource === 'undefined') {
          setTimeout(function later() { fallBack(new Error('SockJS: no EventSource')); }, 0);
          return { stop: noop };
        }
        var source = null;
        function receive() {
          var opened = false;
          var es = source = new EventSource(url(base, '/' + session + '/eventsource', true));
          es.onopen = function onopen() { opened = true; };
          es.onmessage = function onmessage(event) { frame(String(event.data)); };
          es.onerror = function onerror() {
            es.onopen = es.onmessage = es.onerror = null;
            es.close();
            if (source !== es) return;
            source = null;
            // A stream the server ended (its response limit) is followed by a new one; one
            // that could not be had at all is a failure.
            if (opened) return live() && receive();
            var err = new Error('SockJS EventSource failed');
            return socket.readyState === 'opening' ? fallBack(err) : fail(err);
          };
        }
        receive();
        return {
          stop: function stop() {
            if (!source) return;
            source.onopen = source.onmessage = source.onerror = null;
            source.close();
            source = null;
          }
        };
      },

      'xhr-polling': function polling() {
        var poll = null;
        function receive() {
          poll = request('POST', url(base, '/' + session + '/xhr', true), undefined, authorization, null, function done(err, text) {
            poll = null;
            if (err) return socket.readyState === 'opening' ? fallBack(err) : fail(err);
            lines(text.charAt(text.length - 1) === '\n' ? text : text + '\n', 0);
            if (live()) receive();
          });
        }
        receive();
        return { stop: function stop() { if (poll) poll.abort(); } };
      }
    };

    function start(name) {
      session = randomString(3, '0123456789') + '/' + randomString(8, 'abcdefghijklmnopqrstuvwxyz012345');
      socket.transport = name;
      socket.id = session.split('/')[1];
      socket.url = (name === 'websocket' ? wsBase : base) + '/' + session;
      clearTimeout(openTimer);
      openTimer = setTimeout(function slow() { fallBack(new Error('SockJS: ' + name + ' did not open in time')); }, OPEN_TIMEOUT);
      attempt = transports[name]();
    }

    socket.send = function send(message) {
      if (!live() || socket.readyState !== 'open') return;
      if (socket.transport === 'websocket') return attempt.send(message);
      queue.push(message);
      flush();
    };
    socket.close = function close() { shut(); };

    var infoTimer = setTimeout(function slow() {
      if (info) info.abort();
      info = null;
      fail(new Error('SockJS: no answer from ' + base + '/info'));
    }, INFO_TIMEOUT);
    info = request('GET', url(base, '/info', true), undefined, authorization, null, function answered(err, text) {
      info = null;
      clearTimeout(infoTimer);
      // /info answered 4xx is a refusal (authorization, CORS): final, not an outage.
      if (err && err.status >= 400 && err.status < 500) err.refused = true;
      if (err) return fail(err);
      var details = null;
      try { details = JSON.parse(text); } catch (e) { details = null; }
      if (!details || typeof details !== 'object') return fail(new Error('SockJS: /info is not JSON: ' + text.slice(0, 100)));
      var webSocket = details.websocket !== false && !primus.AVOID_WEBSOCKETS && typeof WebSocket !== 'undefined';
      candidates = (webSocket ? ['websocket'] : []).concat(['xhr-streaming', 'eventsource', 'xhr-polling']);
      // SockJS's own option, as Primus passes it: `new Primus(url, { transport: { transports:
      // ['xhr-polling'] } })` keeps to those.
      var only = primus.transport && primus.transport.transports;
      if (only) {
        only = [].concat(only);
        candidates = candidates.filter(function allowed(name) { return only.indexOf(name) !== -1; });
      }
      fallBack(null);
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
    current.send(typeof message === 'string' ? message : String(message));
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
