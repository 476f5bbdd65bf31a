public import PrimusCore
import Synchronization

/// One message a client sent.
///
/// The spark checks each message when it arrives (a message the parser rejects never reaches
/// the application: the spark reports an error instead, as Primus does), but builds its value
/// only when asked: ``value`` decodes the raw message once, at its first use, and
/// ``decode(as:)`` goes straight from the raw bytes to the type, with no ``JSONValue`` in
/// between.
public struct SparkMessage: Sendable {
    /// The message as it arrived, before decoding (Primus's `raw` argument).
    public let raw: TransportMessage
    private let body: Body

    /// What a message needs to decode itself, and its value once decoded.
    private final class Body: Sendable {
        let parser: any PrimusParser
        let context: (any PrimusParserContext)?
        /// Whether an incoming transform rewrote the value, so ``raw`` no longer says the same.
        let transformed: Bool
        /// The value, once decoded. A lock, not an atomic, because `JSONValue` is not a word;
        /// it is taken once per access and never contended in practice (one reader per message).
        let decoded: Mutex<JSONValue?>

        init(parser: any PrimusParser, context: (any PrimusParserContext)?, transformed: Bool, value: JSONValue?) {
            self.parser = parser
            self.context = context
            self.transformed = transformed
            self.decoded = Mutex(value)
        }
    }

    /// A message to decode on demand; `value` when the spark decoded it already.
    init(raw: TransportMessage, value: JSONValue?, parser: any PrimusParser, context: (any PrimusParserContext)?, transformed: Bool = false) {
        self.raw = raw
        self.body = Body(parser: parser, context: context, transformed: transformed, value: value)
    }

    /// The decoded value, decoded at the first access and kept. The spark checked when the
    /// message arrived that it decodes, so this is never an error; a parser that accepts a
    /// message once and rejects it later gets `null` here.
    public var value: JSONValue {
        if let value = body.decoded.withLock({ $0 }) { return value }
        let value = (try? body.parser.decode(raw, for: body.context)) ?? .null
        body.decoded.withLock { $0 = value }
        return value
    }

    /// Decodes the message as `T`, straight from the raw bytes (from ``value`` when an incoming
    /// transform rewrote it).
    public func decode<T: Decodable>(as type: T.Type = T.self) throws(PrimusError) -> T {
        let parser = body.parser
        guard body.transformed else { return try parser.decode(type, from: raw, for: body.context) }
        return try parser.decode(type, from: parser.encode(value, for: body.context), for: body.context)
    }
}
