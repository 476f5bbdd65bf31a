"""A small BinaryPack encoder and decoder for the interop suite, written from the format.

BinaryPack is the format of Primus's ``binary`` parser (binaryjs's binarypack): MessagePack's
layout with its own type bytes, big-endian throughout.

===========  =============================================================
type byte    value
===========  =============================================================
0x00-0x7f    positive fixnum
0xe0-0xff    negative fixnum (-32..-1)
0x80-0x8f    map of up to 15 entries (key, value, key, value, ...)
0x90-0x9f    array of up to 15 elements
0xa0-0xaf    raw bytes, up to 15
0xb0-0xbf    UTF-8 string, up to 15 bytes
0xc0 / 0xc1  null / undefined
0xc2 / 0xc3  false / true
0xca / 0xcb  float32 / float64
0xcc-0xcf    uint8, uint16, uint32, uint64
0xd0-0xd3    int8, int16, int32, int64
0xd4-0xd7    undefined
0xd8 / 0xd9  string with a 16 / 32-bit length
0xda / 0xdb  raw bytes with a 16 / 32-bit length
0xdc / 0xdd  array with a 16 / 32-bit count
0xde / 0xdf  map with a 16 / 32-bit count
===========  =============================================================

The packer writes a whole number in the first integer form whose range holds it: fixnum,
uint8, int8, uint16, int16, uint32, int32, int64, uint64; other numbers as float64.
"""

from __future__ import annotations

import math
import struct
from typing import Any

MAX_DEPTH = 512


class BinaryPackError(ValueError):
    """Bytes that are not one BinaryPack value."""


def _header(out: bytearray, count: int, fixed: int, short: int, long: int) -> None:
    if count <= 0x0F:
        out.append(fixed | count)
    elif count <= 0xFFFF:
        out.append(short)
        out += struct.pack(">H", count)
    elif count <= 0xFFFFFFFF:
        out.append(long)
        out += struct.pack(">I", count)
    else:
        raise BinaryPackError(f"length {count} does not fit BinaryPack")


def _pack_integer(out: bytearray, n: int) -> None:
    forms = [
        (-0x20, 0x7F, None, ">b"),
        (0, 0xFF, 0xCC, ">B"),
        (-0x80, 0x7F, 0xD0, ">b"),
        (0, 0xFFFF, 0xCD, ">H"),
        (-0x8000, 0x7FFF, 0xD1, ">h"),
        (0, 0xFFFFFFFF, 0xCE, ">I"),
        (-0x80000000, 0x7FFFFFFF, 0xD2, ">i"),
        (-(2**63), 2**63 - 1, 0xD3, ">q"),
        (0, 2**64 - 1, 0xCF, ">Q"),
    ]
    for low, high, type_byte, fmt in forms:
        if low <= n <= high:
            if type_byte is not None:
                out.append(type_byte)
            out += struct.pack(fmt, n)
            return
    out.append(0xCB)
    out += struct.pack(">d", float(n))


def _pack(out: bytearray, value: Any, depth: int) -> None:
    if value is None:
        out.append(0xC0)
    elif value is True:
        out.append(0xC3)
    elif value is False:
        out.append(0xC2)
    elif isinstance(value, int):
        _pack_integer(out, value)
    elif isinstance(value, float):
        if math.isfinite(value) and value == int(value):
            _pack_integer(out, int(value))  # JavaScript numbers: 2.0 is the integer 2
        else:
            out.append(0xCB)
            out += struct.pack(">d", value)
    elif isinstance(value, str):
        data = value.encode("utf-8")
        _header(out, len(data), 0xB0, 0xD8, 0xD9)
        out += data
    elif isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        _header(out, len(data), 0xA0, 0xDA, 0xDB)
        out += data
    elif isinstance(value, (list, tuple)):
        if depth >= MAX_DEPTH:
            raise BinaryPackError("nesting too deep")
        _header(out, len(value), 0x90, 0xDC, 0xDD)
        for element in value:
            _pack(out, element, depth + 1)
    elif isinstance(value, dict):
        if depth >= MAX_DEPTH:
            raise BinaryPackError("nesting too deep")
        _header(out, len(value), 0x80, 0xDE, 0xDF)
        for key, member in value.items():
            _pack(out, str(key), depth + 1)
            _pack(out, member, depth + 1)
    else:
        raise BinaryPackError(f"cannot pack {type(value).__name__}")


