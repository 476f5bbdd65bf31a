/// Missed-message recovery (``PrimusConfiguration/recovery``): how much of the recent broadcasts
/// the cluster keeps, so that a client that reconnects (to this node or another) receives what was
/// broadcast to it while it was away.
///
/// Only clients that ask for it get it (the browser library and the Swift client do by default;
/// a plain Primus 8 client does not, and sees nothing different). Broadcasts and room writes are
/// recovered; writes to one spark are not. A replay goes to the rooms the new spark is in once its
/// `connection` handlers have run, so an application that joins rooms there gets the rooms'
/// backlog too.
public struct PrimusRecovery: Sendable, Hashable {
    /// The most broadcasts kept (default 1,000).
    public var maxMessages: Int
    /// The oldest broadcast replayed (default 2 minutes).
    public var maxAge: Duration

    /// A window of `maxMessages` broadcasts, none older than `maxAge`.
    public init(maxMessages: Int = 1_000, maxAge: Duration = .seconds(120)) {
        self.maxMessages = max(1, maxMessages)
        self.maxAge = maxAge
    }

    /// `maxAge` in whole milliseconds.
    public var maxAgeMilliseconds: UInt64 {
        let (seconds, attoseconds) = maxAge.components
        guard seconds >= 0 else { return 0 }
        return UInt64(seconds) * 1000 + UInt64(attoseconds / 1_000_000_000_000_000)
    }
}
