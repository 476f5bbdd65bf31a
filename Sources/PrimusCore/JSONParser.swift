import NIOCore
import struct Foundation.Data
import class Foundation.JSONEncoder
import class Foundation.JSONDecoder

/// Primus's default `json` parser: `JSON.stringify` out, `JSON.parse` in.
///
/// Protocol messages travel as JSON strings with their quotes (`"primus::ping::1700000000000"`),
/// U+2028/U+2029 are escaped, and a message that is not valid JSON is reported as an error
/// without affecting the connection.
public struct JSONParser: PrimusParser {
    /// Creates the parser; it has no state.
    public init() {}

    /// `"json"`.
    public var name: String { "json" }

    /// Writes `value` as compact JSON text.
    public func encode(_ value: JSONValue) throws(PrimusError) -> TransportMessage {
        var writer = JSONWriter()
        writer.write(value)
        return .text(writer.buffer)
    }

    /// Parses a text or binary message holding JSON text.
    public func decode(_ message: TransportMessage) throws(PrimusError) -> JSONValue {
        let buffer = message.buffer
        do {
            return try buffer.withUnsafeReadableBytes { bytes throws(JSONReader.Failure) in
                try JSONReader.parse(bytes)
            }
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
    }

    /// Encodes with Foundation's `JSONEncoder`, then escapes U+2028/U+2029 as Primus does.
    public func encode<T: Encodable>(encodable value: T) throws(PrimusError) -> TransportMessage {
        if let value = value as? JSONValue { return try encode(value) }
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
    public func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage) throws(PrimusError) -> T {
        if type == JSONValue.self, let value = try decode(message) as? T { return value }
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
