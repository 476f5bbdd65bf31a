public import NIOCore
public import struct Foundation.Data
public import struct Foundation.Date
public import struct Foundation.URL

/// Decodes `Decodable` values straight from MessagePack bytes, for the `msgpack` parser's
/// ``MessagePackParser/decode(_:from:for:)`` and for applications that have the bytes.
///
/// The mapping is ``MessagePackEncoder``'s, read leniently where no information is lost: an
/// integer type takes any integer (or integral float) that fits it exactly, `Double` and
/// `Float` take any number, `Data` takes bin, `Date` takes the timestamp extension, a
/// ``JSONValue`` takes anything (as ``MessagePackReader`` reads it). Map keys are read as
/// ``MessagePackReader`` reads them; a key repeated takes its last value.
///
/// The whole message is checked first (truncation, lengths beyond the bytes present, the
/// reserved byte, bytes after the value, nesting deeper than ``PrimusParsers/maximumDepth``):
/// malformed bytes throw `DecodingError.dataCorrupted`, whose underlying error is the
/// ``PrimusError/decodingFailed(_:)`` the parser reports, and never trap.
public struct MessagePackDecoder: Sendable {
    /// Values the types being decoded can read from `Decoder.userInfo`.
    public var userInfo: [CodingUserInfoKey: any Sendable] = [:]

    /// Creates a decoder.
    public init() {}

    /// The value of `type` that `buffer`'s readable bytes hold, which must be exactly one
    /// MessagePack value.
    public func decode<T: Decodable>(_ type: T.Type, from buffer: ByteBuffer) throws -> T {
        var scanner = MessagePackScanner(buffer)
        do throws(MessagePackFailure) {
            try scanner.skipValue()
            guard scanner.remaining == 0 else { throw scanner.failure("\(scanner.remaining) bytes after the value") }
        } catch {
            throw MessagePackDecoding.corrupted(error, codingPath: [])
        }
        let decoder = MessagePackDecoding(buffer: buffer, offset: buffer.readerIndex, codingPath: [], userInfo: userInfo, depth: 0)
        return try decoder.decodeValue(type)
    }

    /// The value of `type` that `data` holds.
    public func decode<T: Decodable>(_ type: T.Type, from data: Data) throws -> T {
        var buffer = ByteBuffer()
        buffer.writeBytes(data)
        return try decode(type, from: buffer)
    }
}

/// The `Decoder` of one value of a message, found at ``offset``; also its single value
/// container.
final class MessagePackDecoding: Decoder, SingleValueDecodingContainer {
    typealias Token = MessagePackScanner.Token

    let buffer: ByteBuffer
    /// Where this value's header is.
    let offset: Int
    let codingPath: [any CodingKey]
    let userInfo: [CodingUserInfoKey: Any]
    /// How many values enclose this one.
    let depth: Int

    init(buffer: ByteBuffer, offset: Int, codingPath: [any CodingKey], userInfo: [CodingUserInfoKey: Any], depth: Int) {
        self.buffer = buffer
        self.offset = offset
        self.codingPath = codingPath
        self.userInfo = userInfo
        self.depth = depth
    }

    /// The decoder of the value at `offset`, nested in this one under `key`.
    func nested(at offset: Int, key: (any CodingKey)?) -> MessagePackDecoding {
        MessagePackDecoding(buffer: buffer, offset: offset, codingPath: key.map { codingPath + [$0] } ?? codingPath, userInfo: userInfo, depth: depth + 1)
    }

    /// `DecodingError.dataCorrupted` for malformed bytes.
    static func corrupted(_ failure: MessagePackFailure, codingPath: [any CodingKey]) -> DecodingError {
        DecodingError.dataCorrupted(
            DecodingError.Context(codingPath: codingPath, debugDescription: failure.description, underlyingError: failure.primusError)
        )
    }

    /// A scanner at `offset`, and the token there.
    func token(at offset: Int, path: [any CodingKey]) throws -> (Token, MessagePackScanner) {
        var scanner = MessagePackScanner(buffer)
        scanner.index = offset
        do {
            return (try scanner.next(), scanner)
        } catch {
            throw Self.corrupted(error, codingPath: path)
        }
    }

    func container<Key: CodingKey>(keyedBy type: Key.Type) throws -> KeyedDecodingContainer<Key> {
        var (token, scanner) = try token(at: offset, path: codingPath)
        guard case .map(let count) = token else { throw mismatch([String: Any].self, token, codingPath) }
        do {
            return KeyedDecodingContainer(try MessagePackKeyedDecodingContainer<Key>(decoder: self, count: count, scanner: &scanner))
        } catch {
            throw Self.corrupted(error, codingPath: codingPath)
        }
    }

    func unkeyedContainer() throws -> any UnkeyedDecodingContainer {
        let (token, scanner) = try token(at: offset, path: codingPath)
        guard case .array(let count) = token else { throw mismatch([Any].self, token, codingPath) }
        return MessagePackUnkeyedDecodingContainer(decoder: self, count: count, scanner: scanner)
    }

    func singleValueContainer() throws -> any SingleValueDecodingContainer { self }

    // MARK: Values

    /// Decodes this decoder's value as `type`: the types the format has a form for directly,
    /// anything else through its `init(from:)`.
    func decodeValue<T: Decodable>(_ type: T.Type) throws -> T {
        if type == Date.self || type == Data.self || type == URL.self || type == JSONValue.self {
            return try decodeSpecial(type)
        }
        guard depth < PrimusParsers.maximumDepth else {
            throw DecodingError.dataCorrupted(
                DecodingError.Context(codingPath: codingPath, debugDescription: "MessagePack: value nested deeper than \(PrimusParsers.maximumDepth)")
            )
        }
        return try T(from: self)
    }

