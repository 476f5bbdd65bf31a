// The binary parser's browser codec: BinaryPack (the format of binaryjs's binarypack, which
// Primus's `binary` parser uses), in ES5, as one expression evaluating to { encoder, decoder }.
// Each calls fn(err, result) exactly once, synchronously.
//
// Format: MessagePack's layout with BinaryPack's type bytes. Fixnums 0x00-0x7f and 0xe0-0xff,
// maps 0x80-0x8f, arrays 0x90-0x9f, raw bytes 0xa0-0xaf, UTF-8 strings 0xb0-0xbf (length in
// the low four bits), 0xc0 null, 0xc1 undefined, 0xc2/0xc3 false/true, 0xca/0xcb float32/64,
// 0xcc-0xcf uint8-64, 0xd0-0xd3 int8-64, 0xd4-0xd7 undefined, 0xd8/0xd9 string16/32,
// 0xda/0xdb raw16/32, 0xdc/0xdd array16/32, 0xde/0xdf map16/32; big-endian throughout.
//
// The encoder takes any JSON-like value; ArrayBuffer and typed arrays (Node Buffers too) are
// raw bytes, a Date is its ISO 8601 text, NaN and Infinity are float64. It produces an
// ArrayBuffer. The decoder takes an ArrayBuffer, a typed array or a Node Buffer, gives raw
// bytes as ArrayBuffers, and rejects truncated or malformed input, lengths beyond the bytes
// present (before allocating) and nesting deeper than 512 levels.
(function () {
  'use strict';

  var MAX_DEPTH = 512;
  var TWO_32 = 4294967296;
  var TWO_63 = 9223372036854775808;
  var TWO_64 = 18446744073709551616;

  // ---------------------------------------------------------------- UTF-8

  function utf8Encode(text) {
    var bytes = [], i, code, next;
    for (i = 0; i < text.length; i++) {
      code = text.charCodeAt(i);
      if (code >= 0xd800 && code <= 0xdbff && i + 1 < text.length) {
        next = text.charCodeAt(i + 1);
        if (next >= 0xdc00 && next <= 0xdfff) {
          code = 0x10000 + ((code - 0xd800) << 10) + (next - 0xdc00);
          i++;
        }
      }
      if (code >= 0xd800 && code <= 0xdfff) code = 0xfffd; // a lone surrogate
      if (code < 0x80) {
        bytes.push(code);
      } else if (code < 0x800) {
        bytes.push(0xc0 | code >> 6, 0x80 | code & 63);
      } else if (code < 0x10000) {
        bytes.push(0xe0 | code >> 12, 0x80 | code >> 6 & 63, 0x80 | code & 63);
      } else {
        bytes.push(0xf0 | code >> 18, 0x80 | code >> 12 & 63, 0x80 | code >> 6 & 63, 0x80 | code & 63);
      }
    }
    return bytes;
  }

  // Strict UTF-8: returns null for bytes that are not UTF-8.
  function utf8Decode(bytes, start, end) {
    var units = [], out = '', i = start, b, code, need, min;
    while (i < end) {
      b = bytes[i++];
      if (b < 0x80) {
        code = b;
        need = 0;
      } else if (b >= 0xc2 && b <= 0xdf) {
        code = b & 0x1f; need = 1; min = 0x80;
      } else if (b >= 0xe0 && b <= 0xef) {
        code = b & 0x0f; need = 2; min = 0x800;
      } else if (b >= 0xf0 && b <= 0xf4) {
        code = b & 0x07; need = 3; min = 0x10000;
      } else {
        return null;
      }
      if (need) {
        if (i + need > end) return null;
        while (need--) {
          b = bytes[i++];
          if ((b & 0xc0) !== 0x80) return null;
          code = code << 6 | b & 63;
        }
        if (code < min || code > 0x10ffff || (code >= 0xd800 && code <= 0xdfff)) return null;
      }
      if (code >= 0x10000) {
        code -= 0x10000;
        units.push(0xd800 + (code >> 10), 0xdc00 + (code & 0x3ff));
      } else {
        units.push(code);
      }
      if (units.length >= 8192) {
        out += String.fromCharCode.apply(null, units);
        units = [];
      }
    }
    return out + String.fromCharCode.apply(null, units);
  }

  var fatalDecoder = null;
  try {
    if (typeof TextDecoder === 'function') fatalDecoder = new TextDecoder('utf-8', { fatal: true });
  } catch (e) {
    fatalDecoder = null;
  }

  function decodeText(bytes, start, end) {
    if (fatalDecoder && end - start > 64) {
      try {
        return fatalDecoder.decode(bytes.subarray(start, end));
      } catch (e) {
        return null;
      }
    }
    return utf8Decode(bytes, start, end);
  }

  // ---------------------------------------------------------------- packing

  function Writer() {
    this.bytes = new Uint8Array(64);
    this.length = 0;
  }

  Writer.prototype.reserve = function reserve(count) {
    if (this.length + count <= this.bytes.length) return;
    var size = this.bytes.length * 2;
    while (size < this.length + count) size *= 2;
    var grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  };

  Writer.prototype.byte = function byte(value) {
    this.reserve(1);
    this.bytes[this.length++] = value & 0xff;
  };

  Writer.prototype.uint16 = function uint16(value) {
    this.byte(value >>> 8);
    this.byte(value);
  };

  Writer.prototype.uint32 = function uint32(value) {
    this.byte(value >>> 24);
    this.byte(value >>> 16);
    this.byte(value >>> 8);
    this.byte(value);
  };

  Writer.prototype.append = function append(bytes) {
    this.reserve(bytes.length);
    if (bytes instanceof Uint8Array) {
      this.bytes.set(bytes, this.length);
    } else {
      for (var i = 0; i < bytes.length; i++) this.bytes[this.length + i] = bytes[i];
    }
    this.length += bytes.length;
  };

  Writer.prototype.float64 = function float64(value) {
    this.byte(0xcb);
    this.reserve(8);
    new DataView(this.bytes.buffer).setFloat64(this.length, value, false);
    this.length += 8;
  };

  Writer.prototype.header = function header(count, fixed, short, long) {
    if (count <= 0x0f) {
      this.byte(fixed | count);
    } else if (count <= 0xffff) {
      this.byte(short);
      this.uint16(count);
    } else if (count <= 0xffffffff) {
      this.byte(long);
      this.uint32(count);
    } else {
      throw new Error('BinaryPack cannot hold a length of ' + count);
    }
  };

  Writer.prototype.string = function string(text) {
    var bytes = utf8Encode(text);
    this.header(bytes.length, 0xb0, 0xd8, 0xd9);
    this.append(bytes);
  };

  Writer.prototype.number = function number(value) {
    if (!isFinite(value) || Math.floor(value) !== value) return this.float64(value);
    var high;
    if (value >= -0x20 && value <= 0x7f) {
      this.byte(value);
    } else if (value >= 0 && value <= 0xff) {
      this.byte(0xcc); this.byte(value);
    } else if (value >= -0x80 && value <= 0x7f) {
      this.byte(0xd0); this.byte(value);
    } else if (value >= 0 && value <= 0xffff) {
      this.byte(0xcd); this.uint16(value);
    } else if (value >= -0x8000 && value <= 0x7fff) {
      this.byte(0xd1); this.uint16(value & 0xffff);
    } else if (value >= 0 && value <= 0xffffffff) {
      this.byte(0xce); this.uint32(value);
    } else if (value >= -0x80000000 && value <= 0x7fffffff) {
      this.byte(0xd2); this.uint32(value >>> 0);
    } else if (value >= -TWO_63 && value < TWO_63) {
      high = Math.floor(value / TWO_32);
      this.byte(0xd3); this.uint32(high >>> 0); this.uint32(value - high * TWO_32);
    } else if (value >= 0 && value < TWO_64) {
      high = Math.floor(value / TWO_32);
      this.byte(0xcf); this.uint32(high); this.uint32(value - high * TWO_32);
    } else {
      this.float64(value);
    }
  };

  function isArrayBuffer(value) {
    return Object.prototype.toString.call(value) === '[object ArrayBuffer]';
  }

  function viewBytes(value) {
    if (isArrayBuffer(value)) return new Uint8Array(value);
    if (typeof ArrayBuffer.isView === 'function' && ArrayBuffer.isView(value)) {
      return new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    }
    return null;
  }

  function pack(writer, value, depth) {
    var type = typeof value, bytes, keys, i;
    if (value === null || type === 'undefined') return writer.byte(0xc0);
    if (type === 'boolean') return writer.byte(value ? 0xc3 : 0xc2);
    if (type === 'number') return writer.number(value);
    if (type === 'string') return writer.string(value);
    if (type !== 'object') throw new Error('BinaryPack cannot encode a ' + type);
    if (Object.prototype.toString.call(value) === '[object Date]') return writer.string(value.toISOString());
    bytes = viewBytes(value);
    if (bytes) {
      writer.header(bytes.length, 0xa0, 0xda, 0xdb);
      return writer.append(bytes);
    }
    if (depth >= MAX_DEPTH) throw new Error('value nested deeper than ' + MAX_DEPTH + ' levels (a circular reference?)');
    if (Object.prototype.toString.call(value) === '[object Array]') {
      writer.header(value.length, 0x90, 0xdc, 0xdd);
      for (i = 0; i < value.length; i++) pack(writer, value[i], depth + 1);
      return;
    }
    keys = Object.keys(value);
    writer.header(keys.length, 0x80, 0xde, 0xdf);
    for (i = 0; i < keys.length; i++) {
      writer.string(keys[i]);
      pack(writer, value[keys[i]], depth + 1);
    }
  }

  // ---------------------------------------------------------------- unpacking

  function Reader(bytes) {
    this.bytes = bytes;
    this.index = 0;
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  Reader.prototype.fail = function fail(reason, offset) {
    return new Error(reason + ' at byte ' + (offset === undefined ? this.index : offset));
  };

  Reader.prototype.remaining = function remaining() {
    return this.bytes.length - this.index;
  };

  Reader.prototype.need = function need(width) {
    if (this.remaining() < width) throw this.fail('unexpected end of input: ' + width + '-byte number');
  };

  Reader.prototype.uint = function uint(width) {
    this.need(width);
    var at = this.index, value;
    this.index += width;
    if (width === 1) return this.bytes[at];
    if (width === 2) return this.view.getUint16(at, false);
    if (width === 4) return this.view.getUint32(at, false);
    value = this.view.getUint32(at, false) * TWO_32 + this.view.getUint32(at + 4, false);
    return value;
  };

  Reader.prototype.int = function int(width) {
    this.need(width);
    var at = this.index;
    this.index += width;
    if (width === 1) return this.view.getInt8(at);
    if (width === 2) return this.view.getInt16(at, false);
    if (width === 4) return this.view.getInt32(at, false);
    return this.view.getInt32(at, false) * TWO_32 + this.view.getUint32(at + 4, false);
  };

  Reader.prototype.take = function take(count, what) {
    if (count > this.remaining()) {
      throw this.fail(what + ' of ' + count + ' bytes runs past the end (' + this.remaining() + ' left)');
    }
    var start = this.index;
    this.index += count;
    return start;
  };

  Reader.prototype.raw = function raw(count) {
    var start = this.take(count, 'raw');
    return this.bytes.buffer.slice(this.bytes.byteOffset + start, this.bytes.byteOffset + start + count);
  };

  Reader.prototype.string = function string(count) {
    var start = this.take(count, 'string');
    var text = decodeText(this.bytes, start, start + count);
    if (text === null) throw this.fail('string is not UTF-8', start);
    return text;
  };

  Reader.prototype.array = function array(count, depth) {
    if (depth >= MAX_DEPTH) throw this.fail('nesting deeper than ' + MAX_DEPTH);
    if (count > this.remaining()) {
      throw this.fail('array of ' + count + ' elements runs past the end (' + this.remaining() + ' bytes left)');
    }
    var elements = new Array(count);
    for (var i = 0; i < count; i++) elements[i] = this.value(depth + 1);
    return elements;
  };

  Reader.prototype.map = function map(count, depth) {
    if (depth >= MAX_DEPTH) throw this.fail('nesting deeper than ' + MAX_DEPTH);
    if (count > Math.floor(this.remaining() / 2)) {
      throw this.fail('map of ' + count + ' entries runs past the end (' + this.remaining() + ' bytes left)');
    }
    var object = {}, i, at, key, value;
    for (i = 0; i < count; i++) {
      at = this.index;
      key = this.value(depth + 1);
      if (key !== null && typeof key !== 'string' && typeof key !== 'number' && typeof key !== 'boolean') {
        throw this.fail('map key is ' + (isArrayBuffer(key) ? 'binary data' : Object.prototype.toString.call(key) === '[object Array]' ? 'an array' : 'an object') + ', not a string', at);
      }
      key = String(key);
      value = this.value(depth + 1);
      if (key === '__proto__') {
        Object.defineProperty(object, key, { value: value, enumerable: true, writable: true, configurable: true });
      } else {
        object[key] = value;
      }
    }
    return object;
  };

  Reader.prototype.value = function value(depth) {
    if (this.index >= this.bytes.length) throw this.fail('unexpected end of input');
    var type = this.bytes[this.index++];
    if (type <= 0x7f) return type;
    if (type >= 0xe0) return type - 0x100;
    if (type <= 0x8f) return this.map(type & 0x0f, depth);
    if (type <= 0x9f) return this.array(type & 0x0f, depth);
    if (type <= 0xaf) return this.raw(type & 0x0f);
    if (type <= 0xbf) return this.string(type & 0x0f);
    switch (type) {
      case 0xc0: case 0xc1: case 0xd4: case 0xd5: case 0xd6: case 0xd7: return null;
      case 0xc2: return false;
      case 0xc3: return true;
      case 0xca: this.need(4); this.index += 4; return this.view.getFloat32(this.index - 4, false);
      case 0xcb: this.need(8); this.index += 8; return this.view.getFloat64(this.index - 8, false);
      case 0xcc: return this.uint(1);
      case 0xcd: return this.uint(2);
      case 0xce: return this.uint(4);
      case 0xcf: return this.uint(8);
      case 0xd0: return this.int(1);
      case 0xd1: return this.int(2);
      case 0xd2: return this.int(4);
      case 0xd3: return this.int(8);
      case 0xd8: return this.string(this.uint(2));
      case 0xd9: return this.string(this.uint(4));
      case 0xda: return this.raw(this.uint(2));
      case 0xdb: return this.raw(this.uint(4));
      case 0xdc: return this.array(this.uint(2), depth);
      case 0xdd: return this.array(this.uint(4), depth);
      case 0xde: return this.map(this.uint(2), depth);
      case 0xdf: return this.map(this.uint(4), depth);
    }
    throw this.fail('unknown type byte 0x' + type.toString(16), this.index - 1);
  };

  function unpack(data) {
    var bytes = viewBytes(data);
    if (!bytes) throw new Error('BinaryPack decodes bytes (ArrayBuffer, typed array or Buffer), not a ' + typeof data);
    var reader = new Reader(bytes);
    var value = reader.value(0);
    if (reader.index !== bytes.length) throw reader.fail((bytes.length - reader.index) + ' bytes after the value');
    return value;
  }

  return {
    encoder: function encoder(data, fn) {
      var err, packet;
      try {
        var writer = new Writer();
        pack(writer, data, 0);
        packet = writer.bytes.buffer.slice(0, writer.length);
      } catch (e) {
        err = e;
        packet = undefined;
      }
      fn(err, packet);
    },

    decoder: function decoder(data, fn) {
      var err, value;
      try {
        value = unpack(data);
      } catch (e) {
        err = e;
        value = undefined;
      }
      fn(err, value);
    }
  };
})()
