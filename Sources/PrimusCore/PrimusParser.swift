import NIOCore

/// The message encoding layer: every message, user data and `primus::` protocol messages alike,
/// is encoded by the active parser, exactly as Primus 8 does.
///
/// A parser is a value shared by every spark, so it must be `Sendable` and keep no
/// per-connection state; what it needs of a connection comes as its `context`, the spark (on
/// the server) or the client it works for, as Primus runs its encoder with `this` set to the
/// spark. Text parsers (JSON, EJSON) produce ``TransportMessage/text(_:)-swift.enum.case``;
/// binary parsers (MessagePack, BinaryPack) produce ``TransportMessage/binary(_:)`` and the
/// transformers send those as binary frames.
///
/// A custom parser conforms to this protocol, is registered once with
/// ``PrimusParsers/register(_:)``, and then is used by name by the server, the Swift client
/// and, through ``javaScriptCodec``, the browser library.
///
/// Encoders must not recurse without bound: a value nested deeper than
/// ``PrimusParsers/maximumDepth`` (a circular object graph is infinitely deep) throws
/// ``PrimusError/encodingFailed(_:)``, which the spark reports to its error handlers.
public protocol PrimusParser: Sendable {
    /// The name announced in the server's spec and used to look the parser up (`"json"`).
    var name: String { get }

    /// The parser for the browser library: JavaScript source of one expression that evaluates
    /// to `{ encoder: function (data, fn), decoder: function (data, fn) }`, Primus's parser
    /// shape, each calling `fn(err, result)` with `this` set to the client. `nil` (the default)
    /// for a parser whose browser codec ships with the server (the built-in names); a custom
    /// parser without one gets a browser library that reports the missing codec at its first
    /// message.
    var javaScriptCodec: String? { get }

    /// Encodes one value for the wire.
    func encode(_ value: JSONValue, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage

    /// Decodes one message received from the wire.
    func decode(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue

    /// Encodes any `Encodable` value for the wire, without building a ``JSONValue`` first
    /// where the parser can.
    func encode<T: Encodable>(encodable value: T, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage

    /// Decodes a message straight into a `Decodable` type.
    func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> T

    /// Checks that `message` decodes, building its value only if that is the cheapest way to
    /// check: returns the value when it built it, `nil` when it checked without building. A
    /// spark calls this for every incoming message and decodes the rest only when the
    /// application reads the value. The default decodes.
    func validate(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue?

    /// The text of `message` when it encodes a string that starts with `primus::` (a protocol
    /// message), else `nil`. Asked of every incoming message, so parsers that can tell
    /// without decoding the whole message should. The default decodes it.
    func protocolText(in message: TransportMessage, for context: (any PrimusParserContext)?) -> String?
}

/// What a parser works for: a spark on the server, a client in an app. Parsers that need
/// connection state cast it to the concrete type (`context as? Spark`).
public protocol PrimusParserContext: AnyObject, Sendable {}

extension PrimusParser {
    /// No browser codec of its own: the server's built-in one for ``name``, if any.
    public var javaScriptCodec: String? { nil }

    /// Decodes the message: the check is the decoding.
    public func validate(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue? {
        try decode(message, for: context)
    }

    /// Decodes the message and checks whether it is a protocol string.
    public func protocolText(in message: TransportMessage, for context: (any PrimusParserContext)?) -> String? {
        guard case .string(let text)? = try? decode(message, for: context), text.hasPrefix("primus::") else { return nil }
        return text
    }

    /// Encodes one value for the wire, for no particular connection.
    public func encode(_ value: JSONValue) throws(PrimusError) -> TransportMessage {
        try encode(value, for: nil)
    }

    /// Decodes one message, for no particular connection.
    public func decode(_ message: TransportMessage) throws(PrimusError) -> JSONValue {
        try decode(message, for: nil)
    }

    /// Encodes any `Encodable` value, for no particular connection.
    public func encode<T: Encodable>(encodable value: T) throws(PrimusError) -> TransportMessage {
        try encode(encodable: value, for: nil)
    }

    /// Decodes a message into a `Decodable` type, for no particular connection.
    public func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage) throws(PrimusError) -> T {
        try decode(type, from: message, for: nil)
    }
}
