import PrimusCore
/// Why a Redis command or connection failed, so callers can tell "try later" (not connected,
/// overloaded, timeout) from "the server said no" (a server error).
public enum RedisError: Error, Sendable, Hashable, CustomStringConvertible {
    /// There is no ready connection right now (connecting, reconnecting, or shut down); nothing
    /// is queued, so the caller decides whether to retry, drop, or buffer.
    case notConnected
    /// The server answered with an error reply (`-ERR ...`, `!N`), or refused the handshake.
    case server(String)
    /// No reply came within the command timeout; the connection was closed, since any later
    /// reply would belong to the wrong command.
    case timeout
    /// More commands are waiting for replies than the configuration allows.
    case overloaded
    /// The connection closed before the reply arrived.
    case connectionClosed
    /// The server sent bytes that are not RESP, or a reply over the decoder's limits.
    case protocolError(String)
    /// The connection could not be made (refused, unreachable, TLS failure, connect timeout).
    case connectFailed(String)
    /// The client was shut down.
    case shutdown

    /// A readable form for logs.
    public var description: String {
        switch self {
        case .notConnected: return "Redis: not connected"
        case .server(let message): return "Redis server error: \(message)"
        case .timeout: return "Redis: command timed out"
        case .overloaded: return "Redis: too many pending commands"
        case .connectionClosed: return "Redis: connection closed"
        case .protocolError(let message): return "Redis protocol error: \(message)"
        case .connectFailed(let message): return "Redis: cannot connect: \(message)"
        case .shutdown: return "Redis: client shut down"
        }
    }
}

/// What a client or subscriber reports to ``RedisClient/onStateChange(_:)``, so the owner can
/// log the outage and catch up what it missed once the connection is back.
public enum RedisConnectionState: Sendable {
    /// Ready: the handshake is done (and for a subscriber, every subscription is confirmed).
    case connected
    /// The connection was lost, or an attempt to make it failed; a new attempt is scheduled
    /// unless the client was shut down.
    case disconnected(any Error)
}
