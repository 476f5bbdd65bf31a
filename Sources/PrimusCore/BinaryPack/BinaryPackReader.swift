import NIOCore

/// Reads one BinaryPack value (see ``BinaryPackWriter`` for the format) into a ``JSONValue``.
///
/// Input comes from the network, so every failure is a thrown ``BinaryPackReader/Failure``
/// with the byte offset: a length is checked against the bytes actually present before
/// anything is allocated for it, nesting is limited to ``PrimusParsers/maximumDepth``, and the
/// value must use every byte. Strings must be UTF-8; raw bytes become ``JSONValue/binary(_:)``.
///
/// What the JavaScript unpacker reads as `undefined` (`0xc1`, `0xd4`–`0xd7`) reads as `null`,
/// as `JSON.stringify` would write it. The type bytes the format does not define (`0xc4`–`0xc9`)
/// are errors. Map keys are strings, or numbers, booleans and `null`, which JavaScript turns
/// into their text as keys.
public struct BinaryPackReader {
    /// Why bytes are not BinaryPack, and where.
    public struct Failure: Error, Hashable, Sendable, CustomStringConvertible {
        /// What was wrong.
        public var reason: String
        /// The byte offset at which it was found.
        public var offset: Int

        /// The reason and the offset, for logs and error messages.
        public var description: String { "\(reason) at byte \(offset)" }
    }

    /// Parses `bytes` as exactly one BinaryPack value.
    public static func parse(_ bytes: UnsafeRawBufferPointer) throws(Failure) -> JSONValue {
        var reader = BinaryPackReader(bytes: bytes)
        let value = try reader.readValue(depth: 0)
        guard reader.index == bytes.count else { throw reader.failure("\(bytes.count - reader.index) bytes after the value") }
        return value
    }

