'use strict';
// The browser codec of the msgpack parser: the byte vectors of the Swift tests (which came
// from Python's msgpack 1.1.2 packb with use_bin_type=True), round trips, malformed input.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const source = path.join(__dirname, '..', '..', '..', 'Sources', 'PrimusServer', 'BrowserClient', 'JavaScript', 'parsers', 'msgpack.js');
const codec = vm.runInThisContext(fs.readFileSync(source, 'utf8'));

// Calls the codec and checks it calls back exactly once, synchronously.
function call(method, data) {
  const calls = [];
  codec[method].call({}, data, function (err, result) { calls.push([err, result]); });
  assert.equal(calls.length, 1, method + ' called back ' + calls.length + ' times');
  return calls[0];
}

function encode(value) {
  const [err, result] = call('encoder', value);
  assert.equal(err, null, err && err.message);
  assert.ok(result instanceof Uint8Array || result instanceof ArrayBuffer);
  return Buffer.from(result instanceof ArrayBuffer ? new Uint8Array(result) : result);
}

function decode(bytes) {
  const [err, result] = call('decoder', bytes);
  assert.equal(err, null, err && err.message);
  return result;
}

function hex(value) { return encode(value).toString('hex'); }
function unhex(text) { return Buffer.from(text, 'hex'); }
function extension(type, bytes) {
  // Extension values are made by the decoder; one is read to get one to write.
  const value = decode(Buffer.concat([Buffer.from([0xc7, bytes.length, type & 0xff]), Buffer.from(bytes)]));
  assert.equal(value.type, type);
  return value;
}

const VECTORS = [
  ['nil', null, 'c0'], ['true', true, 'c3'], ['false', false, 'c2'],
  ['0', 0, '00'], ['1', 1, '01'], ['127', 127, '7f'], ['128', 128, 'cc80'], ['255', 255, 'ccff'], ['256', 256, 'cd0100'],
  ['65535', 65535, 'cdffff'], ['65536', 65536, 'ce00010000'], ['4294967295', 4294967295, 'ceffffffff'],
  ['4294967296', 4294967296, 'cf0000000100000000'], ['2^53', 2 ** 53, 'cf0020000000000000'], ['2^63', 2 ** 63, 'cf8000000000000000'],
  ['-1', -1, 'ff'], ['-32', -32, 'e0'], ['-33', -33, 'd0df'], ['-128', -128, 'd080'], ['-129', -129, 'd1ff7f'],
  ['-32768', -32768, 'd18000'], ['-32769', -32769, 'd2ffff7fff'], ['-2^31', -(2 ** 31), 'd280000000'],
  ['-2^31-1', -(2 ** 31) - 1, 'd3ffffffff7fffffff'], ['-2^53', -(2 ** 53), 'd3ffe0000000000000'], ['-2^63', -(2 ** 63), 'd38000000000000000'],
  ['1.5', 1.5, 'cb3ff8000000000000'], ['-0.0', -0, 'cb8000000000000000'], ['0.1', 0.1, 'cb3fb999999999999a'],
  ['1e300', 1e300, 'cb7e37e43c8800759c'], ['inf', Infinity, 'cb7ff0000000000000'], ['-inf', -Infinity, 'cbfff0000000000000'],
  ['str empty', '', 'a0'], ['str a', 'a', 'a161'], ['str euro', '€', 'a3e282ac'],
  ['str 31', 'x'.repeat(31), 'bf' + '78'.repeat(31)], ['str 32', 'x'.repeat(32), 'd920' + '78'.repeat(32)],
  ['bin empty', new Uint8Array(0), 'c400'], ['bin 2', new Uint8Array([1, 2]), 'c4020102'],
  ['array empty', [], '90'], ['array 3', [1, -1, 'a'], '9301ffa161'],
  ['map empty', {}, '80'], ['map order', { b: 1, a: [true, null] }, '82a16201a16192c3c0'],
  ['ts 0', new Date(0), 'd6ff00000000'], ['ts 2^32-1', new Date(4294967295000), 'd6ffffffffff'],
  ['ts 2^32', new Date(4294967296000), 'd7ff0000000100000000'], ['ts ms', new Date(1700000000123), 'd7ff1d5353006553f100'],
  ['ts 2^34', new Date(17179869184000), 'c70cff000000000000000400000000'], ['ts -0.5', new Date(-500), 'c70cff1dcd6500ffffffffffffffff'],
  ['ping', 'primus::ping::1700000000000', 'bb7072696d75733a3a70696e673a3a31373030303030303030303030'],
];

