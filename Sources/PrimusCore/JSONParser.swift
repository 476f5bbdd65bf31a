import NIOCore
import struct Foundation.Data
import struct Foundation.Date
import class Foundation.JSONDecoder

/// Primus's default `json` parser: `JSON.stringify` out, `JSON.parse` in.
///
/// Protocol messages travel as JSON strings with their quotes (`"primus::ping::1700000000000"`),
/// U+2028/U+2029 are escaped, and a message that is not valid JSON is reported as an error
/// without affecting the connection.
///
/// Bytes pass through, as Primus's decoder passes non-strings through: a binary frame decodes
/// to ``JSONValue/binary(_:)``, and a top-level ``JSONValue/binary(_:)`` is sent as a binary
/// frame. Bytes inside a value are written as Node's `Buffer.toJSON()` writes them.
public struct JSONParser: PrimusParser {
    /// Creates the parser; it has no state.
    public init() {}

    /// `"json"`.
    public var name: String { "json" }

    /// Writes `value` as compact JSON text (bytes alone as a binary message).
    public func encode(_ value: JSONValue, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        if case .binary(let bytes) = value { return .binary(bytes) }
        var writer = JSONWriter()
        writer.write(value)
        return .text(writer.buffer)
    }

    /// Parses a text message holding JSON text; a binary message is its bytes.
    public func decode(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue {
        guard case .text(let buffer) = message else { return .binary(message.buffer) }
        do {
            return try buffer.withUnsafeReadableBytes { bytes throws(JSONReader.Failure) in
                try JSONReader.parse(bytes)
            }
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
    }

    /// Checks JSON text without building it (no strings, arrays or objects allocated); bytes
    /// are their own value.
    public func validate(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue? {
        guard case .text(let buffer) = message else { return .binary(message.buffer) }
        do {
            try buffer.withUnsafeReadableBytes { bytes throws(JSONReader.Failure) in
                try JSONReader.validate(bytes)
            }
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
        return nil
    }

    /// Only text that starts with `"primus::` is parsed: other messages are not protocol
    /// messages, whatever they hold.
    public func protocolText(in message: TransportMessage, for context: (any PrimusParserContext)?) -> String? {
        guard case .text(let buffer) = message else { return nil }
        let prefix: StaticString = "\"primus::"
        let matches = buffer.withUnsafeReadableBytes { bytes in
            bytes.count > prefix.utf8CodeUnitCount
                && prefix.withUTF8Buffer { bytes.starts(with: $0) }
        }
        guard matches, case .string(let text)? = try? decode(message, for: context) else { return nil }
        return text
    }

    /// Writes JSON text as the value encodes, with no ``JSONValue`` in between, and the bytes
    /// ``JSONValueEncoder`` then ``JSONWriter`` would write: keys in the order they were
    /// encoded, dates as JavaScript writes them, bytes as a Node `Buffer` (alone: a binary
    /// message), U+2028/U+2029 escaped. Nesting deeper than ``PrimusParsers/maximumDepth`` (a
    /// circular object graph) is an error, not a crash. An integer a JavaScript number cannot
    /// hold exactly (beyond 2^53) is an error too, as `JSON.stringify` refuses a `BigInt`:
    /// send such numbers as strings. A value whose `encode(to:)` writes its containers out of
    /// order goes through the ``JSONValue`` tree instead (its `encode(to:)` then runs twice).
    public func encode<T: Encodable>(encodable value: T, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        if T.self == JSONValue.self { return try encode(value as! JSONValue, for: context) }
        if T.self == Data.self { return .binary(ByteBuffer(bytes: value as! Data)) }
        if let text = try JSONTextEncoding.encode(value) { return .text(text) }
        return try encode(JSONValueEncoder().encode(value), for: context)
    }

    /// Decodes with Foundation's `JSONDecoder` directly from the received bytes (so integers
    /// keep every digit), reading dates as JavaScript writes them (ISO 8601 text, or
    /// milliseconds) and bytes as base64 text, a Node `Buffer` object or an array of bytes; a
    /// binary message decodes as `Data` or `[UInt8]`.
    public func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> T {
        if type == JSONValue.self, let value = try decode(message, for: context) as? T { return value }
        if case .binary(let bytes) = message {
            if let data = Data(bytes.readableBytesView) as? T { return data }
            if let array = Array(bytes.readableBytesView) as? T { return array }
            if let buffer = bytes as? T { return buffer }
        }
        do {
            return try JSONParser.decoder.decode(T.self, from: Data(message.buffer.readableBytesView))
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
    }

    /// One decoder for every message: its configuration never changes, and `JSONDecoder` is
    /// safe to share between threads.
    static let decoder = makeDecoder()

    /// A `JSONDecoder` that reads dates and bytes the way JavaScript peers and ``encode(_:for:)``
    /// write them.
    static func makeDecoder() -> JSONDecoder {
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .custom { decoder in
            let container = try decoder.singleValueContainer()
            if let milliseconds = try? container.decode(Double.self) {
                return Date(timeIntervalSince1970: milliseconds / 1000)
            }
            let text = try container.decode(String.self)
            guard let date = JSONDateText.parse(text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not an ISO 8601 date: \(text)")
            }
            return date
        }
        decoder.dataDecodingStrategy = .custom { decoder in
            if let container = try? decoder.container(keyedBy: JSONValueKey.self),
                let bytes = try? container.decode([UInt8].self, forKey: JSONValueKey(stringValue: "data"))
            {
                return Data(bytes)
            }
            let container = try decoder.singleValueContainer()
            if let bytes = try? container.decode([UInt8].self) { return Data(bytes) }
            let text = try container.decode(String.self)
            guard let data = Data(base64Encoded: text) else {
                throw DecodingError.dataCorruptedError(in: container, debugDescription: "not base64 bytes")
            }
            return data
        }
        return decoder
    }
}
