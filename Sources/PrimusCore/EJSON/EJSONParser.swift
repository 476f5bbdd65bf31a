import NIOCore

/// Primus's `ejson` parser: EJSON text (``EJSONWriter``, ``EJSONReader``), so dates, bytes and
/// NaN/±Infinity survive a text transport that JSON would flatten.
///
/// Protocol messages are JSON strings, as with the json parser. A binary frame decodes to its
/// bytes, as the json parser passes bytes through; everything this parser sends is text.
/// Typed messages go through ``JSONValueEncoder`` and ``JSONValueDecoder``, so a `Date`
/// travels as `{"$date": …}` and `Data` as `{"$binary": …}`.
public struct EJSONParser: PrimusParser {
    /// Creates the parser; it has no state.
    public init() {}

    /// `"ejson"`.
    public var name: String { "ejson" }

    /// Writes `value` as EJSON text.
    public func encode(_ value: JSONValue, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        var writer = EJSONWriter()
        try writer.write(value)
        return .text(writer.buffer)
    }

    /// Reads a text message as EJSON; a binary message is its bytes.
    public func decode(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue {
        guard case .text(let buffer) = message else { return .binary(message.buffer) }
        return try buffer.withUnsafeReadableBytes { bytes throws(PrimusError) in
            try EJSONReader.parse(bytes)
        }
    }

    /// Protocol messages are JSON strings, which EJSON leaves alone: the json parser's check
    /// (only text starting with `"primus::` is parsed) answers for EJSON too.
    public func protocolText(in message: TransportMessage, for context: (any PrimusParserContext)?) -> String? {
        JSONParser().protocolText(in: message, for: context)
    }
}
