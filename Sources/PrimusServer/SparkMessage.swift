public import PrimusCore

/// One message a client sent, decoded by the parser.
public struct SparkMessage: Sendable {
    /// The decoded value.
    public let value: JSONValue
    /// The message as it arrived, before decoding (Primus's `raw` argument).
    public let raw: TransportMessage
    let parser: any PrimusParser
    /// Whether an incoming transform rewrote ``value``, so ``raw`` no longer says the same.
    let transformed: Bool

    init(value: JSONValue, raw: TransportMessage, parser: any PrimusParser, transformed: Bool = false) {
        self.value = value
        self.raw = raw
        self.parser = parser
        self.transformed = transformed
    }

    /// Decodes the message as `T`, straight from the raw bytes (from ``value`` when an incoming
    /// transform rewrote it).
    public func decode<T: Decodable>(as type: T.Type = T.self) throws(PrimusError) -> T {
        guard transformed else { return try parser.decode(type, from: raw) }
        return try parser.decode(type, from: parser.encode(value))
    }
}
