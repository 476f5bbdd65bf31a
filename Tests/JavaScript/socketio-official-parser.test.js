'use strict';
// Our socket.io codec (transports/socket.io.js) against the official socket.io-parser (Debian's
// node-socket.io-parser 4.2, as .ci/run installs it): the same packets encode to the same text
// and attachments, and each side decodes the other's, binary included.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const { spawnSync } = require('node:child_process');

const OFFICIAL = '/usr/share/nodejs/socket.io-parser/package.json';

test('the codec and the official socket.io-parser agree on every packet type, both ways', () => {
  assert.ok(fs.existsSync(OFFICIAL), OFFICIAL + ' is missing: apt-get install node-socket.io-parser');
  const run = spawnSync(process.execPath, [path.join(__dirname, 'fixtures', 'socketio-official-parser.js')], {
    env: { ...process.env, NODE_PATH: '/usr/share/nodejs' },
    encoding: 'utf8',
  });
  assert.equal(run.status, 0, run.stderr);
  const results = JSON.parse(run.stdout);
  assert.equal(results.length, 13);
  for (const result of results) {
    const name = JSON.stringify(result.packet);
    assert.deepEqual(result.ours, result.official, 'the same encoding of ' + name);
    const expected = { type: result.packet.type, nsp: result.packet.nsp, id: result.packet.id, data: result.packet.data };
    // Attachments come back as bytes: the views and buffers sent compare as their bytes.
    assert.deepEqual(result.readByOfficial, JSON.parse(JSON.stringify(expected)), 'official reads ours: ' + name);
    assert.deepEqual(result.readByOurs, JSON.parse(JSON.stringify(expected)), 'ours reads official: ' + name);
  }
  assert.ok(results.some((r) => r.ours.length > 1), 'binary packets were among them');
});
