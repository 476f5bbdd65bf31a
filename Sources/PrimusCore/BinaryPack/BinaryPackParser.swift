import NIOCore

/// Primus's `binary` parser: every message, protocol strings included, is one BinaryPack value
/// (``BinaryPackWriter`` describes the format) sent as a binary frame.
///
/// Typed messages (`encode(encodable:)`, `decode(_:from:)`) go through ``JSONValueEncoder`` and
/// ``JSONValueDecoder``, so `Data` travels as raw bytes. Malformed bytes are reported as
/// ``PrimusError/decodingFailed(_:)`` with the offset, without affecting the connection.
public struct BinaryPackParser: PrimusParser {
    /// Creates the parser; it has no state.
    public init() {}

    /// `"binary"`.
    public var name: String { "binary" }

    /// Packs `value` into a binary message.
    public func encode(_ value: JSONValue, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        var writer = BinaryPackWriter()
        try writer.write(value)
        return .binary(writer.buffer)
    }

    /// Unpacks a message's bytes, whichever frame carried them.
    public func decode(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue {
        do {
            return try message.buffer.withUnsafeReadableBytes { bytes throws(BinaryPackReader.Failure) in
                try BinaryPackReader.parse(bytes)
            }
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
    }

    /// Reads only the string header and the `primus::` prefix: other messages are not protocol
    /// messages, whatever they hold, and are not unpacked here.
    public func protocolText(in message: TransportMessage, for context: (any PrimusParserContext)?) -> String? {
        message.buffer.withUnsafeReadableBytes { bytes in
            BinaryPackReader.string(in: bytes, withPrefix: "primus::")
        }
    }
}
