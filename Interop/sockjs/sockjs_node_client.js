'use strict';
// Drives the official sockjs-client (Debian's node-sockjs-client) against a server, for the
// interop tests: connects with one transport, sends each message of a list, and prints one JSON
// line per event on stdout ({"event":"open","transport":...}, {"event":"message","data":...},
// {"event":"close","code":...,"reason":...}). It exits when the server closes the connection,
// after --close-after messages have arrived (then it closes itself), or after --timeout ms.
//
// Usage: NODE_PATH=/usr/share/nodejs node sockjs_node_client.js URL TRANSPORT JSON_LIST_OF_MESSAGES [CLOSE_AFTER] [TIMEOUT_MS]

var SockJS = require('sockjs-client');

var url = process.argv[2];
var transport = process.argv[3];
var messages = JSON.parse(process.argv[4] || '[]');
var closeAfter = parseInt(process.argv[5] || '-1', 10);
var timeout = parseInt(process.argv[6] || '15000', 10);

function emit(record) {
  process.stdout.write(JSON.stringify(record) + '\n');
}

var timer = setTimeout(function () {
  emit({ event: 'timeout' });
  process.exit(2);
}, timeout);

var socket = new SockJS(url, null, { transports: [transport] });
var received = 0;

socket.onopen = function () {
  emit({ event: 'open', transport: socket.transport });
  messages.forEach(function (message) { socket.send(message); });
  if (closeAfter === 0) socket.close();
};

socket.onmessage = function (event) {
  emit({ event: 'message', data: event.data });
  received += 1;
  if (closeAfter > 0 && received >= closeAfter) socket.close();
};

socket.onclose = function (event) {
  emit({ event: 'close', code: event.code, reason: event.reason });
  clearTimeout(timer);
  setTimeout(function () { process.exit(0); }, 50);
};
