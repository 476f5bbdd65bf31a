public import PrimusCore

/// One message a client sent, decoded by the parser.
public struct SparkMessage: Sendable {
    /// The decoded value.
    public let value: JSONValue
    /// The message as it arrived, before decoding (Primus's `raw` argument).
    public let raw: TransportMessage
    let parser: any PrimusParser

    /// Decodes the message as `T`, straight from the raw bytes.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws(PrimusError) -> T {
        try parser.decode(type, from: raw)
    }
}