    private func decodeSpecial<T: Decodable>(_ type: T.Type) throws -> T {
        var (token, scanner) = try token(at: offset, path: codingPath)
        let value: Any
        do {
            switch (token, type) {
            case (.extension(let extType, let start, let count), is Date.Type) where extType == MessagePackFormat.timestampType:
                value = try MessagePackTimestamp.read(buffer, at: start, count: count)
            case (.binary(let start, let count), is Data.Type):
                value = Data(buffer.getBytes(at: start, length: count) ?? [])
            case (.string(let start, let count), is URL.Type):
                let text = try scanner.string(at: start, count: count)
                guard let url = URL(string: text) else {
                    throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: codingPath, debugDescription: "invalid URL \(text)"))
                }
                value = url
            case (_, is JSONValue.Type):
                scanner.index = offset
                value = try MessagePackReader.read(&scanner, depth: depth)
            default:
                throw mismatch(type, token, codingPath)
            }
        } catch let failure as MessagePackFailure {
            throw Self.corrupted(failure, codingPath: codingPath)
        }
        return value as! T  // the switch matched `type`
    }

    func mismatch(_ type: Any.Type, _ token: Token, _ path: [any CodingKey]) -> DecodingError {
        let context = DecodingError.Context(codingPath: path, debugDescription: "expected \(type), found MessagePack \(token.kind)")
        if case .null = token { return DecodingError.valueNotFound(type, context) }
        return DecodingError.typeMismatch(type, context)
    }

    func isNil(at offset: Int) -> Bool {
        guard case (.null, _)? = try? token(at: offset, path: codingPath) else { return false }
        return true
    }

    func decodeBool(at offset: Int, path: [any CodingKey]) throws -> Bool {
        let (token, _) = try token(at: offset, path: path)
        guard case .bool(let value) = token else { throw mismatch(Bool.self, token, path) }
        return value
    }

    func decodeString(at offset: Int, path: [any CodingKey]) throws -> String {
        let (token, scanner) = try token(at: offset, path: path)
        guard case .string(let start, let count) = token else { throw mismatch(String.self, token, path) }
        do {
            return try scanner.string(at: start, count: count)
        } catch {
            throw Self.corrupted(error, codingPath: path)
        }
    }

    /// An integer type takes any integer, or integral float, that it holds exactly.
    func decodeInteger<T: FixedWidthInteger>(_ type: T.Type, at offset: Int, path: [any CodingKey]) throws -> T {
        let (token, _) = try token(at: offset, path: path)
        let value: T?
        switch token {
        case .unsigned(let number): value = T(exactly: number)
        case .signed(let number): value = T(exactly: number)
        case .float32(let number): value = T(exactly: number)
        case .float64(let number): value = T(exactly: number)
        default: throw mismatch(type, token, path)
        }
        guard let value else {
            throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: path, debugDescription: "MessagePack number \(token) does not fit \(type)"))
        }
        return value
    }

    func decodeDouble(at offset: Int, path: [any CodingKey]) throws -> Double {
        let (token, _) = try token(at: offset, path: path)
        switch token {
        case .unsigned(let number): return Double(number)
        case .signed(let number): return Double(number)
        case .float32(let number): return Double(number)
        case .float64(let number): return number
        default: throw mismatch(Double.self, token, path)
        }
    }

    func decodeFloat(at offset: Int, path: [any CodingKey]) throws -> Float {
        let (token, _) = try token(at: offset, path: path)
        switch token {
        case .unsigned(let number): return Float(number)
        case .signed(let number): return Float(number)
        case .float32(let number): return number
        case .float64(let number):
            guard !number.isFinite || abs(number) <= Double(Float.greatestFiniteMagnitude) else {
                throw DecodingError.dataCorrupted(DecodingError.Context(codingPath: path, debugDescription: "MessagePack number \(number) does not fit Float"))
            }
            return Float(number)
        default: throw mismatch(Float.self, token, path)
        }
    }

    // MARK: SingleValueDecodingContainer

    func decodeNil() -> Bool { isNil(at: offset) }
    func decode(_ type: Bool.Type) throws -> Bool { try decodeBool(at: offset, path: codingPath) }
    func decode(_ type: String.Type) throws -> String { try decodeString(at: offset, path: codingPath) }
    func decode(_ type: Double.Type) throws -> Double { try decodeDouble(at: offset, path: codingPath) }
    func decode(_ type: Float.Type) throws -> Float { try decodeFloat(at: offset, path: codingPath) }
    func decode(_ type: Int.Type) throws -> Int { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: Int8.Type) throws -> Int8 { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: Int16.Type) throws -> Int16 { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: Int32.Type) throws -> Int32 { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: Int64.Type) throws -> Int64 { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: UInt.Type) throws -> UInt { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: UInt8.Type) throws -> UInt8 { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: UInt16.Type) throws -> UInt16 { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: UInt32.Type) throws -> UInt32 { try decodeInteger(type, at: offset, path: codingPath) }
    func decode(_ type: UInt64.Type) throws -> UInt64 { try decodeInteger(type, at: offset, path: codingPath) }

    /// A value of its own (a wrapper's), one level deeper at the same bytes, so that a type
    /// that decodes itself here again cannot recurse without bound.
    func decode<T: Decodable>(_ type: T.Type) throws -> T { try nested(at: offset, key: nil).decodeValue(type) }
}
