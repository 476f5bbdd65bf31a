/// The client's half of the Primus 8 heartbeat, as a state machine without a clock.
///
/// Since Primus 7 the server pings and the client answers. The client declares the connection
/// dead when no ping has arrived for `timeout` since the connection opened or since the last ping
/// (Primus's `pingTimeout`, by default 1.5 × the server's `pingInterval`), then goes offline and
/// reconnects. Only pings count; ordinary data does not, exactly as in Primus.
///
/// Rather than re-arming a timer on every ping, the caller arms one timer and asks ``check(now:)``
/// when it fires; the answer says whether the peer is dead or when to check again.
public struct ClientHeartbeat: Sendable, Hashable {
    /// What the client must do when its heartbeat timer fires.
    public enum Action: Sendable, Hashable {
        /// The heartbeat is stopped: nothing to do.
        case none
        /// A ping arrived in the meantime: check again after this long.
        case checkAgain(after: Duration)
        /// No ping for the whole timeout: the connection is dead.
        case timeout
    }

    /// How long the client waits for a ping.
    public let timeout: Duration
    private var lastPing: Duration?

    /// A stopped heartbeat that waits `timeout` for each ping once started.
    public init(timeout: Duration) {
        self.timeout = timeout
    }

    /// Whether the heartbeat is running.
    public var isRunning: Bool { lastPing != nil }

    /// The connection opened at `now`; returns how long until the first check.
    public mutating func start(now: Duration) -> Duration {
        lastPing = now
        return timeout
    }

    /// A `primus::ping::` arrived at `now`.
    public mutating func receivedPing(now: Duration) {
        guard lastPing != nil else { return }
        lastPing = now
    }

    /// The heartbeat timer fired at `now`.
    public mutating func check(now: Duration) -> Action {
        guard let lastPing else { return .none }
        let silent = now - lastPing
        if silent >= timeout {
            self.lastPing = nil
            return .timeout
        }
        return .checkAgain(after: timeout - silent)
    }

    /// The connection closed: stop watching.
    public mutating func stop() {
        lastPing = nil
    }
}
