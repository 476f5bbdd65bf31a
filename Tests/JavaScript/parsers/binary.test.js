'use strict';

// The binary parser's browser codec. Vectors are those of
// Tests/PrimusCoreTests/BinaryPack/BinaryPackTests.swift, derived from the BinaryPack format as
// binaryjs's js-binarypack defines it (lib/binarypack.js: the type bytes of
// Unpacker.prototype.unpack and the integer forms of Packer.prototype.pack_integer).

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const source = fs.readFileSync(
  path.join(__dirname, '../../../Sources/PrimusServer/BrowserClient/JavaScript/parsers/binary.js'),
  'utf8'
);
const codec = vm.runInThisContext(source);

// Calls encoder or decoder and checks that fn ran exactly once, synchronously.
function run(which, data, codecUnderTest = codec) {
  let calls = 0;
  let outcome;
  codecUnderTest[which].call({}, data, (err, value) => {
    calls += 1;
    outcome = { err, value };
  });
  assert.equal(calls, 1, `${which} must call fn exactly once, synchronously`);
  return outcome;
}

function encode(value, codecUnderTest) {
  const { err, value: packet } = run('encoder', value, codecUnderTest);
  assert.equal(err, undefined);
  assert.equal(Object.prototype.toString.call(packet), '[object ArrayBuffer]');
  return [...new Uint8Array(packet)];
}

function decode(bytes, codecUnderTest) {
  const { err, value } = run('decoder', Uint8Array.from(bytes), codecUnderTest);
  assert.equal(err, undefined);
  return value;
}

const sixteen = 'abcdefghijklmnop';
const utf8 = (text) => [...Buffer.from(text, 'utf8')];
const repeat = (byte, count) => new Array(count).fill(byte);

// [value, bytes]: what the packer writes, and what the unpacker reads back.
const vectors = [
  [null, [0xc0]],
  [false, [0xc2]],
  [true, [0xc3]],
  [0, [0x00]],
  [127, [0x7f]],
  [-1, [0xff]],
  [-32, [0xe0]],
  [128, [0xcc, 0x80]],
  [255, [0xcc, 0xff]],
  [-33, [0xd0, 0xdf]],
  [-128, [0xd0, 0x80]],
  [256, [0xcd, 0x01, 0x00]],
  [65535, [0xcd, 0xff, 0xff]],
  [-129, [0xd1, 0xff, 0x7f]],
  [-32768, [0xd1, 0x80, 0x00]],
  [65536, [0xce, 0x00, 0x01, 0x00, 0x00]],
  [4294967295, [0xce, 0xff, 0xff, 0xff, 0xff]],
  [-32769, [0xd2, 0xff, 0xff, 0x7f, 0xff]],
  [4294967296, [0xd3, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]],
  [-2147483649, [0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]],
  [2 ** 63, [0xcf, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]],
  [1.5, [0xcb, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]],
  [-0.25, [0xcb, 0xbf, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]],
  ['', [0xb0]],
  ['abc', [0xb3, 0x61, 0x62, 0x63]],
  ['é', [0xb2, 0xc3, 0xa9]],
  [sixteen, [0xd8, 0x00, 0x10, ...utf8(sixteen)]],
  [Uint8Array.from([1, 2, 3]), [0xa3, 0x01, 0x02, 0x03]],
  [new Uint8Array(16).fill(9), [0xda, 0x00, 0x10, ...repeat(9, 16)]],
  [[], [0x90]],
  [[1, 'a'], [0x92, 0x01, 0xb1, 0x61]],
  [repeat(0, 16), [0xdc, 0x00, 0x10, ...repeat(0, 16)]],
  [{}, [0x80]],
  [{ a: 1, b: [true] }, [0x82, 0xb1, 0x61, 0x01, 0xb1, 0x62, 0x91, 0xc3]],
  ['primus::ping::1', [0xbf, ...utf8('primus::ping::1')]],
];