const EXTENSIONS = [
  ['ext1', 5, [1], 'd40501'], ['ext2', 5, [1, 2], 'd5050102'], ['ext3', 5, [1, 2, 3], 'c70305010203'],
  ['ext4', 5, [1, 1, 1, 1], 'd60501010101'], ['ext8', 5, new Array(8).fill(1), 'd7050101010101010101'],
  ['ext16', 10, new Array(16).fill(1), 'd80a' + '01'.repeat(16)], ['ext0', 127, [], 'c7007f'], ['ext -5', -5, [7], 'd4fb07'],
];

function same(actual, expected) {
  if (expected instanceof Date) {
    assert.ok(actual instanceof Date);
    assert.equal(actual.getTime(), expected.getTime());
  } else if (expected instanceof Uint8Array) {
    assert.ok(actual instanceof Uint8Array, 'bin reads as a Uint8Array');
    assert.deepEqual(Array.from(actual), Array.from(expected));
  } else if (Array.isArray(expected)) {
    assert.ok(Array.isArray(actual));
    assert.equal(actual.length, expected.length);
    expected.forEach((element, i) => same(actual[i], element));
  } else if (expected !== null && typeof expected === 'object' && !('type' in expected && 'data' in expected)) {
    assert.deepEqual(Object.keys(actual), Object.keys(expected), 'keys in order');
    Object.keys(expected).forEach((key) => same(actual[key], expected[key]));
  } else if (expected !== null && typeof expected === 'object') {
    assert.equal(actual.type, expected.type);
    same(actual.data, expected.data);
  } else {
    assert.ok(Object.is(actual, expected), `${actual} is not ${expected}`);
  }
}

test('the codec is one expression with an encoder and a decoder', () => {
  assert.equal(typeof codec.encoder, 'function');
  assert.equal(typeof codec.decoder, 'function');
});

for (const [name, value, bytes] of VECTORS) {
  test(`writes and reads ${name} as Python does`, () => {
    assert.equal(hex(value), bytes);
    same(decode(unhex(bytes)), value);
  });
}

for (const [name, type, data, bytes] of EXTENSIONS) {
  test(`writes and reads extension ${name}`, () => {
    const value = decode(unhex(bytes));
    assert.equal(value.type, type);
    same(value.data, new Uint8Array(data));
    assert.equal(hex(value), bytes);
    assert.equal(hex(extension(type, data)), bytes);
  });
}

test('long values take the header Python writes', () => {
  const cases = [
    ['x'.repeat(255), 'd9ff78787878', 257], ['x'.repeat(256), 'da0100787878', 259],
    ['x'.repeat(65535), 'daffff787878', 65538], ['x'.repeat(65536), 'db0001000078', 65541],
    [new Uint8Array(255).fill(120), 'c4ff78787878', 257], [new Uint8Array(256).fill(120), 'c50100787878', 259],
    [new Uint8Array(65535).fill(120), 'c5ffff787878', 65538], [new Uint8Array(65536).fill(120), 'c60001000078', 65541],
    [new Array(15).fill(0), '9f0000000000', 16], [new Array(16).fill(0), 'dc0010000000', 19],
    [new Array(65535).fill(0), 'dcffff000000', 65538], [new Array(65536).fill(0), 'dd0001000000', 65541],
    [Object.fromEntries(Array.from({ length: 15 }, (_, i) => ['' + i, 0])), '8fa13000a131', 51],
    [Object.fromEntries(Array.from({ length: 16 }, (_, i) => ['' + i, 0])), 'de0010a13000', 57],
    [Object.fromEntries(Array.from({ length: 65536 }, (_, i) => ['' + i, 0])), 'df00010000a1', 447647],
  ];
  for (const [value, header, count] of cases) {
    const bytes = encode(value);
    assert.equal(bytes.length, count);
    assert.equal(bytes.subarray(0, 6).toString('hex'), header);
    same(decode(bytes), value);
  }
  for (const [prefix, size, count] of [['c7ff01', 255, 258], ['c8010001', 256, 260], ['c90001000001', 65536, 65542]]) {
    const bytes = Buffer.concat([unhex(prefix), Buffer.alloc(size, 0x78)]);
    const written = encode(decode(bytes));
    assert.equal(written.length, count);
    assert.ok(written.equals(bytes));
  }
});

