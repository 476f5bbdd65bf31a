'use strict';
// Every browser codec in parsers/ keeps the contract the library relies on: the file is one
// expression evaluating to { encoder, decoder }, each calling fn(err, result) exactly once and
// synchronously, and plain JSON values survive encoder → decoder unchanged.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const folder = path.join(__dirname, '..', '..', '..', 'Sources', 'PrimusServer', 'BrowserClient', 'JavaScript', 'parsers');
const files = fs.readdirSync(folder).filter((name) => name.endsWith('.js')).sort();

const values = [
  'primus::ping::1700000000000',
  'primus::server::close',
  '',
  'Ж€😀 \u2028',
  0,
  -1.5,
  123456789,
  true,
  false,
  null,
  [],
  {},
  [1, 'two', [3, [4]], { five: 5 }],
  { nested: { list: [null, true, 'x'], number: 0.25 }, text: 'a"b\\c\n' },
];

function once(fn, data) {
  const calls = [];
  fn.call({}, data, (err, result) => calls.push([err, result]));
  assert.equal(calls.length, 1, 'fn must be called exactly once, synchronously');
  return calls[0];
}

test('the parsers folder has the json codec', () => {
  assert.ok(files.includes('json.js'), files.join(', '));
});

for (const name of files) {
  test(`parsers/${name}: one expression evaluating to { encoder, decoder } that round-trips JSON values`, () => {
    const source = fs.readFileSync(path.join(folder, name), 'utf8');
    // Spliced by the server as `var codec = (\n<file>\n);`: it must parse that way too.
    const codec = vm.runInThisContext('(\n' + source.replace(/\s*;?\s*$/, '') + '\n)', { filename: name });
    assert.equal(typeof codec.encoder, 'function');
    assert.equal(typeof codec.decoder, 'function');
    for (const value of values) {
      const [encodeError, packet] = once(codec.encoder, value);
      assert.ok(!encodeError, `${name} could not encode ${JSON.stringify(value)}: ${encodeError}`);
      const [decodeError, decoded] = once(codec.decoder, packet);
      assert.ok(!decodeError, `${name} could not decode ${JSON.stringify(value)}: ${decodeError}`);
      assert.deepEqual(decoded, value);
    }
  });
}
