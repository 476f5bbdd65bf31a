'use strict';
// The json parser's browser codec (parsers/json.js), loaded as the contract says: one expression
// evaluating to { encoder, decoder }.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const file = path.join(__dirname, '..', '..', '..', 'Sources', 'PrimusServer', 'BrowserClient', 'JavaScript', 'parsers', 'json.js');
const codec = vm.runInThisContext(fs.readFileSync(file, 'utf8'), { filename: file });

// Runs one side of the codec, checking it calls back exactly once and synchronously.
function run(side, data) {
  const calls = [];
  codec[side].call({}, data, (err, result) => calls.push({ err, result }));
  assert.equal(calls.length, 1, `${side} must call fn exactly once, synchronously`);
  return calls[0];
}

test('encodes values as JSON text', () => {
  assert.deepEqual(run('encoder', { a: [1, 'two', null, true] }), { err: undefined, result: '{"a":[1,"two",null,true]}' });
  assert.deepEqual(run('encoder', 'primus::ping::1'), { err: undefined, result: '"primus::ping::1"' });
  assert.deepEqual(run('encoder', 1.5), { err: undefined, result: '1.5' });
  assert.deepEqual(run('encoder', 'Ж€😀'), { err: undefined, result: '"Ж€😀"' });
});

test('decodes JSON text', () => {
  assert.deepEqual(run('decoder', '{"a":[1,"two",null,true]}'), { err: undefined, result: { a: [1, 'two', null, true] } });
  assert.deepEqual(run('decoder', '"primus::pong::1"'), { err: undefined, result: 'primus::pong::1' });
  assert.deepEqual(run('decoder', '"\\u2028"'), { err: undefined, result: '\u2028' });
});

test('round-trips nested values', () => {
  const value = { list: [{ deep: [[[]]] }, -0.25, 'x'], empty: {}, text: 'line\nbreak' };
  assert.deepEqual(run('decoder', run('encoder', value).result).result, value);
});

test('values JSON cannot encode are errors', () => {
  const undefinedValue = run('encoder', undefined);
  assert.equal(undefinedValue.result, undefined);
  assert.equal(undefinedValue.err.message, 'JSON cannot encode undefined');
  assert.equal(run('encoder', function f() {}).err.message, 'JSON cannot encode function');
  const cyclic = {};
  cyclic.self = cyclic;
  assert.ok(run('encoder', cyclic).err instanceof TypeError);
  assert.ok(run('encoder', { big: BigInt(1) }).err instanceof TypeError);
});

test('text that is not JSON is an error and yields the text', () => {
  const broken = run('decoder', '{"a":');
  assert.ok(broken.err instanceof SyntaxError);
  assert.equal(broken.result, '{"a":');
});

test('what is not a string (a binary frame) passes through undecoded', () => {
  const bytes = new Uint8Array([1, 2, 3]);
  assert.deepEqual(run('decoder', bytes), { err: undefined, result: bytes });
  const buffer = new ArrayBuffer(2);
  assert.equal(run('decoder', buffer).result, buffer);
});