test('every other form reads as its value', () => {
  const cases = [
    ['cc05', 5], ['cd0005', 5], ['ce00000005', 5], ['cf0000000000000005', 5], ['d005', 5], ['d0ff', -1], ['d10005', 5],
    ['d1ffff', -1], ['d200000005', 5], ['d2ffffffff', -1], ['d30000000000000005', 5], ['d3ffffffffffffffff', -1],
    ['cfffffffffffffffff', 2 ** 64], ['ca3fc00000', 1.5], ['ca7f800000', Infinity], ['d90161', 'a'], ['da000161', 'a'],
    ['db0000000161', 'a'], ['c50000', new Uint8Array(0)], ['c600000001ff', new Uint8Array([255])], ['dc000101', [1]],
    ['dd0000000101', [1]], ['de0001a16101', { a: 1 }], ['df00000001a16101', { a: 1 }], ['c704ff00000001', new Date(1000)],
    ['d7ff0000000000000001', new Date(1000)], ['c70cff00000000ffffffffffffffff', new Date(-1000)],
    ['8501a161fea162cb3ff8000000000000a163c3a164c0a165', { 1: 'a', '-2': 'b', 1.5: 'c', true: 'd', null: 'e' }],
  ];
  for (const [bytes, value] of cases) same(decode(unhex(bytes)), value);
});

test('bytes of every kind are bin, and every kind of input decodes', () => {
  const expected = 'c403010203';
  assert.equal(hex(new Uint8Array([1, 2, 3]).buffer), expected);
  assert.equal(hex(Buffer.from([1, 2, 3])), expected);
  assert.equal(hex(new Uint8Array([9, 1, 2, 3]).subarray(1)), expected);
  assert.equal(hex(new Uint16Array([0x0201])), 'c4020102');  // the view's bytes, little-endian here
  const bytes = unhex('92c403010203c0');
  same(decode(bytes), [new Uint8Array([1, 2, 3]), null]);
  same(decode(new Uint8Array(bytes).buffer), [new Uint8Array([1, 2, 3]), null]);
  same(decode(new Uint8Array(bytes)), [new Uint8Array([1, 2, 3]), null]);
  same(decode('\u0005'), 5);  // a text frame holding a positive fixint
});

test('a lone surrogate is written as U+FFFD, as TextEncoder writes it', () => {
  assert.equal(hex('a\ud800'), 'a461efbfbd');
});

test('undefined and functions are nil, a __proto__ key is a plain key', () => {
  assert.equal(hex([undefined, function () {}]), '92c0c0');
  const value = decode(unhex('81a95f5f70726f746f5f5f01'));
  assert.deepEqual(Object.keys(value), ['__proto__']);
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.equal(hex(value), '81a95f5f70726f746f5f5f01');
});

// SplitMix-like seeded generator on 32-bit halves, so runs are reproducible.
function generator(seed) {
  let state = seed >>> 0;
  return function () {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function randomValue(random, depth) {
  const int = (n) => Math.floor(random() * n);
  const boundaries = [0, 127, 128, 255, 256, 65535, 65536, 2 ** 32 - 1, 2 ** 32, 2 ** 53, 2 ** 63, -32, -33, -128, -129,
    -32768, -32769, -(2 ** 31), -(2 ** 31) - 1, -(2 ** 53), -(2 ** 63), 0.5, -0.25, 1e-300, Infinity, -Infinity, -0];
  switch (int(depth > 3 ? 7 : 9)) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return boundaries[int(boundaries.length)];
    case 3: return int(2) ? int(2000000) - 1000000 : (random() - 0.5) * 1e6;
    case 4: return Array.from({ length: [0, 1, 31, 32, 300][int(5)] }, () => ['a', 'é', '€', '😀', '"', '\\', '\n', 'z'][int(8)]).join('');
    case 5: return new Uint8Array(Array.from({ length: [0, 1, 255, 256][int(4)] }, () => int(256)));
    case 6: return new Date(int(2 ** 44) - 2 ** 43);
    case 7: return Array.from({ length: [0, 1, 15, 16][int(4)] }, () => randomValue(random, depth + 1));
    default: {
      const object = {};
      for (let i = 0, n = [0, 1, 15, 16][int(4)]; i < n; i++) object['k' + i + '-' + int(10)] = randomValue(random, depth + 1);
      return object;
    }
  }
}

test('random values round-trip with key order and identical bytes', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const random = generator(seed);
    for (let i = 0; i < 200; i++) {
      const value = randomValue(random, 0);
      const bytes = encode(value);
      const read = decode(bytes);
      same(read, value);
      assert.ok(encode(read).equals(bytes), `seed ${seed}: rewriting gives the same bytes`);
    }
  }
});

