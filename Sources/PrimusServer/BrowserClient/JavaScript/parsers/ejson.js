// The ejson parser's browser codec: Meteor's extended JSON, in ES5, as one expression evaluating
// to { encoder, decoder }. Each calls fn(err, result) exactly once, synchronously.
//
//   Date                    {"$date": <milliseconds since 1970>}
//   Uint8Array (Buffer)     {"$binary": "<base64>"}  (an ArrayBuffer is encoded as bytes too)
//   NaN, Infinity, -Inf     {"$InfNaN": 0}, {"$InfNaN": 1}, {"$InfNaN": -1}
//   an object that reads    {"$escape": {...}}  (one or two keys that would read back as one of
//   as one of these          the forms above, a custom type {$type, $value} or {$regexp, $flags})
//
// Decoding reverses these, giving Dates and Uint8Arrays; custom types ({"$type", "$value"},
// including the server's "msgpack-ext-<n>" extension values, which the browser has no type
// for) and {$regexp, $flags} stay plain objects, so sending them back escapes them. A reserved
// form holding the wrong kind of value, text that is not JSON, or nesting deeper than 512
// levels is an error. U+2028 and U+2029 are escaped as the json parser escapes them. A value
// that is not a string (a binary frame) passes through undecoded, as with the json parser.
(function () {
  'use strict';

  var MAX_DEPTH = 512;
  var ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  var toString = Object.prototype.toString;
  var hasOwn = Object.prototype.hasOwnProperty;

  // ---------------------------------------------------------------- base64

  function base64Encode(bytes) {
    var out = '', i, chunk, length = bytes.length;
    for (i = 0; i + 2 < length; i += 3) {
      chunk = bytes[i] << 16 | bytes[i + 1] << 8 | bytes[i + 2];
      out += ALPHABET.charAt(chunk >> 18 & 63) + ALPHABET.charAt(chunk >> 12 & 63) +
        ALPHABET.charAt(chunk >> 6 & 63) + ALPHABET.charAt(chunk & 63);
    }
    if (length - i === 1) {
      chunk = bytes[i] << 16;
      out += ALPHABET.charAt(chunk >> 18 & 63) + ALPHABET.charAt(chunk >> 12 & 63) + '==';
    } else if (length - i === 2) {
      chunk = bytes[i] << 16 | bytes[i + 1] << 8;
      out += ALPHABET.charAt(chunk >> 18 & 63) + ALPHABET.charAt(chunk >> 12 & 63) +
        ALPHABET.charAt(chunk >> 6 & 63) + '=';
    }
    return out;
  }

  // Standard or URL-safe base64, padding optional; null when it is not base64.
  function base64Decode(text) {
    var end = text.length, bytes, i, value, accumulator = 0, bits = 0, count = 0, code;
    while (end > 0 && text.charAt(end - 1) === '=') end--;
    if (text.length - end > 2 || end % 4 === 1) return null;
    bytes = new Uint8Array(Math.floor(end * 3 / 4));
    for (i = 0; i < end; i++) {
      code = text.charCodeAt(i);
      if (code === 45) value = 62; // '-'
      else if (code === 95) value = 63; // '_'
      else value = ALPHABET.indexOf(text.charAt(i));
      if (value < 0) return null;
      accumulator = (accumulator << 6 | value) & 0xffffff;
      bits += 6;
      if (bits >= 8) {
        bits -= 8;
        bytes[count++] = accumulator >> bits & 0xff;
      }
    }
    return bytes;
  }

  // ---------------------------------------------------------------- encoding

  function isBytes(value) {
    return typeof Uint8Array !== 'undefined' && value instanceof Uint8Array;
  }

  function isArrayBuffer(value) {
    return toString.call(value) === '[object ArrayBuffer]';
  }

  function needsEscape(object, keys) {
    if (keys.length === 1) {
      return keys[0] === '$date' || keys[0] === '$InfNaN' || keys[0] === '$binary' || keys[0] === '$escape';
    }
    if (keys.length === 2) {
      return (hasOwn.call(object, '$type') && hasOwn.call(object, '$value')) ||
        (hasOwn.call(object, '$regexp') && hasOwn.call(object, '$flags'));
    }
    return false;
  }

  function tooDeep() {
    return new Error('value nested deeper than ' + MAX_DEPTH + ' levels as EJSON (a circular reference?)');
  }

  // The JSON-able form of value; `depth` counts the arrays and objects around it in the output.
  function toJSONValue(value, depth) {
    var type = typeof value, out, keys, i, member;
    if (type === 'number') {
      if (isFinite(value)) return value;
      if (depth >= MAX_DEPTH) throw tooDeep();
      return { $InfNaN: value !== value ? 0 : value > 0 ? 1 : -1 };
    }
    if (value === null || type !== 'object') return value;
    if (depth >= MAX_DEPTH) throw tooDeep();
    if (toString.call(value) === '[object Date]') {
      if (isNaN(value.getTime())) throw new Error('EJSON cannot encode an invalid date');
      return { $date: value.getTime() };
    }
    if (isBytes(value)) return { $binary: base64Encode(value) };
    if (isArrayBuffer(value)) return { $binary: base64Encode(new Uint8Array(value)) };
    if (typeof ArrayBuffer !== 'undefined' && ArrayBuffer.isView && ArrayBuffer.isView(value)) {
      return { $binary: base64Encode(new Uint8Array(value.buffer, value.byteOffset, value.byteLength)) };
    }
    if (toString.call(value) === '[object Array]') {
      out = new Array(value.length);
      for (i = 0; i < value.length; i++) {
        member = toJSONValue(value[i], depth + 1);
        out[i] = member === undefined || typeof member === 'function' ? null : member;
      }
      return out;
    }
    if (typeof value.toJSON === 'function') return toJSONValue(value.toJSON(), depth);
    keys = Object.keys(value);
    if (needsEscape(value, keys)) {
      if (depth + 1 >= MAX_DEPTH) throw tooDeep();
      return { $escape: members(value, keys, depth + 2) };
    }
    return members(value, keys, depth + 1);
  }

  function members(object, keys, depth) {
    var out = {}, i, member;
    for (i = 0; i < keys.length; i++) {
      member = toJSONValue(object[keys[i]], depth);
      if (member === undefined || typeof member === 'function') continue;
      if (keys[i] === '__proto__') {
        Object.defineProperty(out, keys[i], { value: member, enumerable: true, writable: true, configurable: true });
      } else {
        out[keys[i]] = member;
      }
    }
    return out;
  }

  function stringify(value) {
    var text = JSON.stringify(toJSONValue(value, 0));
    if (text === undefined) throw new Error('EJSON cannot encode ' + typeof value);
    return text.replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
  }

  // ---------------------------------------------------------------- decoding

  function malformed(detail) {
    return new Error('invalid EJSON: ' + detail);
  }

  function kind(value) {
    if (value === null) return 'null';
    if (toString.call(value) === '[object Array]') return 'an array';
    return typeof value === 'object' ? 'an object' : 'a ' + typeof value;
  }

  function isPlainObject(value) {
    return value !== null && typeof value === 'object' && toString.call(value) !== '[object Array]';
  }

  // The value a reserved form stands for, or `undefined` for a plain object.
  function fromForm(object, depth) {
    var keys = Object.keys(object), value, bytes;
    if (keys.length < 1 || keys.length > 2) return undefined;
    if (keys[0].charAt(0) !== '$' || (keys.length === 2 && keys[1].charAt(0) !== '$')) return undefined;
    if (keys.length === 2) return undefined; // custom types and {$regexp, $flags} stay objects
    value = object[keys[0]];
    switch (keys[0]) {
      case '$date':
        if (typeof value !== 'number') throw malformed('$date holds ' + kind(value) + ', not a number of milliseconds');
        return new Date(value);
      case '$InfNaN':
        if (typeof value !== 'number') throw malformed('$InfNaN holds ' + kind(value) + ', not a number');
        return value > 0 ? Infinity : value < 0 ? -Infinity : NaN;
      case '$binary':
        if (typeof value !== 'string') throw malformed('$binary holds ' + kind(value) + ', not base64 text');
        bytes = base64Decode(value);
        if (!bytes) throw malformed('$binary is not base64');
        return bytes;
      case '$escape':
        if (!isPlainObject(value)) throw malformed('$escape holds ' + kind(value) + ', not an object');
        reviveMembers(value, depth + 1);
        return value;
    }
    return undefined;
  }

  function reviveMembers(object, depth) {
    var keys = Object.keys(object);
    for (var i = 0; i < keys.length; i++) object[keys[i]] = revive(object[keys[i]], depth);
  }

  // Revives in place: the value comes fresh from JSON.parse and is ours.
  function revive(value, depth) {
    var i, special;
    if (value === null || typeof value !== 'object') return value;
    if (depth >= MAX_DEPTH) throw new Error('nesting deeper than ' + MAX_DEPTH);
    if (toString.call(value) === '[object Array]') {
      for (i = 0; i < value.length; i++) value[i] = revive(value[i], depth + 1);
      return value;
    }
    special = fromForm(value, depth);
    if (special !== undefined) return special;
    reviveMembers(value, depth + 1);
    return value;
  }

  function parse(text) {
    return revive(JSON.parse(text), 0);
  }

  return {
    encoder: function encoder(data, fn) {
      var err, packet;
      try {
        packet = stringify(data);
      } catch (e) {
        err = e;
        packet = undefined;
      }
      fn(err, packet);
    },

    decoder: function decoder(data, fn) {
      var err, value = data;
      if (typeof data !== 'string') return fn(err, data);
      try {
        value = parse(data);
      } catch (e) {
        err = e;
        value = undefined;
      }
      fn(err, value);
    }
  };
})()
