'use strict';
// The raw Node `ws` peer of primus-bench (Benchmarks/README.md): a WebSocket server with no
// Primus layer, started by primus-bench as `node ws-server.js <echo|fanout>`.
//
// - echo:   every data message goes back to its sender as it came (text stays text).
// - fanout: every data message goes to every open connection, the sender included.
//
// It listens on a free port on 127.0.0.1, prints `PORT <n>` (as the Swift servers do), and exits
// when its standard input closes, so it never outlives the benchmark. When the `ws` module cannot
// be found it prints `MISSING <why>` and exits with status 3: primus-bench then reports the ws
// column as "not installed" instead of failing.

const path = require('path');

// Debian's node-ws installs the module for /usr/bin/node under /usr/share/nodejs; a Node that is
// not Debian's may not search there, so the known places are tried after the normal lookup.
function loadWs() {
  const candidates = [
    'ws',
    '/usr/share/nodejs/ws',
    '/usr/lib/nodejs/ws',
    '/usr/local/lib/node_modules/ws',
    path.join(__dirname, 'node_modules', 'ws'),
  ];
  for (const candidate of candidates) {
    try {
      return require(candidate);
    } catch (error) {
      if (error.code !== 'MODULE_NOT_FOUND') throw error;
    }
  }
  return null;
}

const mode = process.argv[2] || 'echo';
if (mode !== 'echo' && mode !== 'fanout') {
  process.stderr.write(`ws-server.js: unknown mode ${mode} (echo or fanout)\n`);
  process.exit(2);
}

const ws = loadWs();
if (ws === null) {
  process.stdout.write('MISSING the ws module (apt-get install node-ws)\n');
  process.exit(3);
}
const WebSocketServer = ws.WebSocketServer || ws.Server;

// The same limit as the Swift servers (Primus's default maxLength, 10 MiB); no compression,
// as in the other servers.
const server = new WebSocketServer({
  host: '127.0.0.1',
  port: 0,
  backlog: 1024,
  maxPayload: 10 * 1024 * 1024,
  perMessageDeflate: false,
  clientTracking: true,
});

server.on('connection', (socket) => {
  socket.on('error', () => socket.terminate());
  if (mode === 'echo') {
    socket.on('message', (data, isBinary) => socket.send(data, { binary: isBinary }));
  } else {
    socket.on('message', (data, isBinary) => {
      server.clients.forEach((client) => {
        if (client.readyState === ws.OPEN) client.send(data, { binary: isBinary });
      });
    });
  }
});

server.on('listening', () => {
  process.stdout.write(`PORT ${server.address().port}\n`);
});

server.on('error', (error) => {
  process.stderr.write(`ws-server.js: ${error.message}\n`);
  process.exit(1);
});

// The parent holds our standard input; when it goes away, so do we.
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.resume();
