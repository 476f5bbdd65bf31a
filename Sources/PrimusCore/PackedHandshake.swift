/// What a long-lived connection keeps of its handshake (the method, the request target and the
/// retained header fields), packed into one byte array.
///
/// A spark lives for hours and is one of thousands; an `HTTPRequestHead` keeps a storage object,
/// an array of header pairs and a heap string for every name or value longer than 15 bytes
/// (`Sec-WebSocket-Key`, its value, `User-Agent`, cookies), several allocations per connection
/// for fields that are rarely read after the handshake. Here they are one allocation, the UTF-8
/// bytes of each string behind its length (LEB128), and are decoded on each read: the strings are
/// rebuilt every time, so a reader that needs them often keeps its own copy.
///
/// Header fields keep their order and their repeats, and names their case; ``values(named:)``
/// matches names ignoring ASCII case, as HTTP does.
package struct PackedHandshake: Sendable {
    /// The method, the target, then each header's name and value: each a LEB128 byte count and
    /// that many bytes of UTF-8.
    private let bytes: [UInt8]

    /// Packs `method`, `target` and `headers` (in their order, repeats included).
    package init<Headers: Sequence>(method: String, target: String, headers: Headers)
    where Headers.Element == (name: String, value: String) {
        var size = Self.packedSize(method) + Self.packedSize(target)
        for header in headers { size += Self.packedSize(header.name) + Self.packedSize(header.value) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(size)  // exactly: a growing array would keep up to twice as much
        Self.append(method, to: &bytes)
        Self.append(target, to: &bytes)
        for header in headers {
            Self.append(header.name, to: &bytes)
            Self.append(header.value, to: &bytes)
        }
        self.bytes = bytes
    }

    /// The request method, as it was sent.
    package var method: String {
        var reader = Reader(bytes: bytes)
        return reader.nextString() ?? ""
    }

    /// The request target (path and query), as it was sent.
    package var target: String {
        var reader = Reader(bytes: bytes)
        reader.skip()
        return reader.nextString() ?? ""
    }

    /// The retained header fields, in order.
    package var headers: Headers { Headers(bytes: bytes) }

    /// The values of every header named `name` (ignoring ASCII case), in order.
    package func values(named name: String) -> [String] {
        var found: [String] = []
        var reader = Reader(bytes: bytes)
        reader.skip()
        reader.skip()
        let wanted = Array(name.utf8)
        while let nameRange = reader.nextRange(), let valueRange = reader.nextRange() {
            if Self.equalIgnoringASCIICase(bytes[nameRange], wanted) {
                found.append(String(decoding: bytes[valueRange], as: UTF8.self))
            }
        }
        return found
    }

    /// The bytes held, for the memory figures (the array's own header aside).
    package var packedByteCount: Int { bytes.count }

    /// The header fields of a ``PackedHandshake``, decoded as they are iterated.
    package struct Headers: Sequence, Sendable {
        fileprivate let bytes: [UInt8]

        package func makeIterator() -> Iterator {
            var reader = Reader(bytes: bytes)
            reader.skip()
            reader.skip()
            return Iterator(reader: reader)
        }

        /// How many header fields there are (a pass over the lengths, no decoding).
        package var count: Int {
            var reader = Reader(bytes: bytes)
            var strings = 0
            while reader.nextRange() != nil { strings += 1 }
            return Swift.max(strings - 2, 0) / 2
        }

        package struct Iterator: IteratorProtocol {
            fileprivate var reader: Reader

            package mutating func next() -> (name: String, value: String)? {
                guard let name = reader.nextString(), let value = reader.nextString() else { return nil }
                return (name, value)
            }
        }
    }

    // MARK: - Encoding

    private static func packedSize(_ string: String) -> Int {
        let count = string.utf8.count
        return lengthSize(count) + count
    }

    /// Bytes of the LEB128 form of `count`: 7 bits each.
    private static func lengthSize(_ count: Int) -> Int {
        var size = 1
        var rest = UInt(count) >> 7
        while rest != 0 {
            size += 1
            rest >>= 7
        }
        return size
    }

    private static func append(_ string: String, to bytes: inout [UInt8]) {
        var rest = UInt(string.utf8.count)
        while rest >= 0x80 {
            bytes.append(UInt8(truncatingIfNeeded: rest) | 0x80)
            rest >>= 7
        }
        bytes.append(UInt8(rest))
        bytes.append(contentsOf: string.utf8)
    }

    private static func equalIgnoringASCIICase(_ stored: ArraySlice<UInt8>, _ wanted: [UInt8]) -> Bool {
        guard stored.count == wanted.count else { return false }
        for (a, b) in zip(stored, wanted) where a != b {
            guard lowercased(a) == lowercased(b) else { return false }
        }
        return true
    }

    private static func lowercased(_ byte: UInt8) -> UInt8 {
        byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
    }
}

/// Walks the length-prefixed strings of a ``PackedHandshake``. The bytes were written by
/// ``PackedHandshake/init(method:target:headers:)`` only, so they are well formed; a truncated
/// tail would end the walk rather than trap.
private struct Reader {
    let bytes: [UInt8]
    var offset = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func nextRange() -> Range<Int>? {
        var length = 0
        var shift = 0
        while true {
            guard offset < bytes.count, shift < Int.bitWidth else { return nil }
            let byte = bytes[offset]
            offset += 1
            length |= Int(byte & 0x7F) << shift
            if byte & 0x80 == 0 { break }
            shift += 7
        }
        guard length >= 0, length <= bytes.count - offset else { return nil }
        defer { offset += length }
        return offset..<(offset + length)
    }

    mutating func nextString() -> String? {
        nextRange().map { String(decoding: bytes[$0], as: UTF8.self) }
    }

    mutating func skip() {
        _ = nextRange()
    }
}
