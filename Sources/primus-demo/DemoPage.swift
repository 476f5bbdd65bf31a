import PrimusCore

/// The demo's web page: a chat over a raw WebSocket that speaks the Primus protocol by hand
/// (JSON-encoded `primus::` strings, pings answered), until the browser client library lands.
enum DemoPage {
    static func html(pathname: String, transformer: String) -> String {
        """
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <title>swift-primus demo</title>
        <style>
          body { font: 15px/1.4 system-ui, sans-serif; max-width: 40rem; margin: 2rem auto; color: #222; }
          #log { border: 1px solid #ccc; border-radius: 6px; height: 20rem; overflow-y: auto; padding: .5rem; }
          #log div { padding: 2px 0; border-bottom: 1px solid #f0f0f0; }
          form { display: flex; gap: .5rem; margin-top: .5rem; }
          input { flex: 1; padding: .4rem; }
          .state { font-weight: bold; }
          .open { color: #0a0; } .closed { color: #a00; }
        </style>
        </head>
        <body>
        <h1>swift-primus chat</h1>
        <p>Transformer <code>\(transformer)</code> at <code>\(pathname)</code>.
           State: <span id="state" class="state closed">connecting</span></p>
        <div id="log"></div>
        <form id="form"><input id="input" autocomplete="off" placeholder="Say something"><button>Send</button></form>
        <script>
        (function () {
          var pathname = \(JSONValue.string(pathname).description);
          var log = document.getElementById('log'), state = document.getElementById('state');
          var queue = [], socket = null, delay = 500;
          function show(text) { var d = document.createElement('div'); d.textContent = text; log.appendChild(d); log.scrollTop = log.scrollHeight; }
          function setState(s) { state.textContent = s; state.className = 'state ' + (s === 'open' ? 'open' : 'closed'); }
          function connect() {
            var url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + pathname;
            socket = new WebSocket(url);
            socket.onopen = function () { setState('open'); delay = 500; while (queue.length) socket.send(queue.shift()); };
            socket.onmessage = function (event) {
              var data = JSON.parse(event.data);
              if (typeof data === 'string' && data.indexOf('primus::ping::') === 0) {
                socket.send(JSON.stringify('primus::pong::' + data.slice(14))); return;
              }
              if (data === 'primus::server::close') { setState('ended'); return; }
              show(typeof data === 'string' ? data : JSON.stringify(data));
            };
            socket.onclose = function () { setState('reconnecting'); setTimeout(connect, delay); delay = Math.min(delay * 2, 10000); };
          }
          document.getElementById('form').onsubmit = function (event) {
            event.preventDefault();
            var input = document.getElementById('input'); if (!input.value) return;
            var text = JSON.stringify(input.value); input.value = '';
            if (socket && socket.readyState === 1) socket.send(text); else queue.push(text);
          };
          connect();
        })();
        </script>
        </body>
        </html>
        """
    }
}