const MALFORMED = [
  ['', 'end of data'], ['c1', 'reserved byte 0xc1'], ['cc', 'uint 8'], ['cd00', 'uint 16'], ['ce000000', 'uint 32'],
  ['cf00', 'uint 64'], ['d0', 'int 8'], ['d1ff', 'int 16'], ['d2', 'int 32'], ['d3ffffffff', 'int 64'], ['ca00', 'float 32'],
  ['cb3ff8', 'float 64'], ['a261', 'str of 2 bytes truncated'], ['d90561', 'str of 5 bytes'], ['dbffffffff', 'str of 4294967295 bytes'],
  ['d9', 'str 8'], ['c40361', 'bin of 3 bytes'], ['c6ffffffff', 'bin of 4294967295'], ['9201', 'array of 2 elements truncated'],
  ['ddffffffff', 'array of 4294967295 elements'], ['dfffffffff', 'map of 4294967295 pairs'], ['de0002a161', 'map of 2 pairs'],
  ['81a161', 'end of data'], ['d4', 'ext'], ['d405', 'ext of 1 bytes truncated'], ['c7ff05', 'ext of 255 bytes'],
  ['c9ffffffff05', 'ext of 4294967295 bytes'], ['d5ff0000', 'timestamp extension of 2 bytes'],
  ['c703ff000000', 'timestamp extension of 3 bytes'], ['c700ff', 'timestamp extension of 0 bytes'],
  ['d7ffee6b280000000000', 'nanoseconds 1000000000'], ['c70cff3b9aca000000000000000000', 'nanoseconds 1000000000'],
  ['c0c0', '1 bytes after the value'], ['90ff', '1 bytes after the value'], ['a1ff', 'not valid UTF-8'],
  ['a2c328', 'not valid UTF-8'], ['81c4010001', 'map key'], ['819000', 'map key'], ['818001', 'map key'], ['81d4050001', 'map key'],
  ['91'.repeat(513) + 'c0', 'nesting deeper than 512'], ['81a161'.repeat(513) + 'c0', 'nesting deeper than 512'],
  ['91'.repeat(100000) + 'c0', 'nesting deeper than 512'],
];

for (const [bytes, reason] of MALFORMED) {
  test(`malformed ${bytes.slice(0, 24)} calls back with an error (${reason})`, () => {
    const [err, result] = call('decoder', unhex(bytes));
    assert.ok(err instanceof Error, 'an error, not a throw');
    assert.equal(result, undefined);
    assert.match(err.message, /^MessagePack: /);
    assert.ok(err.message.includes(reason), err.message);
  });
}

test('512 levels are read, 513 are not written', () => {
  let value = null;
  for (let i = 0; i < 512; i++) value = [value];
  const bytes = encode(value);
  same(decode(bytes), value);
  const [err] = call('encoder', [value]);
  assert.match(err.message, /deeper than 512/);
});

test('a circular object calls back with an error instead of overflowing the stack', () => {
  const node = { name: 'loop' };
  node.next = node;
  const [err, result] = call('encoder', node);
  assert.ok(err instanceof Error);
  assert.equal(result, undefined);
  assert.match(err.message, /circular/);
  const list = [];
  list.push(list);
  assert.ok(call('encoder', list)[0] instanceof Error);
});

test('an invalid date and an undecodable input are errors', () => {
  assert.ok(call('encoder', new Date(NaN))[0] instanceof Error);
  assert.ok(call('decoder', 42)[0] instanceof Error);
});

test('an exception thrown by the callback is not reported to it again', () => {
  let calls = 0;
  assert.throws(() => codec.decoder(unhex('c0'), () => { calls++; throw new Error('listener failed'); }), /listener failed/);
  assert.equal(calls, 1);
});

test('without TextEncoder and TextDecoder (old browsers) the fallbacks agree', () => {
  const bare = vm.runInNewContext(fs.readFileSync(source, 'utf8'));  // a context with V8's builtins only
  assert.equal(vm.runInNewContext('typeof TextEncoder + typeof TextDecoder'), 'undefinedundefined');
  const run = (method, data) => {
    const calls = [];
    bare[method](data, (err, result) => calls.push([err, result]));
    assert.equal(calls.length, 1);
    return calls[0];
  };
  for (const text of ['', 'a', 'é', '€', '😀 astral', 'x'.repeat(300), 'a\ud800b']) {
    const [err, bytes] = run('encoder', text);
    assert.equal(err, null);
    assert.equal(Buffer.from(bytes).toString('hex'), hex(text));
    const [again, read] = run('decoder', Buffer.from(bytes));
    assert.equal(again, null);
    assert.equal(read, decode(Buffer.from(bytes)));
  }
  for (const invalid of ['a1ff', 'a2c0af', 'a3eda080', 'a4f4908080', 'a2e282', 'a1c3', 'a180']) {
    const [err] = run('decoder', unhex(invalid));
    assert.ok(err, invalid + ' is not UTF-8');
    assert.ok(String(err.message).includes('not valid UTF-8'), err.message);
  }
  const [err, bytes] = run('encoder', { b: [1, new Uint8Array([1, 2]), new Date(1700000000123)], a: -(2 ** 40) });
  assert.equal(err, null);
  assert.equal(Buffer.from(bytes).toString('hex'), hex({ b: [1, new Uint8Array([1, 2]), new Date(1700000000123)], a: -(2 ** 40) }));
});
