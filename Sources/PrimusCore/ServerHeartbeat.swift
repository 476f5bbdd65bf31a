/// The server's half of the Primus 8 heartbeat, as a state machine without a clock.
///
/// Every `pingInterval` the server calls ``tick(now:)`` for each spark. A spark that has not
/// answered since the previous tick is dead and is ended silently (so its client reconnects);
/// otherwise it is pinged with the current time. Only pongs (and, on WebSockets, protocol ping
/// frames from a client that is reading, ``receivedTransportPing(peerIsReading:)``) count as
/// liveness; ordinary data does not, as in Primus. Detection therefore takes between one and two
/// intervals after the last answer.
public struct ServerHeartbeat: Sendable, Hashable {
    /// What the server must do on a tick.
    public enum Action: Hashable, Sendable {
        /// Send `primus::ping::<timestamp>` to the client.
        case sendPing(timestamp: Int64)
        /// The client missed a whole interval: end the spark without `primus::server::close`.
        case timeout
    }

    private enum State: Hashable, Sendable {
        case alive
        case awaitingPong
    }

    private var state: State = .alive

    /// A heartbeat for a spark that has just opened (alive until the first tick).
    public init() {}

    /// Whether the client has answered since the last ping.
    public var isAlive: Bool { state == .alive }

    /// The periodic tick; `now` is milliseconds since the Unix epoch.
    public mutating func tick(now: Int64) -> Action {
        switch state {
        case .alive:
            state = .awaitingPong
            return .sendPing(timestamp: now)
        case .awaitingPong:
            return .timeout
        }
    }

    /// The client proved it is alive (a `primus::pong::`).
    public mutating func receivedPong() {
        state = .alive
    }

    /// The client sent a transport-level ping (a WebSocket ping frame). Primus counts it as a
    /// pong, but a ping costs the client nothing to send: one that floods pings and never reads
    /// would stay alive for ever while its pongs pile up. So it counts only while the peer is
    /// reading (`peerIsReading`: its transport is within its outbound budget); otherwise only a
    /// `primus::pong::` keeps the spark alive.
    public mutating func receivedTransportPing(peerIsReading: Bool) {
        if peerIsReading { state = .alive }
    }
}
