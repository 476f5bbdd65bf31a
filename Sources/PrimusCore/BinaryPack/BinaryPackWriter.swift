public import NIOCore

/// Writes a ``JSONValue`` in BinaryPack, the format of Primus's `binary` parser (the
/// `binarypack` packages of binaryjs): MessagePack's layout with its own type bytes, where text
/// (`0xb0`–`0xbf`, `0xd8`, `0xd9`) and raw bytes (`0xa0`–`0xaf`, `0xda`, `0xdb`) are distinct.
///
/// Numbers are written as BinaryPack's packer writes them: a whole number in the smallest
/// integer form that holds it (fixnums, then `uint8`, `int8`, `uint16`, `int16`, `uint32`,
/// `int32`, `int64`, `uint64`), anything else as a `float64` (`0xcb`). Unlike the JavaScript
/// packer, NaN and ±Infinity are written as their IEEE 754 doubles, and a whole number beyond
/// 64 bits as a double instead of an error.
///
/// The format has no date or extension type: a ``JSONValue/date(_:)`` is written as its ISO
/// 8601 text (as the json parser writes it; the JavaScript packer writes `Date.toString()`,
/// which depends on the machine's time zone), and a ``JSONValue/extension(type:data:)`` as the
/// map `{"type": n, "data": <raw>}`, the shape ``JSONValue``'s `Codable` form has.
public struct BinaryPackWriter {
    /// The bytes written so far.
    public var buffer: ByteBuffer

    /// Creates a writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        buffer = ByteBuffer()
        buffer.reserveCapacity(capacity)
    }

    /// Appends `value`; a value nested deeper than ``PrimusParsers/maximumDepth``, or a string,
    /// byte run, array or object longer than 2^32 − 1, throws ``PrimusError/encodingFailed(_:)``.
    public mutating func write(_ value: JSONValue) throws(PrimusError) {
        try write(value, depth: 0)
    }

    private mutating func write(_ value: JSONValue, depth: Int) throws(PrimusError) {
        switch value {
        case .null: buffer.writeInteger(UInt8(0xc0))
        case .bool(let bool): buffer.writeInteger(UInt8(bool ? 0xc3 : 0xc2))
        case .number(let number): writeNumber(number)
        case .string(let string): try writeString(string)
        case .binary(let bytes):
            try writeHeader(count: bytes.readableBytes, fixed: 0xa0, short: 0xda, long: 0xdb, what: "byte run")
            buffer.writeImmutableBuffer(bytes)
        case .date(let date):
            try writeString(JSONDateText.iso8601(date))
        case .array(let elements):
            guard depth < PrimusParsers.maximumDepth else { throw Self.tooDeep }
            try writeHeader(count: elements.count, fixed: 0x90, short: 0xdc, long: 0xdd, what: "array")
            for element in elements { try write(element, depth: depth + 1) }
        case .object(let members):
            guard depth < PrimusParsers.maximumDepth else { throw Self.tooDeep }
            try writeHeader(count: members.count, fixed: 0x80, short: 0xde, long: 0xdf, what: "object")
            for (key, member) in members {
                try writeString(key)
                try write(member, depth: depth + 1)
            }
        case .extension(let type, let data):
            buffer.writeInteger(UInt8(0x82))
            try writeString("type")
            writeNumber(Double(type))
            try writeString("data")
            try write(.binary(data), depth: depth + 1)
        }
    }

    private static let tooDeep = PrimusError.encodingFailed(
        "value nested deeper than \(PrimusParsers.maximumDepth) levels (a circular reference?)"
    )

    /// A type byte with the length in its low four bits up to 15, else a 16- or 32-bit length.
    private mutating func writeHeader(count: Int, fixed: UInt8, short: UInt8, long: UInt8, what: String) throws(PrimusError) {
        if count <= 0x0f {
            buffer.writeInteger(fixed | UInt8(count))
        } else if count <= 0xffff {
            buffer.writeInteger(short)
            buffer.writeInteger(UInt16(count))
        } else if count <= 0xffff_ffff {
            buffer.writeInteger(long)
            buffer.writeInteger(UInt32(count))
        } else {
            throw PrimusError.encodingFailed("\(what) of \(count) elements is longer than BinaryPack can hold")
        }
    }

    private mutating func writeString(_ string: String) throws(PrimusError) {
        try writeHeader(count: string.utf8.count, fixed: 0xb0, short: 0xd8, long: 0xd9, what: "string")
        buffer.writeString(string)
    }

    /// Appends `number` in the smallest form that holds it exactly.
    public mutating func writeNumber(_ number: Double) {
        guard number.isFinite, number == number.rounded(.towardZero) else {
            writeDouble(number)
            return
        }
        switch number {
        case -32...127:
            buffer.writeInteger(Int8(number))
        case 0...0xff:
            buffer.writeInteger(UInt8(0xcc))
            buffer.writeInteger(UInt8(number))
        case -0x80...0x7f:
            buffer.writeInteger(UInt8(0xd0))
            buffer.writeInteger(Int8(number))
        case 0...0xffff:
            buffer.writeInteger(UInt8(0xcd))
            buffer.writeInteger(UInt16(number))
        case -0x8000...0x7fff:
            buffer.writeInteger(UInt8(0xd1))
            buffer.writeInteger(Int16(number))
        case 0...0xffff_ffff:
            buffer.writeInteger(UInt8(0xce))
            buffer.writeInteger(UInt32(number))
        case -0x8000_0000...0x7fff_ffff:
            buffer.writeInteger(UInt8(0xd2))
            buffer.writeInteger(Int32(number))
        case -0x1p63..<0x1p63:
            buffer.writeInteger(UInt8(0xd3))
            buffer.writeInteger(Int64(number))
        case 0..<0x1p64:
            buffer.writeInteger(UInt8(0xcf))
            buffer.writeInteger(UInt64(number))
        default:
            writeDouble(number)
        }
    }

    private mutating func writeDouble(_ number: Double) {
        buffer.writeInteger(UInt8(0xcb))
        buffer.writeInteger(number.bitPattern)
    }
}
