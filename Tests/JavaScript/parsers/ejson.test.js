'use strict';

// The ejson parser's browser codec. Vectors are those of Tests/PrimusCoreTests/EJSON/EJSONTests.swift,
// from Meteor's EJSON documentation (docs.meteor.com/api/ejson.html and the ejson package
// README): the date-and-binary example, the two $escape examples, $InfNaN, and the custom-type
// form with the README's "oid" example.

const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const path = require('node:path');
const vm = require('node:vm');

const source = fs.readFileSync(
  path.join(__dirname, '../../../Sources/PrimusServer/BrowserClient/JavaScript/parsers/ejson.js'),
  'utf8'
);
const codec = vm.runInThisContext(source);

function run(which, data) {
  let calls = 0;
  let outcome;
  codec[which].call({}, data, (err, value) => {
    calls += 1;
    outcome = { err, value };
  });
  assert.equal(calls, 1, `${which} must call fn exactly once, synchronously`);
  return outcome;
}

function stringify(value) {
  const { err, value: text } = run('encoder', value);
  assert.equal(err, undefined);
  return text;
}

function parse(text) {
  const { err, value } = run('decoder', text);
  assert.equal(err, undefined, err && err.message);
  return value;
}

const bytes = (...values) => Uint8Array.from(values);
const sure = Uint8Array.from(Buffer.from('sure.'));

// [value, EJSON text], both ways.
const vectors = [
  [{ d: new Date(1358205756553), b: sure }, '{"d":{"$date":1358205756553},"b":{"$binary":"c3VyZS4="}}'],
  [{ $date: 10000 }, '{"$escape":{"$date":10000}}'],
  [{ $date: new Date(32491) }, '{"$escape":{"$date":{"$date":32491}}}'],
  [Infinity, '{"$InfNaN":1}'],
  [-Infinity, '{"$InfNaN":-1}'],
  [{ $type: 'oid', $value: 'c896e40bf6e51bbdc9adcf59' }, '{"$escape":{"$type":"oid","$value":"c896e40bf6e51bbdc9adcf59"}}'],
  [{ $regexp: 'a+', $flags: 'i' }, '{"$escape":{"$regexp":"a+","$flags":"i"}}'],
  [{ $escape: { x: bytes(0) } }, '{"$escape":{"$escape":{"x":{"$binary":"AA=="}}}}'],
  [{ $binary: 'not bytes', other: 1 }, '{"$binary":"not bytes","other":1}'],
  [{ $other: 1 }, '{"$other":1}'],
  [{ z: 1, a: [new Date(0), bytes()] }, '{"z":1,"a":[{"$date":0},{"$binary":""}]}'],
  ['line\u2028para\u2029', '"line\\u2028para\\u2029"'],
  [new Date(-1500), '{"$date":-1500}'],
  [[1, 'two', null, true, 2.5], '[1,"two",null,true,2.5]'],
];

test('writes and reads the documented forms', () => {
  for (const [value, text] of vectors) {
    assert.equal(stringify(value), text);
    assert.deepEqual(parse(text), value, `parsing ${text}`);
  }
});

test('NaN travels as $InfNaN 0', () => {
  assert.equal(stringify(NaN), '{"$InfNaN":0}');
  assert.ok(Number.isNaN(parse('{"$InfNaN":0}')));
  assert.deepEqual(parse('[{"$InfNaN":0.5}]'), [Infinity]);
});

test('server extension values have no browser type and stay objects', () => {
  const ext = parse('{"$type":"msgpack-ext-5","$value":"AQI="}');
  assert.deepEqual(ext, { $type: 'msgpack-ext-5', $value: 'AQI=' });
  assert.equal(stringify(ext), '{"$escape":{"$type":"msgpack-ext-5","$value":"AQI="}}');
  assert.deepEqual(parse('{"$type":"Decimal","$value":{"$date":5}}'), { $type: 'Decimal', $value: new Date(5) });
});

