import PrimusCore

/// The demo's web page: a chat on the browser client the server serves at `<pathname>/primus.js`.
/// It shows the connection state (reconnect countdown included), keeps what is typed while the
/// server is away and sends it once the client reconnects (a restarted server included).
enum DemoPage {
    static func html(pathname: String, transformer: String) -> String {
        let pathnameJSON = scriptSafe(JSONValue.string(pathname).description)
        let transformerJSON = scriptSafe(JSONValue.string(transformer).description)
        let scriptURL = escapeHTML(pathname + "/primus.js")
        return #"""
        <!doctype html>
        <html lang="en">
        <head>
        <meta charset="utf-8">
        <meta name="viewport" content="width=device-width, initial-scale=1">
        <title>swift-primus chat</title>
        <style>
          :root { --ok: #0a7d32; --warn: #b26a00; --bad: #b3261e; --line: #e3e3e3; }
          body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 44rem; margin: 1.5rem auto; padding: 0 1rem; color: #1d1d1f; }
          h1 { font-size: 1.4rem; margin: 0 0 .25rem; }
          .meta { color: #555; margin: 0 0 .75rem; }
          code { background: #f4f4f6; padding: 1px 5px; border-radius: 4px; }
          #status { display: inline-flex; align-items: center; gap: .4rem; font-weight: 600; padding: .15rem .6rem; border-radius: 999px; background: #f4f4f6; }
          #status::before { content: ""; width: .6rem; height: .6rem; border-radius: 50%; background: currentColor; }
          #status.open { color: var(--ok); } #status.reconnecting, #status.connecting { color: var(--warn); } #status.closed, #status.offline { color: var(--bad); }
          #reopen { margin-left: .5rem; display: none; }
          #log { border: 1px solid var(--line); border-radius: 8px; height: 22rem; overflow-y: auto; padding: .5rem .75rem; margin: .75rem 0 .5rem; }
          .msg { padding: .3rem 0; border-bottom: 1px solid #f2f2f2; }
          .msg .who { font-weight: 600; margin-right: .4rem; }
          .msg .at { color: #888; font-size: .8rem; margin-left: .4rem; }
          .msg.pending { color: #888; font-style: italic; }
          .msg.pending .at::after { content: " · waiting for the server"; }
          .sys { color: #777; font-size: .85rem; padding: .2rem 0; }
          form { display: flex; gap: .5rem; }
          #name { width: 8rem; } #text { flex: 1; }
          input, button { font: inherit; padding: .45rem .6rem; border: 1px solid #ccc; border-radius: 6px; }
          button { background: #1d1d1f; color: white; border-color: #1d1d1f; cursor: pointer; }
          details { margin-top: 1rem; color: #555; }
        </style>
        </head>
        <body>
        <h1>swift-primus chat</h1>
        <p class="meta">Transformer <code id="transformer"></code> at <code id="pathname"></code>,
          client <code>\#(scriptURL)</code>.
          <span id="status" class="connecting">connecting</span><button id="reopen" type="button">Reconnect</button></p>
        <div id="log" aria-live="polite"></div>
        <form id="form" autocomplete="off">
          <input id="name" placeholder="Your name" maxlength="24">
          <input id="text" placeholder="Say something (it is kept while offline)" maxlength="500">
          <button id="send">Send</button>
        </form>
        <details><summary>How this works</summary>
          <p>The page loads the browser client compiled by this server from <code>\#(scriptURL)</code>
          and calls <code>new Primus()</code>. Messages written while the connection is down are
          buffered by the client and sent, once, after it reconnects; stop and restart
          <code>primus-demo</code> to see it. The server broadcasts every message to every page.
          Run the demo with <code>--transformer NAME</code> to pick the transformer
          (this build: <code id="transformers"></code>).</p>
        </details>
        <script src="\#(scriptURL)"></script>
        <script>
        (function () {
          'use strict';
          var PATHNAME = \#(pathnameJSON), TRANSFORMER = \#(transformerJSON);
          var $ = function (id) { return document.getElementById(id); };
          $('transformer').textContent = TRANSFORMER;
          $('pathname').textContent = PATHNAME;
          $('transformers').textContent = TRANSFORMER;

          var log = $('log'), status = $('status'), reopen = $('reopen');
          var nameInput = $('name'), textInput = $('text');
          var pending = {};                       // id -> element, until the server echoes it
          var countdown = null;
          nameInput.value = localStorage.getItem('primus-demo-name') || ('guest-' + Math.floor(Math.random() * 1000));

          function scrollDown() { log.scrollTop = log.scrollHeight; }
          function system(text) {
            var div = document.createElement('div');
            div.className = 'sys'; div.textContent = text;
            log.appendChild(div); scrollDown();
          }
          function render(message, isPending) {
            var div = document.createElement('div');
            div.className = 'msg' + (isPending ? ' pending' : '');
            var who = document.createElement('span'); who.className = 'who'; who.textContent = String(message.name || 'anonymous');
            var text = document.createElement('span'); text.className = 'text'; text.textContent = String(message.text);
            var at = document.createElement('span'); at.className = 'at';
            at.textContent = new Date(message.at || Date.now()).toLocaleTimeString();
            div.appendChild(who); div.appendChild(text); div.appendChild(at);
            log.appendChild(div); scrollDown();
            return div;
          }
          function setStatus(kind, text) {
            clearInterval(countdown); countdown = null;
            status.className = kind; status.textContent = text;
            status.setAttribute('data-state', kind);
            reopen.style.display = kind === 'closed' ? 'inline-block' : 'none';
          }

          var primus = new Primus({ reconnect: { min: 500, max: 5000, retries: Infinity } });
          window.primus = primus;

          primus.on('open', function () { setStatus('open', 'connected'); });
          primus.on('reconnect scheduled', function (opts) {
            var due = Date.now() + opts.scheduled;
            var tick = function () {
              var left = Math.max(0, Math.ceil((due - Date.now()) / 1000));
              status.textContent = 'reconnecting in ' + left + ' s (attempt ' + opts.attempt + ')';
            };
            setStatus('reconnecting', ''); tick();
            countdown = setInterval(tick, 250);
          });
          primus.on('reconnect', function (opts) { setStatus('reconnecting', 'reconnecting (attempt ' + opts.attempt + ')'); });
          primus.on('reconnected', function (opts) { system('reconnected after ' + (opts.duration / 1000).toFixed(1) + ' s'); });
          primus.on('close', function () { system('connection lost'); });
          primus.on('offline', function () { setStatus('offline', 'offline'); });
          primus.on('online', function () { if (primus.readyState !== Primus.OPEN) setStatus('connecting', 'back online'); });
          primus.on('end', function () { setStatus('closed', 'disconnected'); });
          primus.on('data', function (message) {
            if (!message || typeof message !== 'object' || !('text' in message)) return;
            var mine = message.id && pending[message.id];
            if (mine) {
              mine.classList.remove('pending');
              delete pending[message.id];
              return;
            }
            render(message, false);
          });
          reopen.onclick = function () { setStatus('connecting', 'connecting'); primus.open(); };

          $('form').onsubmit = function (event) {
            event.preventDefault();
            var text = textInput.value.trim();
            if (!text) return;
            var name = nameInput.value.trim() || 'anonymous';
            localStorage.setItem('primus-demo-name', name);
            var message = { id: Date.now().toString(36) + Math.random().toString(36).slice(2, 8), name: name, text: text, at: Date.now() };
            pending[message.id] = render(message, true);
            primus.write(message);                // buffered by the client while not connected
            textInput.value = '';
            textInput.focus();
          };
        })();
        </script>
        </body>
        </html>
        """#
    }

    /// JSON for inside a `<script>` element: no `</` that could end it.
    private static func scriptSafe(_ json: String) -> String {
        var out = ""
        var previous: Character = " "
        for character in json {
            if character == "/" && previous == "<" { out += "\\/" } else { out.append(character) }
            previous = character
        }
        return out
    }

    private static func escapeHTML(_ text: String) -> String {
        var out = ""
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }
}