// Raw bytes decode to ArrayBuffers; compare them as byte arrays.
function plain(value) {
  if (Object.prototype.toString.call(value) === '[object ArrayBuffer]') return { bytes: [...new Uint8Array(value)] };
  if (value instanceof Uint8Array) return { bytes: [...value] };
  if (Array.isArray(value)) return value.map(plain);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, plain(v)]));
  }
  return value;
}

test('writes and reads the format vectors', () => {
  for (const [value, bytes] of vectors) {
    assert.deepEqual(encode(value), bytes, `encoding ${JSON.stringify(plain(value))}`);
    assert.deepEqual(plain(decode(bytes)), plain(value), `decoding ${bytes}`);
  }
});

test('reads every type byte, including forms the packer never writes', () => {
  const readOnly = [
    [[0xca, 0x3f, 0xc0, 0x00, 0x00], 1.5],
    [[0xc1], null],
    [[0xd4], null],
    [[0xcc, 0x05], 5],
    [[0xcf, 0, 0, 0, 0, 0, 0, 0, 0x05], 5],
    [[0xd9, 0x00, 0x00, 0x00, 0x01, 0x61], 'a'],
    [[0xdb, 0x00, 0x00, 0x00, 0x01, 0x07], { bytes: [7] }],
    [[0xdd, 0x00, 0x00, 0x00, 0x01, 0x01], [1]],
    [[0xdf, 0x00, 0x00, 0x00, 0x01, 0xb1, 0x61, 0x01], { a: 1 }],
    [[0xde, 0x00, 0x01, 0xb1, 0x61, 0x01], { a: 1 }],
    [[0x83, 0x01, 0xc3, 0xc2, 0xc0, 0xc0, 0x01], { 1: true, false: null, null: 1 }],
  ];
  for (const [bytes, value] of readOnly) assert.deepEqual(plain(decode(bytes)), value, `decoding ${bytes}`);
});

test('accepts ArrayBuffers, Uint8Array views with offsets and Node Buffers', () => {
  const backing = new Uint8Array([0xff, 0xb2, 0x68, 0x69, 0xff]);
  const view = new Uint8Array(backing.buffer, 1, 3);
  assert.equal(run('decoder', view).value, 'hi');
  assert.equal(run('decoder', Buffer.from([0xb2, 0x68, 0x69])).value, 'hi');
  assert.equal(run('decoder', new Uint8Array([0xb2, 0x68, 0x69]).buffer).value, 'hi');
  // A view is packed as its own bytes, not its whole backing buffer.
  assert.deepEqual(encode(view), [0xa3, 0xb2, 0x68, 0x69]);
});

test('uses 32-bit headers for long strings and byte runs', () => {
  const text = 'x'.repeat(70000);
  const bytes = encode(text);
  assert.deepEqual(bytes.slice(0, 5), [0xd9, 0x00, 0x01, 0x11, 0x70]);
  assert.equal(decode(bytes), text);
  assert.deepEqual(encode(new Uint8Array(70000)).slice(0, 5), [0xdb, 0x00, 0x01, 0x11, 0x70]);
});

test('special numbers are doubles, dates their ISO text', () => {
  assert.deepEqual(encode(Infinity), [0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0]);
  assert.equal(decode(encode(-Infinity)), -Infinity);
  assert.ok(Number.isNaN(decode(encode(NaN))));
  assert.equal(encode(2 ** 70)[0], 0xcb);
  assert.deepEqual(encode(-0), [0x00]);
  assert.equal(decode(encode(new Date(1358205756553))), '2013-01-14T23:22:36.553Z');
});

test('round trips nested values, astral characters included, keeping key order', () => {
  const value = {
    z: [1, -1, 300, -300, 70000, -70000, 5000000000, -5000000000, 0.1, 'text', null, true, false],
    a: { nested: { deeper: [[], {}, '€🚀', 'é'.repeat(100) + '😀'] } },
    m: Uint8Array.from([0, 255]),
  };
  const decoded = decode(encode(value));
  assert.deepEqual(plain(decoded), plain(value));
  assert.deepEqual(Object.keys(decoded), ['z', 'a', 'm']);
});

