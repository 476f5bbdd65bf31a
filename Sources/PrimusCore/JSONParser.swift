import NIOCore
import struct Foundation.Data
import class Foundation.JSONEncoder
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

    /// Encodes with Foundation's `JSONEncoder`, then escapes U+2028/U+2029 as Primus does.
    public func encode<T: Encodable>(encodable value: T, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        if let value = value as? JSONValue { return try encode(value, for: context) }
        let data: Data
        do {
            data = try JSONEncoder().encode(value)
        } catch {
            throw PrimusError.encodingFailed("\(error)")
        }
        var buffer = ByteBuffer()
        buffer.reserveCapacity(data.count)
        JSONParser.appendEscapingLineSeparators(data, to: &buffer)
        return .text(buffer)
    }

    /// Decodes with Foundation's `JSONDecoder` directly from the received bytes.
    public func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> T {
        if type == JSONValue.self, let value = try decode(message, for: context) as? T { return value }
        do {
            return try JSONDecoder().decode(T.self, from: Data(message.buffer.readableBytesView))
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
    }

    private static func appendEscapingLineSeparators(_ data: Data, to buffer: inout ByteBuffer) {
        var runStart = data.startIndex
        var index = data.startIndex
        while index < data.endIndex {
            if data[index] == 0xE2, index + 2 < data.endIndex, data[index + 1] == 0x80,
                data[index + 2] == 0xA8 || data[index + 2] == 0xA9
            {
                buffer.writeBytes(data[runStart..<index])
                buffer.writeStaticString(data[index + 2] == 0xA8 ? "\\u2028" : "\\u2029")
                index += 3
                runStart = index
            } else {
                index += 1
            }
        }
        buffer.writeBytes(data[runStart..<data.endIndex])
    }
}
