/* The demo chat page's script (primus-demo): a chat on the browser client the server serves at
 * <pathname>/primus.js. It shows the connection state (reconnect countdown included), keeps what
 * is typed while the server is away and sends it once the client reconnects. The server fills
 * the page's data-pathname and data-transformer attributes. */
(function () {
  'use strict';
  var $ = function (id) { return document.getElementById(id); };
  var PATHNAME = document.body.getAttribute('data-pathname');
  var TRANSFORMER = document.body.getAttribute('data-transformer');
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