test('a __proto__ key is data, not a prototype', () => {
  const decoded = decode([0x81, 0xb9, ...utf8('__proto__'), 0x81, 0xb1, 0x78, 0x01]);
  assert.deepEqual(Object.keys(decoded), ['__proto__']);
  assert.equal(Object.getPrototypeOf(decoded), Object.prototype);
  assert.equal(decoded.x, undefined);
});

test('malformed input is an error with its offset, reported through fn', () => {
  const cases = [
    [[], 'unexpected end of input at byte 0'],
    [[0xc4], 'unknown type byte 0xc4 at byte 0'],
    [[0xd8, 0x00, 0x05, 0x61], 'string of 5 bytes runs past the end (1 left) at byte 3'],
    [[0xdb, 0xff, 0xff, 0xff, 0xff], 'raw of 4294967295 bytes runs past the end (0 left) at byte 5'],
    [[0xdd, 0xff, 0xff, 0xff, 0xff], 'array of 4294967295 elements runs past the end (0 bytes left) at byte 5'],
    [[0xdf, 0x7f, 0xff, 0xff, 0xff, 0x00], 'map of 2147483647 entries runs past the end (1 bytes left) at byte 5'],
    [[0xcb, 0x00, 0x00], 'unexpected end of input: 8-byte number at byte 1'],
    [[0xd8, 0x00], 'unexpected end of input: 2-byte number at byte 1'],
    [[0xb2, 0xc3, 0x28], 'string is not UTF-8 at byte 1'],
    [[0x81, 0x90, 0x01], 'map key is an array, not a string at byte 1'],
    [[0x92, 0x01], 'array of 2 elements runs past the end (1 bytes left) at byte 1'],
    [[0x92, 0x01, 0xcd], 'unexpected end of input: 2-byte number at byte 3'],
    [[0x01, 0x02], '1 bytes after the value at byte 1'],
  ];
  for (const [bytes, message] of cases) {
    const { err, value } = run('decoder', Uint8Array.from(bytes));
    assert.ok(err instanceof Error, `expected an error for ${bytes}`);
    assert.equal(err.message, message);
    assert.equal(value, undefined);
  }
  for (const notBytes of ['text', 42, null, undefined, {}]) {
    assert.ok(run('decoder', notBytes).err instanceof Error);
  }
});

test('nesting is limited both ways', () => {
  const deepest = [...repeat(0x91, 511), 0x90];
  assert.equal(run('decoder', Uint8Array.from(deepest)).err, undefined);
  for (const count of [513, 100000]) {
    const { err } = run('decoder', Uint8Array.from([...repeat(0x91, count), 0x00]));
    assert.match(err.message, /nesting deeper than 512/);
  }
  const circular = { a: 1 };
  circular.self = circular;
  assert.match(run('encoder', circular).err.message, /deeper than 512/);
  let value = [];
  for (let i = 0; i < 512; i++) value = [value];
  assert.ok(run('encoder', value).err instanceof Error);
  assert.ok(run('encoder', () => 1).err instanceof Error);
  assert.ok(run('encoder', new Date(NaN)).err instanceof Error);
});

test('runs without TextDecoder and Buffer, as in old browsers', () => {
  const bare = vm.runInNewContext(source, {});
  const text = 'é'.repeat(100) + '😀 and more';
  const packet = run('encoder', { text, n: -5000000000 }, bare).value;
  const decoded = run('decoder', new Uint8Array(packet), bare);
  assert.equal(decoded.err, undefined);
  assert.equal(decoded.value.text, text);
  assert.equal(decoded.value.n, -5000000000);
  // Same bytes as the codec with TextDecoder.
  assert.deepEqual([...new Uint8Array(packet)], encode({ text, n: -5000000000 }));
  assert.match(run('decoder', Uint8Array.from([0xd8, 0x00, 0x41, ...repeat(0x61, 64), 0xff]), bare).err.message, /not UTF-8/);
});
