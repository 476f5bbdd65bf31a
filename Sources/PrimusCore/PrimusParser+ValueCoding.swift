extension PrimusParser {
    /// Encodes through a ``JSONValue`` (``JSONValueEncoder``), so any parser that writes
    /// ``JSONValue``s sends typed values, dates and bytes included, without code of its own.
    /// Parsers that can encode `Encodable` values more directly (the json parser) implement this
    /// themselves.
    public func encode<T: Encodable>(encodable value: T, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        try encode(JSONValueEncoder().encode(value), for: context)
    }

    /// Decodes the message to a ``JSONValue``, then that to `T` (``JSONValueDecoder``).
    public func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> T {
        try JSONValueDecoder().decode(type, from: decode(message, for: context))
    }
}
