public import NIOCore

/// Writes a ``JSONValue`` as MessagePack, each value in its smallest form, as the reference
/// implementations write it, straight into a `ByteBuffer`.
///
/// A number that is integral and fits Int64 or UInt64 is written as the smallest integer form
/// (positive or negative fixint, then uint/int 8, 16, 32, 64); any other number as float 64,
/// `-0` included, so a JavaScript peer gets back the number it sent. Strings use fixstr, str
/// 8, 16 or 32 by UTF-8 length, bytes bin 8, 16 or 32, arrays and maps their fix, 16 and 32
/// forms with map pairs in the object's order, a date the smallest timestamp form
/// (``MessagePackTimestamp``), an extension value fixext 1, 2, 4, 8, 16 or ext 8, 16, 32.
public struct MessagePackWriter {
    /// The bytes written so far.
    public var buffer: ByteBuffer

    /// Creates a writer that appends to `buffer`.
    public init(buffer: ByteBuffer) {
        self.buffer = buffer
    }

    /// Creates a writer with room for `capacity` bytes.
    public init(capacity: Int = 64) {
        self.buffer = ByteBuffer()
        self.buffer.reserveCapacity(capacity)
    }

    /// The bytes written so far, as an array.
    public var bytes: [UInt8] { Array(buffer.readableBytesView) }

    /// Appends the MessagePack of `value`.
    ///
    /// - Throws: ``PrimusError/encodingFailed(_:)`` for a value nested deeper than
    ///   ``PrimusParsers/maximumDepth``, a date no timestamp can hold, or a length beyond the
    ///   format's 32 bits; what was written before the error stays in ``buffer``.
    public mutating func write(_ value: JSONValue) throws(PrimusError) {
        try write(value, depth: 0)
    }

    /// Appends `value`, which sits inside `depth` containers.
    mutating func write(_ value: JSONValue, depth: Int) throws(PrimusError) {
        try Self.write(value, depth: depth, to: &buffer)
    }

    /// Appends `value`, which sits inside `depth` containers, to `buffer` (also for
    /// ``MessagePackEncoder``, which writes ``JSONValue`` members this way).
    static func write(_ value: JSONValue, depth: Int, to buffer: inout ByteBuffer) throws(PrimusError) {
        switch value {
        case .null: buffer.writeMessagePackNil()
        case .bool(let value): buffer.writeMessagePackBool(value)
        case .number(let value): buffer.writeMessagePackNumber(value)
        case .string(let value): try buffer.writeMessagePackString(value)
        case .binary(let bytes): try buffer.writeMessagePackBinary(bytes.readableBytesView)
        case .date(let date): try MessagePackTimestamp.write(date, to: &buffer)
        case .extension(let type, let bytes): try buffer.writeMessagePackExtension(type: type, bytes.readableBytesView)
        case .array(let elements):
            try checkDepth(depth)
            try buffer.writeMessagePackArrayHeader(elements.count)
            for element in elements { try write(element, depth: depth + 1, to: &buffer) }
        case .object(let members):
            try checkDepth(depth)
            try buffer.writeMessagePackMapHeader(members.count)
            for (key, member) in members {
                try buffer.writeMessagePackString(key)
                try write(member, depth: depth + 1, to: &buffer)
            }
        }
    }

    private static func checkDepth(_ depth: Int) throws(PrimusError) {
        guard depth < PrimusParsers.maximumDepth else {
            throw PrimusError.encodingFailed("MessagePack: value nested deeper than \(PrimusParsers.maximumDepth)")
        }
    }
}