    /// The string that `bytes` encode, when they are exactly one BinaryPack string starting
    /// with `prefix`; `nil` for anything else, without decoding it.
    static func string(in bytes: UnsafeRawBufferPointer, withPrefix prefix: StaticString) -> String? {
        guard let first = bytes.first else { return nil }
        let start: Int
        let length: Int
        switch first {
        case 0xb0...0xbf:
            (start, length) = (1, Int(first & 0x0f))
        case 0xd8 where bytes.count >= 3:
            (start, length) = (3, Int(bytes[1]) << 8 | Int(bytes[2]))
        case 0xd9 where bytes.count >= 5:
            (start, length) = (5, Int(bytes[1]) << 24 | Int(bytes[2]) << 16 | Int(bytes[3]) << 8 | Int(bytes[4]))
        default:
            return nil
        }
        let prefixCount = prefix.utf8CodeUnitCount
        guard start + length == bytes.count, length >= prefixCount else { return nil }
        let text = UnsafeRawBufferPointer(rebasing: bytes[start...])
        guard prefix.withUTF8Buffer({ text.starts(with: $0) }) else { return nil }
        return String(validating: text, as: UTF8.self)
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    private init(bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    private func failure(_ reason: String) -> Failure {
        Failure(reason: reason, offset: index)
    }

    private var remaining: Int { bytes.count - index }

    private mutating func readByte() throws(Failure) -> UInt8 {
        guard index < bytes.count else { throw failure("unexpected end of input") }
        defer { index += 1 }
        return bytes[index]
    }

    /// A big-endian unsigned integer of `width` bytes.
    private mutating func readUnsigned(_ width: Int) throws(Failure) -> UInt64 {
        guard remaining >= width else { throw failure("unexpected end of input: \(width)-byte number") }
        var value: UInt64 = 0
        for offset in 0..<width { value = value << 8 | UInt64(bytes[index + offset]) }
        index += width
        return value
    }

    private mutating func readLength(_ width: Int) throws(Failure) -> Int {
        Int(try readUnsigned(width))
    }

    private mutating func readValue(depth: Int) throws(Failure) -> JSONValue {
        let type = try readByte()
        switch type {
        case 0x00...0x7f: return .number(Double(type))
        case 0xe0...0xff: return .number(Double(Int8(bitPattern: type)))
        case 0x80...0x8f: return try readMap(count: Int(type & 0x0f), depth: depth)
        case 0x90...0x9f: return try readArray(count: Int(type & 0x0f), depth: depth)
        case 0xa0...0xaf: return .binary(try readRaw(count: Int(type & 0x0f)))
        case 0xb0...0xbf: return .string(try readString(count: Int(type & 0x0f)))
        case 0xc0, 0xc1, 0xd4...0xd7: return .null
        case 0xc2: return .bool(false)
        case 0xc3: return .bool(true)
        case 0xca: return .number(Double(Float(bitPattern: UInt32(try readUnsigned(4)))))
        case 0xcb: return .number(Double(bitPattern: try readUnsigned(8)))
        case 0xcc: return .number(Double(try readUnsigned(1)))
        case 0xcd: return .number(Double(try readUnsigned(2)))
        case 0xce: return .number(Double(try readUnsigned(4)))
        case 0xcf: return .number(Double(try readUnsigned(8)))
        case 0xd0: return .number(Double(Int8(truncatingIfNeeded: try readUnsigned(1))))
        case 0xd1: return .number(Double(Int16(truncatingIfNeeded: try readUnsigned(2))))
        case 0xd2: return .number(Double(Int32(truncatingIfNeeded: try readUnsigned(4))))
        case 0xd3: return .number(Double(Int64(bitPattern: try readUnsigned(8))))
        case 0xd8: return .string(try readString(count: readLength(2)))
        case 0xd9: return .string(try readString(count: readLength(4)))
        case 0xda: return .binary(try readRaw(count: readLength(2)))
        case 0xdb: return .binary(try readRaw(count: readLength(4)))
        case 0xdc: return try readArray(count: readLength(2), depth: depth)
        case 0xdd: return try readArray(count: readLength(4), depth: depth)
        case 0xde: return try readMap(count: readLength(2), depth: depth)
        case 0xdf: return try readMap(count: readLength(4), depth: depth)
        default:
            index -= 1
            throw failure("unknown type byte 0x\(String(type, radix: 16))")
        }
    }

    private mutating func take(_ count: Int, _ what: String) throws(Failure) -> UnsafeRawBufferPointer {
        guard count <= remaining else { throw failure("\(what) of \(count) bytes runs past the end (\(remaining) left)") }
        defer { index += count }
        return UnsafeRawBufferPointer(rebasing: bytes[index..<index + count])
    }

    private mutating func readRaw(count: Int) throws(Failure) -> ByteBuffer {
        let slice = try take(count, "raw")
        return ByteBuffer(bytes: slice)
    }

    private mutating func readString(count: Int) throws(Failure) -> String {
        let start = index
        let slice = try take(count, "string")
        guard let string = String(validating: slice, as: UTF8.self) else {
            throw Failure(reason: "string is not UTF-8", offset: start)
        }
        return string
    }

    private mutating func readArray(count: Int, depth: Int) throws(Failure) -> JSONValue {
        guard depth < PrimusParsers.maximumDepth else { throw failure("nesting deeper than \(PrimusParsers.maximumDepth)") }
        // Every element takes at least one byte: a count beyond the bytes left is a lie, and
        // is refused before anything is reserved for it.
        guard count <= remaining else { throw failure("array of \(count) elements runs past the end (\(remaining) bytes left)") }
        var elements: [JSONValue] = []
        elements.reserveCapacity(count)
        for _ in 0..<count { elements.append(try readValue(depth: depth + 1)) }
        return .array(elements)
    }

    private mutating func readMap(count: Int, depth: Int) throws(Failure) -> JSONValue {
        guard depth < PrimusParsers.maximumDepth else { throw failure("nesting deeper than \(PrimusParsers.maximumDepth)") }
        guard count <= remaining / 2 else { throw failure("map of \(count) entries runs past the end (\(remaining) bytes left)") }
        var members = JSONObject()
        members.reserveCapacity(count)
        for _ in 0..<count {
            let keyOffset = index
            let key: String
            switch try readValue(depth: depth + 1) {
            case .string(let text): key = text
            case .number(let number): key = Self.keyText(number)
            case .bool(let bool): key = bool ? "true" : "false"
            case .null: key = "null"
            case let other:
                throw Failure(reason: "map key is \(ValueCodingText.kind(of: other)), not a string", offset: keyOffset)
            }
            members[key] = try readValue(depth: depth + 1)
        }
        return .object(members)
    }

    /// A number as JavaScript's `String(n)` writes it when it becomes an object key.
    private static func keyText(_ number: Double) -> String {
        if number.isNaN { return "NaN" }
        if number.isInfinite { return number < 0 ? "-Infinity" : "Infinity" }
        return JSONWriter.format(number)
    }
}
