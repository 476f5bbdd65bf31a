/// When a connection may read from its peer, as a state machine without I/O.
///
/// Reading stops while the application is behind (``pauseReading()``, the inbound bound) and while
/// the peer is (its transport is over the outbound budget, ``writabilityChanged(_:)``): a client
/// that sends requests or pings and never reads the answers is then throttled by TCP instead of
/// growing the server's queue. A read asked for meanwhile happens once both have caught up.
///
/// The handler that owns it reads ``isWritable`` for every control reply, so it is a stored
/// `Bool`, not a computed answer.
package struct ReadGate: Sendable, Hashable {
    /// A change of the transport's writability that the connection must act on.
    package enum WritabilityChange: Sendable, Hashable {
        /// The peer fell behind: start the write-stall clock and tell the sink.
        case becameUnwritable
        /// The peer caught up: stop the clock, tell the sink, then read if ``readIfPending()``.
        case becameWritable
    }

    /// Whether the peer is keeping up (the transport is within its outbound budget).
    package private(set) var isWritable = true
    private var applicationPaused = false
    private var readPending = false

    /// A gate that is open: writable, the application reading.
    package init() {}

    /// The channel asks to read. Returns whether to read now; otherwise the read is held.
    package mutating func readRequested() -> Bool {
        if isWritable && !applicationPaused { return true }
        readPending = true
        return false
    }

    /// The application fell behind: hold reads until ``resumeReading()``.
    package mutating func pauseReading() {
        applicationPaused = true
    }

    /// The application caught up. Returns whether to perform a held read now.
    package mutating func resumeReading() -> Bool {
        applicationPaused = false
        return readIfPending()
    }

    /// The transport's writability is now `writable`. Returns what changed, `nil` if nothing did
    /// (so a repeated or nested notification is harmless).
    package mutating func writabilityChanged(_ writable: Bool) -> WritabilityChange? {
        guard writable != isWritable else { return nil }
        isWritable = writable
        return writable ? .becameWritable : .becameUnwritable
    }

    /// Whether a held read may happen now (both sides keeping up); if so it is no longer held.
    package mutating func readIfPending() -> Bool {
        guard readPending, isWritable, !applicationPaused else { return false }
        readPending = false
        return true
    }
}
