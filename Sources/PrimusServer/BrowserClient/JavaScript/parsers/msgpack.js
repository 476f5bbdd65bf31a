(function () {
  'use strict';

  // The browser side of swift-primus's msgpack parser: every message is one MessagePack
  // value (https://github.com/msgpack/msgpack/blob/master/spec.md) in one binary frame.
  //
  // Numbers: an integral number that fits 64 bits is written in the smallest integer form,
  // any other number (fractions, -0, NaN, Infinity) as float 64; 64-bit integers read back
  // as numbers (beyond 2^53 to the nearest double). Bytes (ArrayBuffer, Uint8Array, any
  // typed array view, a Node Buffer) are bin, read back as Uint8Array. A Date is the
  // timestamp extension (type -1), read back as a Date (to the millisecond). Another
  // extension value reads as an object with `type` and `data` (a Uint8Array) that is
  // written back as the same extension. Map keys are strings; a number, nil or boolean key
  // becomes its text, as a JavaScript object makes it. Nesting is limited to 512 levels
  // both ways, so a circular object is an error, not a stack overflow. Errors go to fn(err).

  var MAX_DEPTH = 512;
  var TWO_32 = 4294967296;
  var TWO_63 = 9223372036854775808;
  var TWO_64 = 18446744073709551616;
  var toString = Object.prototype.toString;
  var textEncoder = typeof TextEncoder === 'function' ? new TextEncoder() : null;
  var textDecoder = null;
  try {
    textDecoder = typeof TextDecoder === 'function' ? new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }) : null;
  } catch (e) {
    textDecoder = null;
  }

  // An extension value other than a timestamp, kept so that it can be written back.
  function Extension(type, data) {
    this.type = type;
    this.data = data;
  }

  function isBytes(value) {
    return value instanceof ArrayBuffer || toString.call(value) === '[object ArrayBuffer]' ||
      (typeof ArrayBuffer.isView === 'function' && ArrayBuffer.isView(value) && !(value instanceof DataView));
  }

  function bytesOf(value) {
    if (value instanceof Uint8Array) return value;
    if (value instanceof ArrayBuffer || toString.call(value) === '[object ArrayBuffer]') return new Uint8Array(value);
    return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
  }

  function utf8Encode(string) {
    if (textEncoder) return textEncoder.encode(string);
    var out = [];
    for (var i = 0; i < string.length; i++) {
      var c = string.charCodeAt(i);
      if (c >= 0xd800 && c <= 0xdbff && i + 1 < string.length) {
        var d = string.charCodeAt(i + 1);
        if (d >= 0xdc00 && d <= 0xdfff) {
          c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
          i++;
        }
      }
      if (c >= 0xd800 && c <= 0xdfff) c = 0xfffd;
      if (c < 0x80) out.push(c);
      else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 63));
      else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
      else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 63), 0x80 | ((c >> 6) & 63), 0x80 | (c & 63));
    }
    return new Uint8Array(out);
  }

  function utf8Decode(bytes, start, end) {
    if (textDecoder) return textDecoder.decode(bytes.subarray(start, end));
    var out = '';
    var i = start;
    while (i < end) {
      var b = bytes[i];
      var c;
      var extra;
      var min;
      if (b < 0x80) { c = b; extra = 0; min = 0; }
      else if (b >= 0xc2 && b < 0xe0) { c = b & 31; extra = 1; min = 0x80; }
      else if (b >= 0xe0 && b < 0xf0) { c = b & 15; extra = 2; min = 0x800; }
      else if (b >= 0xf0 && b < 0xf5) { c = b & 7; extra = 3; min = 0x10000; }
      else throw new Error('invalid UTF-8');
      if (i + extra >= end + (extra ? 0 : 1)) throw new Error('invalid UTF-8');
      for (var k = 1; k <= extra; k++) {
        var n = bytes[i + k];
        if ((n & 0xc0) !== 0x80) throw new Error('invalid UTF-8');
        c = (c << 6) | (n & 63);
      }
      if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) throw new Error('invalid UTF-8');
      i += extra + 1;
      if (c >= 0x10000) {
        c -= 0x10000;
        out += String.fromCharCode(0xd800 + (c >> 10), 0xdc00 + (c & 1023));
      } else {
        out += String.fromCharCode(c);
      }
    }
    return out;
  }

  // ---------------------------------------------------------------- writing

  function Writer() {
    this.bytes = new Uint8Array(64);
    this.view = new DataView(this.bytes.buffer);
    this.length = 0;
  }

  Writer.prototype.ensure = function (count) {
    var needed = this.length + count;
    if (needed <= this.bytes.length) return;
    var size = this.bytes.length * 2;
    while (size < needed) size *= 2;
    var bytes = new Uint8Array(size);
    bytes.set(this.bytes.subarray(0, this.length));
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer);
  };

  Writer.prototype.u8 = function (value) {
    this.ensure(1);
    this.bytes[this.length++] = value;
  };

  Writer.prototype.u16 = function (value) {
    this.ensure(2);
    this.view.setUint16(this.length, value);
    this.length += 2;
  };

  Writer.prototype.u32 = function (value) {
    this.ensure(4);
    this.view.setUint32(this.length, value);
    this.length += 4;
  };

  // A 64-bit integer from its high (signed or unsigned) and low 32 bits.
  Writer.prototype.u64 = function (high, low) {
    this.ensure(8);
    this.view.setUint32(this.length, high >>> 0);
    this.view.setUint32(this.length + 4, low);
    this.length += 8;
  };

  Writer.prototype.raw = function (bytes) {
    this.ensure(bytes.length);
    this.bytes.set(bytes, this.length);
    this.length += bytes.length;
  };

  Writer.prototype.sized = function (count, small, b8, b16, b32) {
    if (small !== null && count < small[1]) this.u8(small[0] | count);
    else if (b8 !== null && count < 0x100) { this.u8(b8); this.u8(count); }
    else if (count < 0x10000) { this.u8(b16); this.u16(count); }
    else if (count < TWO_32) { this.u8(b32); this.u32(count); }
    else throw new Error('MessagePack: length ' + count + ' is longer than 4294967295');
  };

  Writer.prototype.number = function (n) {
    if (n === Math.floor(n) && !(n === 0 && 1 / n < 0) && n >= -TWO_63 && n < TWO_64) {
      if (n >= 0) {
        if (n < 0x80) this.u8(n);
        else if (n < 0x100) { this.u8(0xcc); this.u8(n); }
        else if (n < 0x10000) { this.u8(0xcd); this.u16(n); }
        else if (n < TWO_32) { this.u8(0xce); this.u32(n); }
        else { this.u8(0xcf); var high = Math.floor(n / TWO_32); this.u64(high, n - high * TWO_32); }
      } else if (n >= -32) {
        this.u8(0x100 + n);
      } else if (n >= -128) {
        this.u8(0xd0); this.u8(0x100 + n);
      } else if (n >= -32768) {
        this.u8(0xd1); this.u16(0x10000 + n);
      } else if (n >= -2147483648) {
        this.u8(0xd2); this.u32(TWO_32 + n);
      } else {
        this.u8(0xd3);
        var hi = Math.floor(n / TWO_32);
        this.u64(hi, n - hi * TWO_32);
      }
      return;
    }
    this.ensure(9);
    this.bytes[this.length] = 0xcb;
    this.view.setFloat64(this.length + 1, n);
    this.length += 9;
  };

  Writer.prototype.date = function (date) {
    var ms = date.getTime();
    if (ms !== ms) throw new Error('MessagePack: an invalid Date has no timestamp');
    var seconds = Math.floor(ms / 1000);
    var nanoseconds = (ms - seconds * 1000) * 1000000;
    if (seconds >= 0 && seconds < 17179869184) {
      if (nanoseconds === 0 && seconds < TWO_32) {
        this.u8(0xd6); this.u8(0xff); this.u32(seconds);
      } else {
        var secondsHigh = Math.floor(seconds / TWO_32);
        this.u8(0xd7); this.u8(0xff);
        this.u64(nanoseconds * 4 + secondsHigh, seconds - secondsHigh * TWO_32);
      }
    } else {
      this.u8(0xc7); this.u8(12); this.u8(0xff);
      this.u32(nanoseconds);
      var high = Math.floor(seconds / TWO_32);
      this.u64(high, seconds - high * TWO_32);
    }
  };

  Writer.prototype.extension = function (type, data) {
    var count = data.length;
    var fixed = { 1: 0xd4, 2: 0xd5, 4: 0xd6, 8: 0xd7, 16: 0xd8 }[count];
    if (fixed) this.u8(fixed);
    else this.sized(count, null, 0xc7, 0xc8, 0xc9);
    this.u8(type & 0xff);
    this.raw(data);
  };

  Writer.prototype.value = function (value, depth) {
    if (value === null || value === undefined || typeof value === 'function' || typeof value === 'symbol') {
      this.u8(0xc0);
    } else if (value === true) {
      this.u8(0xc3);
    } else if (value === false) {
      this.u8(0xc2);
    } else if (typeof value === 'number') {
      this.number(value);
    } else if (typeof value === 'string') {
      var utf8 = utf8Encode(value);
      this.sized(utf8.length, [0xa0, 32], 0xd9, 0xda, 0xdb);
      this.raw(utf8);
    } else if (isBytes(value)) {
      var bytes = bytesOf(value);
      this.sized(bytes.length, null, 0xc4, 0xc5, 0xc6);
      this.raw(bytes);
    } else if (value instanceof Date || toString.call(value) === '[object Date]') {
      this.date(value);
    } else if (value instanceof Extension) {
      this.extension(value.type, bytesOf(value.data));
    } else {
      if (depth >= MAX_DEPTH) throw new Error('MessagePack: value nested deeper than ' + MAX_DEPTH + ' (a circular reference?)');
      if (Array.isArray(value)) {
        this.sized(value.length, [0x90, 16], null, 0xdc, 0xdd);
        for (var i = 0; i < value.length; i++) this.value(value[i], depth + 1);
      } else {
        var keys = Object.keys(value);
        this.sized(keys.length, [0x80, 16], null, 0xde, 0xdf);
        for (var k = 0; k < keys.length; k++) {
          this.value(keys[k], depth + 1);
          this.value(value[keys[k]], depth + 1);
        }
      }
    }
  };

  function encode(value) {
    var writer = new Writer();
    writer.value(value, 0);
    return writer.bytes.slice(0, writer.length);
  }

  // ---------------------------------------------------------------- reading

  function Reader(bytes) {
    this.bytes = bytes;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.position = 0;
  }

  Reader.prototype.fail = function (reason, at) {
    throw new Error('MessagePack: ' + reason + ' at byte ' + (at === undefined ? this.position : at));
  };

  // Checks that `count` bytes follow, then moves past them and returns where they start.
  Reader.prototype.take = function (count, what, start) {
    var remaining = this.bytes.length - this.position;
    if (count > remaining) this.fail(what + ' of ' + count + ' bytes truncated: ' + remaining + ' present', start);
    var at = this.position;
    this.position += count;
    return at;
  };

  Reader.prototype.u8 = function (what, start) { return this.bytes[this.take(1, what, start)]; };
  Reader.prototype.u16 = function (what, start) { return this.view.getUint16(this.take(2, what, start)); };
  Reader.prototype.u32 = function (what, start) { return this.view.getUint32(this.take(4, what, start)); };

  Reader.prototype.string = function (count, start) {
    var at = this.take(count, 'str', start);
    try {
      return utf8Decode(this.bytes, at, at + count);
    } catch (e) {
      return this.fail('str is not valid UTF-8', start);
    }
  };

  Reader.prototype.binary = function (count, start) {
    var at = this.take(count, 'bin', start);
    return this.bytes.slice(at, at + count);
  };

  Reader.prototype.extension = function (count, start) {
    var type = this.view.getInt8(this.take(1, 'ext', start));
    var at = this.take(count, 'ext', start);
    if (type !== -1) return new Extension(type, this.bytes.slice(at, at + count));
    var seconds;
    var nanoseconds;
    if (count === 4) {
      seconds = this.view.getUint32(at);
      nanoseconds = 0;
    } else if (count === 8) {
      var high = this.view.getUint32(at);
      nanoseconds = Math.floor(high / 4);
      seconds = (high % 4) * TWO_32 + this.view.getUint32(at + 4);
    } else if (count === 12) {
      nanoseconds = this.view.getUint32(at);
      seconds = this.view.getInt32(at + 4) * TWO_32 + this.view.getUint32(at + 8);
    } else {
      this.fail('timestamp extension of ' + count + ' bytes (4, 8 or 12 expected)', start);
    }
    if (nanoseconds > 999999999) this.fail('timestamp nanoseconds ' + nanoseconds + ' above 999999999', start);
    return new Date(seconds * 1000 + Math.floor(nanoseconds / 1000000));
  };

  Reader.prototype.array = function (count, start, depth) {
    if (count > this.bytes.length - this.position) this.fail('array of ' + count + ' elements truncated', start);
    if (depth >= MAX_DEPTH) this.fail('nesting deeper than ' + MAX_DEPTH, start);
    var array = new Array(count);
    for (var i = 0; i < count; i++) array[i] = this.value(depth + 1);
    return array;
  };

  Reader.prototype.map = function (count, start, depth) {
    if (count > (this.bytes.length - this.position) / 2) this.fail('map of ' + count + ' pairs truncated', start);
    if (depth >= MAX_DEPTH) this.fail('nesting deeper than ' + MAX_DEPTH, start);
    var object = {};
    for (var i = 0; i < count; i++) {
      var keyStart = this.position;
      var header = this.bytes[keyStart];
      if ((header >= 0x80 && header < 0xa0) || (header >= 0xc4 && header <= 0xc9) || (header >= 0xd4 && header <= 0xd8) || header >= 0xdc && header <= 0xdf) {
        this.fail('map key is not a string (nor nil, bool, number)', keyStart);
      }
      var key = String(this.value(depth + 1));
      var value = this.value(depth + 1);
      if (key === '__proto__') {
        Object.defineProperty(object, key, { value: value, enumerable: true, writable: true, configurable: true });
      } else {
        object[key] = value;
      }
    }
    return object;
  };

  Reader.prototype.value = function (depth) {
    var start = this.position;
    if (start >= this.bytes.length) this.fail('unexpected end of data');
    var b = this.bytes[this.position++];
    if (b < 0x80) return b;
    if (b < 0x90) return this.map(b & 15, start, depth);
    if (b < 0xa0) return this.array(b & 15, start, depth);
    if (b < 0xc0) return this.string(b & 31, start);
    if (b >= 0xe0) return b - 0x100;
    var view = this.view;
    switch (b) {
      case 0xc0: return null;
      case 0xc1: return this.fail('reserved byte 0xc1', start);
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xc4: return this.binary(this.u8('bin 8', start), start);
      case 0xc5: return this.binary(this.u16('bin 16', start), start);
      case 0xc6: return this.binary(this.u32('bin 32', start), start);
      case 0xc7: return this.extension(this.u8('ext 8', start), start);
      case 0xc8: return this.extension(this.u16('ext 16', start), start);
      case 0xc9: return this.extension(this.u32('ext 32', start), start);
      case 0xca: return view.getFloat32(this.take(4, 'float 32', start));
      case 0xcb: return view.getFloat64(this.take(8, 'float 64', start));
      case 0xcc: return this.u8('uint 8', start);
      case 0xcd: return this.u16('uint 16', start);
      case 0xce: return this.u32('uint 32', start);
      case 0xcf: var u = this.take(8, 'uint 64', start); return view.getUint32(u) * TWO_32 + view.getUint32(u + 4);
      case 0xd0: return view.getInt8(this.take(1, 'int 8', start));
      case 0xd1: return view.getInt16(this.take(2, 'int 16', start));
      case 0xd2: return view.getInt32(this.take(4, 'int 32', start));
      case 0xd3: var s = this.take(8, 'int 64', start); return view.getInt32(s) * TWO_32 + view.getUint32(s + 4);
      case 0xd4: return this.extension(1, start);
      case 0xd5: return this.extension(2, start);
      case 0xd6: return this.extension(4, start);
      case 0xd7: return this.extension(8, start);
      case 0xd8: return this.extension(16, start);
      case 0xd9: return this.string(this.u8('str 8', start), start);
      case 0xda: return this.string(this.u16('str 16', start), start);
      case 0xdb: return this.string(this.u32('str 32', start), start);
      case 0xdc: return this.array(this.u16('array 16', start), start, depth);
      case 0xdd: return this.array(this.u32('array 32', start), start, depth);
      case 0xde: return this.map(this.u16('map 16', start), start, depth);
      default: return this.map(this.u32('map 32', start), start, depth);
    }
  };

  function decode(data) {
    var bytes;
    if (typeof data === 'string') bytes = utf8Encode(data);
    else if (isBytes(data)) bytes = bytesOf(data);
    else throw new Error('MessagePack: cannot decode a ' + toString.call(data));
    var reader = new Reader(bytes);
    var value = reader.value(0);
    if (reader.position !== bytes.length) reader.fail((bytes.length - reader.position) + ' bytes after the value');
    return value;
  }

  return {
    encoder: function (data, fn) {
      var result;
      try {
        result = encode(data);
      } catch (e) {
        fn(e);
        return;
      }
      fn(null, result);
    },
    decoder: function (data, fn) {
      var result;
      try {
        result = decode(data);
      } catch (e) {
        fn(e);
        return;
      }
      fn(null, result);
    }
  };
})()
