public import PrimusCore

/// Everything a ``PrimusClient`` announces, with Primus's event names and in Primus's order.
///
/// A lost connection, for example, reads:
/// `readyStateChange(.closed)`, `close`, `reconnectScheduled(1)`, `reconnect(1)`,
/// `readyStateChange(.opening)`, `reconnected(1)`, `readyStateChange(.open)`, `open`.
public enum PrimusClientEvent: Sendable, Equatable {
    /// The connection is open; writes buffered while it was not have already been sent.
    case open
    /// A message from the server.
    case data(PrimusClientMessage)
    /// Something went wrong that the application may want to know about (the connection could not
    /// be made, a message could not be decoded). Errors during reconnect attempts are not reported
    /// here: those attempts just count as failed, unless the server refused the connection
    /// (`401`/`403`), which is reported and followed by `end`.
    case error(PrimusError)
    /// A reconnect attempt is scheduled after `attempt.delay`.
    case reconnectScheduled(ReconnectBackoff.Attempt)
    /// A reconnect attempt starts now.
    case reconnect(ReconnectBackoff.Attempt)
    /// A reconnect attempt succeeded (announced just before `open`).
    case reconnected(ReconnectBackoff.Attempt)
    /// A reconnect attempt took longer than the attempt timeout and was abandoned.
    case reconnectTimeout(ReconnectBackoff.Attempt)
    /// Every attempt failed; the client has ended (`end` is announced just before).
    case reconnectFailed(ReconnectBackoff.Attempt)
    /// The first connection did not open within the connect timeout.
    case timeout
    /// The client is done: it will not reconnect on its own (``PrimusClient/open()`` starts over).
    case end
    /// An open connection closed (the client may reconnect).
    case close
    /// The client considers itself online again (after `offline`).
    case online
    /// The server stopped pinging: the connection is considered dead and is reconnected.
    case offline
    /// ``PrimusClient/readyState`` changed.
    case readyStateChange(PrimusClient.ReadyState)

    /// Primus's name for the event (`"reconnect scheduled"`), handy in logs and tests.
    public var name: String {
        switch self {
        case .open: return "open"
        case .data: return "data"
        case .error: return "error"
        case .reconnectScheduled: return "reconnect scheduled"
        case .reconnect: return "reconnect"
        case .reconnected: return "reconnected"
        case .reconnectTimeout: return "reconnect timeout"
        case .reconnectFailed: return "reconnect failed"
        case .timeout: return "timeout"
        case .end: return "end"
        case .close: return "close"
        case .online: return "online"
        case .offline: return "offline"
        case .readyStateChange: return "readyStateChange"
        }
    }
}

/// One message the server sent, decoded by the client's parser.
public struct PrimusClientMessage: Sendable, Equatable {
    /// The decoded value.
    public let value: JSONValue
    /// The message as it arrived, before decoding (Primus's `raw` argument).
    public let raw: TransportMessage
    let parser: any PrimusParser
    let context: (any PrimusParserContext)?

    /// Creates a message; `raw` must be `value` as `parser` encodes it.
    public init(value: JSONValue, raw: TransportMessage, parser: any PrimusParser) {
        self.init(value: value, raw: raw, parser: parser, context: nil)
    }

    init(value: JSONValue, raw: TransportMessage, parser: any PrimusParser, context: (any PrimusParserContext)?) {
        self.value = value
        self.raw = raw
        self.parser = parser
        self.context = context
    }

    /// Decodes the message as `T`, straight from the raw bytes.
    public func decode<T: Decodable>(as type: T.Type = T.self) throws(PrimusError) -> T {
        try parser.decode(type, from: raw, for: context)
    }

    /// Messages are equal when their values and bytes are.
    public static func == (lhs: PrimusClientMessage, rhs: PrimusClientMessage) -> Bool {
        lhs.value == rhs.value && lhs.raw == rhs.raw
    }
}