test('reads base64 with and without padding, URL-safe too, and Buffers encode as bytes', () => {
  assert.deepEqual(parse('{"$binary":"AAH+/w=="}'), bytes(0, 1, 254, 255));
  assert.deepEqual(parse('{"$binary":"AAH-_w"}'), bytes(0, 1, 254, 255));
  assert.equal(stringify(Buffer.from([0, 1, 254, 255])), '{"$binary":"AAH+/w=="}');
  assert.equal(stringify(new Uint8Array([1, 2, 3]).buffer), '{"$binary":"AQID"}');
  assert.equal(stringify(new Uint8Array(new Uint8Array([9, 1, 2, 9]).buffer, 1, 2)), '{"$binary":"AQI="}');
});

test('keeps key order through escapes and forms', () => {
  const text = '{"z":{"$escape":{"$date":1}},"y":{"$binary":"AQ=="},"x":{"b":1,"a":2}}';
  const value = parse(text);
  assert.deepEqual(Object.keys(value), ['z', 'y', 'x']);
  assert.deepEqual(Object.keys(value.x), ['b', 'a']);
  assert.equal(stringify(value), text);
});

test('round trips nested values of every kind', () => {
  const value = {
    when: new Date(1700000000123),
    blob: bytes(0, 1, 2, 250, 255),
    list: [Infinity, { $date: { $binary: bytes(7) } }, [[[null]]]],
    text: '€🚀\u2028"\\',
  };
  assert.deepEqual(parse(stringify(value)), value);
});

test('undefined and functions are left out as JSON.stringify leaves them out', () => {
  assert.equal(stringify({ a: undefined, b: () => 1, c: [undefined] }), '{"c":[null]}');
  assert.ok(run('encoder', undefined).err instanceof Error);
});

test('a __proto__ key is data, not a prototype', () => {
  const value = parse('{"__proto__":{"$date":1}}');
  assert.equal(Object.getPrototypeOf(value), Object.prototype);
  assert.deepEqual(Object.keys(value), ['__proto__']);
});

test('malformed input is an error reported through fn', () => {
  const cases = [
    ['{"$date":"soon"}', 'invalid EJSON: $date holds a string, not a number of milliseconds'],
    ['{"$binary":5}', 'invalid EJSON: $binary holds a number, not base64 text'],
    ['{"$binary":"@@@@"}', 'invalid EJSON: $binary is not base64'],
    ['{"$escape":1}', 'invalid EJSON: $escape holds a number, not an object'],
    ['{"$InfNaN":"1"}', 'invalid EJSON: $InfNaN holds a string, not a number'],
    ['[{"a":{"$date":null}}]', 'invalid EJSON: $date holds null, not a number of milliseconds'],
  ];
  for (const [text, message] of cases) {
    const { err, value } = run('decoder', text);
    assert.ok(err instanceof Error, `expected an error for ${text}`);
    assert.equal(err.message, message);
    assert.equal(value, undefined);
  }
  for (const text of ['{"$date":1', 'nope', '']) {
    assert.ok(run('decoder', text).err instanceof SyntaxError, `expected a syntax error for ${text}`);
  }
});

test('nesting is limited both ways', () => {
  const { err } = run('decoder', '['.repeat(100000) + ']'.repeat(100000));
  assert.ok(err instanceof Error);
  const nested = (inner, levels) => {
    let value = inner;
    for (let i = 0; i < levels; i++) value = [value];
    return value;
  };
  const fits = nested({ $date: 1 }, 510);
  assert.deepEqual(parse(stringify(fits)), fits);
  assert.match(run('encoder', nested({ $date: 1 }, 511)).err.message, /deeper than 512/);
  assert.ok(run('encoder', nested(new Date(0), 512)).err instanceof Error);
  assert.ok(run('decoder', '['.repeat(513) + ']'.repeat(513)).err instanceof Error);
  const circular = {};
  circular.self = circular;
  assert.ok(run('encoder', circular).err instanceof Error);
  assert.ok(run('encoder', new Date(NaN)).err instanceof Error);
});

test('protocol messages are JSON strings, and binary frames pass through', () => {
  assert.equal(stringify('primus::ping::1700000000000'), '"primus::ping::1700000000000"');
  assert.equal(parse('"primus::pong::1"'), 'primus::pong::1');
  const frame = new Uint8Array([1, 2]).buffer;
  assert.equal(run('decoder', frame).value, frame);
});