def pack(value: Any) -> bytes:
    """The BinaryPack bytes of ``value`` (None, bool, int, float, str, bytes, list, dict)."""
    out = bytearray()
    _pack(out, value, 0)
    return bytes(out)


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data = data
        self.index = 0

    def take(self, count: int) -> bytes:
        if count > len(self.data) - self.index:
            raise BinaryPackError(f"{count} bytes run past the end at byte {self.index}")
        chunk = self.data[self.index : self.index + count]
        self.index += count
        return chunk

    def number(self, fmt: str) -> Any:
        return struct.unpack(fmt, self.take(struct.calcsize(fmt)))[0]

    def value(self, depth: int) -> Any:
        (type_byte,) = self.take(1)
        if type_byte <= 0x7F:
            return type_byte
        if type_byte >= 0xE0:
            return type_byte - 0x100
        if type_byte <= 0x8F:
            return self.map(type_byte & 0x0F, depth)
        if type_byte <= 0x9F:
            return self.array(type_byte & 0x0F, depth)
        if type_byte <= 0xAF:
            return self.take(type_byte & 0x0F)
        if type_byte <= 0xBF:
            return self.take(type_byte & 0x0F).decode("utf-8")
        simple = {0xC0: None, 0xC1: None, 0xC2: False, 0xC3: True, 0xD4: None, 0xD5: None, 0xD6: None, 0xD7: None}
        if type_byte in simple:
            return simple[type_byte]
        numbers = {0xCA: ">f", 0xCB: ">d", 0xCC: ">B", 0xCD: ">H", 0xCE: ">I", 0xCF: ">Q",
                   0xD0: ">b", 0xD1: ">h", 0xD2: ">i", 0xD3: ">q"}
        if type_byte in numbers:
            return self.number(numbers[type_byte])
        if type_byte in (0xD8, 0xD9):
            return self.take(self.number(">H" if type_byte == 0xD8 else ">I")).decode("utf-8")
        if type_byte in (0xDA, 0xDB):
            return self.take(self.number(">H" if type_byte == 0xDA else ">I"))
        if type_byte in (0xDC, 0xDD):
            return self.array(self.number(">H" if type_byte == 0xDC else ">I"), depth)
        if type_byte in (0xDE, 0xDF):
            return self.map(self.number(">H" if type_byte == 0xDE else ">I"), depth)
        raise BinaryPackError(f"unknown type byte {type_byte:#x} at byte {self.index - 1}")

    def array(self, count: int, depth: int) -> list[Any]:
        if depth >= MAX_DEPTH or count > len(self.data) - self.index:
            raise BinaryPackError(f"array of {count} does not fit at byte {self.index}")
        return [self.value(depth + 1) for _ in range(count)]

    def map(self, count: int, depth: int) -> dict[str, Any]:
        if depth >= MAX_DEPTH or count > (len(self.data) - self.index) // 2:
            raise BinaryPackError(f"map of {count} does not fit at byte {self.index}")
        result: dict[str, Any] = {}
        for _ in range(count):
            key = self.value(depth + 1)
            result[key if isinstance(key, str) else str(key)] = self.value(depth + 1)
        return result


def unpack(data: bytes) -> Any:
    """The value of ``data``, exactly one BinaryPack value; raw bytes come back as ``bytes``."""
    reader = _Reader(bytes(data))
    value = reader.value(0)
    if reader.index != len(reader.data):
        raise BinaryPackError(f"{len(reader.data) - reader.index} bytes after the value")
    return value
