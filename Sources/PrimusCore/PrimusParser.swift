import NIOCore

/// The message encoding layer: every message, user data and `primus::` protocol messages alike,
/// is encoded by the active parser, exactly as Primus 8 does.
///
/// A parser is a value shared by every spark, so it must be `Sendable` and stateless. Text
/// parsers (JSON) produce ``TransportMessage/text(_:)-swift.enum.case``; binary parsers
/// (MessagePack) produce ``TransportMessage/binary(_:)`` and the transformers send those as
/// binary frames. Custom parsers conform to this protocol.
public protocol PrimusParser: Sendable {
    /// The name announced in the server's spec (`"json"`), or `"custom"`.
    var name: String { get }

    /// Encodes one value for the wire.
    func encode(_ value: JSONValue) throws(PrimusError) -> TransportMessage

    /// Decodes one message received from the wire.
    func decode(_ message: TransportMessage) throws(PrimusError) -> JSONValue

    /// Encodes any `Encodable` value for the wire.
    func encode<T: Encodable>(encodable value: T) throws(PrimusError) -> TransportMessage

    /// Decodes a message straight into a `Decodable` type.
    func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage) throws(PrimusError) -> T
}

/// The parsers that ship with swift-primus, selectable by name as in Primus's `parser` option.
public enum PrimusParsers {
    /// The parser called `name` (case-insensitive), or an error that names it.
    public static func named(_ name: String) throws(PrimusError) -> any PrimusParser {
        switch name.lowercased() {
        case "json": return JSONParser()
        default: throw PrimusError.unsupportedParser(name)
        }
    }

    /// Every parser name that ``named(_:)`` accepts.
    public static let names = ["json"]
}
