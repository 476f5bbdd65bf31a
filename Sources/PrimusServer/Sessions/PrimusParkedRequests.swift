import NIOCore

/// The HTTP requests a polling session holds unanswered (a long poll waiting for data, a `POST`
/// being processed), each with what the session needs to answer it (`Extra`), and the
/// connections they came on: a parked poll whose connection closes means its client went away.
///
/// Confined to the session's loop. Every request it holds is answered exactly once: by the
/// session (``take(_:)``), or when the session ends (``takeAll()``).
public struct PrimusParkedRequests<Extra> {
    /// A held request.
    public struct Entry {
        /// The request, to answer.
        public var exchange: PrimusHTTPExchange
        /// What the session keeps with it (the headers to answer with, say).
        public var extra: Extra
        /// Whether its connection's closing means the client is gone (a parked poll).
        public var watched: Bool
    }

    /// Identifies a held request.
    public typealias ID = UInt64

    private var entries: [ID: Entry] = [:]
    private var nextID: ID = 0
    /// Connections whose closing is already watched: each is watched once, not once per poll.
    private var watchedConnections: Set<ObjectIdentifier> = []

    /// Nothing held.
    public init() {}

    /// How many requests are held.
    public var count: Int { entries.count }

    /// Holds `exchange` and returns its id.
    public mutating func hold(_ exchange: PrimusHTTPExchange, extra: Extra) -> ID {
        nextID &+= 1
        entries[nextID] = Entry(exchange: exchange, extra: extra, watched: false)
        return nextID
    }

    /// Whether `id` is still held.
    public func contains(_ id: ID) -> Bool { entries[id] != nil }

    /// Takes `id` out, to answer it.
    public mutating func take(_ id: ID) -> Entry? {
        entries.removeValue(forKey: id)
    }

    /// Takes every held request out (the session ended), to answer them.
    public mutating func takeAll() -> [(id: ID, entry: Entry)] {
        let all = entries.map { (id: $0.key, entry: $0.value) }
        entries = [:]
        return all
    }

    /// Watches the connection of held request `id`: when it closes, `gone` is called with its
    /// identity (once per connection, however many requests it carries), from the connection's
    /// loop. Hand that to ``connectionClosed(_:)`` on the session's loop.
    public mutating func watch(_ id: ID, gone: @escaping @Sendable (ObjectIdentifier) -> Void) {
        guard let exchange = entries[id]?.exchange else { return }
        entries[id]?.watched = true
        let identifier = exchange.connectionID
        guard watchedConnections.insert(identifier).inserted else { return }
        exchange.onPeerGone { gone(identifier) }
    }

    /// A watched connection closed: whether a watched request on it is still held (then its
    /// client went away).
    public mutating func connectionClosed(_ identifier: ObjectIdentifier) -> Bool {
        watchedConnections.remove(identifier)
        return entries.values.contains { $0.watched && $0.exchange.connectionID == identifier }
    }
}
