/// The bounds that keep one client from exhausting the server for everyone else: what a spark may
/// queue for a peer that does not read, how long each wait may last, how large a request head may
/// be, and how many connections and sparks one address may hold.
///
/// Every limit has a default that is safe on the open internet; the README's "Limits and timeouts"
/// table lists each one, what happens when it is hit, and how to change it.
///
/// ```swift
/// var configuration = PrimusConfiguration()
/// configuration.limits.maxBufferedBytes = 256 * 1024
/// configuration.limits.whenOverBudget = .dropNewest
/// configuration.limits.headersTimeout = .seconds(10)
/// ```
public struct PrimusLimits: Sendable, Hashable {
    // MARK: Outbound, per spark

    /// The outbound budget of one spark, in bytes (default 1 MiB): what may wait in the server for
    /// a client that reads slower than the application writes (including broadcasts and control
    /// replies such as pongs). A write made while less than this is queued is always accepted, so
    /// one message larger than the budget still goes out to a client that keeps up. Once more
    /// than this is queued the spark counts as over budget until the queue has drained to half
    /// of it (on WebSockets: the channel's write-buffer high and low watermarks); meanwhile the
    /// server stops reading from that client and answers none of its pings.
    public var maxBufferedBytes: Int = 1 << 20

    /// What a write does once ``maxBufferedBytes`` is queued (default ``OutboundOverflowPolicy/end``).
    public var whenOverBudget: OutboundOverflowPolicy = .end

    /// How long a spark's transport may stay over its budget before the spark is ended, whatever
    /// the policy (default 30 s): a client that never reads is gone within this bound.
    public var writeStallTimeout: Duration = .seconds(30)

    /// How long a closing connection may take to flush its close frame and finish the close
    /// handshake (default 5 s); after that the socket is dropped.
    public var closeTimeout: Duration = .seconds(5)

    /// The most bytes of handshake headers a spark keeps for ``Spark/headers`` (default 8 KiB,
    /// counted as name + value + 4 per header). Headers applications read (cookie, authorization,
    /// user-agent, origin, host, forwarding headers, …) are kept first; the rest while room remains.
    public var maxRetainedHeaderBytes: Int = 8 * 1024

    // MARK: HTTP

    /// How long a client may take to send a complete request head, counted from the connection's
    /// accept or from the end of the previous response (default 15 s, Node's `headersTimeout`
    /// idea). A connection that sent part of a head is then answered `408` and closed; one that
    /// sent nothing is closed. This is what ends slowloris connections and idle sockets.
    public var headersTimeout: Duration = .seconds(15)

    /// How long a client may take to send a request body after its head (default 30 s); then
    /// `408` and close.
    public var bodyTimeout: Duration = .seconds(30)

    /// How long an idle keep-alive connection (no byte of a new request, no answer pending) is
    /// kept open after a response (default 5 s, as Node's `keepAliveTimeout`); then it is closed.
    /// A request waiting for its answer (an engine.io long-poll) is not idle. None of the HTTP
    /// timeouts apply once a connection is upgraded to WebSocket.
    public var keepAliveTimeout: Duration = .seconds(5)

    /// The most header fields one request may carry (default 100); more get `431`.
    public var maxHeaderCount: Int = 100

    /// The most bytes of header fields one request may carry, counted as name + value + 4 per
    /// field (default 16 KiB, as Node); more get `431`.
    public var maxHeaderBytes: Int = 16 * 1024

    /// The longest request target (default 8 KiB); longer gets `414`.
    public var maxRequestTargetLength: Int = 8 * 1024

    /// The most TCP connections open at once on a ``PrimusHTTPServer`` (default `nil`: the soft
    /// open-file limit, `RLIMIT_NOFILE`, less a reserve of 64). When full, the connection that has
    /// been idle longest (it never sent a byte, or it is an idle keep-alive) is dropped to make
    /// room; when none is idle, the new connection is closed at once. Upgraded (WebSocket)
    /// connections count but are never dropped for this. Dropped and refused connections close on
    /// their own event loops; while 32 of them are still closing, the listener stops accepting,
    /// so a flood of connections never holds more than the cap plus 32 descriptors. Listeners owned by a framework, which
    /// call ``PrimusHTTPServer/configure(channel:primus:fallback:maxBodyLength:)``, cap
    /// connections themselves.
    public var maxConnections: Int? = nil

    // MARK: Sparks

    /// The most sparks open at once, over every transformer (default 100,000; Engine.IO sessions
    /// are sparks). When full, a new spark from an address holding fewer sparks than the busiest
    /// address makes that address shed its newest spark (ended silently, so its client
    /// reconnects); otherwise the handshake gets `503` (the Engine.IO error with `503` on the
    /// `engine.io` transformer). One flooding address therefore cannot lock others out.
    public var maxSparks: Int = 100_000

    /// The most sparks one client address may hold at once (default 10,000); more handshakes from
    /// it get `503`. The address is the TCP peer's, or the forwarded client's when the peer is a
    /// loopback or private-network proxy and ``PrimusConfiguration/trustedProxies`` is `.any`,
    /// or a peer listed in `.addresses` (a client on the internet cannot dodge the limit with a
    /// made-up `X-Forwarded-For`). A global IPv6 address counts by its /64 network.
    public var maxSparksPerAddress: Int = 10_000

    /// The defaults.
    public init() {}
}

/// What a spark does with a write once its outbound budget (``PrimusLimits/maxBufferedBytes``)
/// is queued for a client that is not reading.
public enum OutboundOverflowPolicy: Sendable, Hashable {
    /// End the spark (silently, with `reconnect: true`): a client that far behind would only fall
    /// further behind. The default.
    case end
    /// Drop the write, keep the connection; ``Spark/onOverBudget(_:)`` handlers are told.
    case dropNewest
    /// `await spark.send(_:)` waits for room (at most ``PrimusLimits/writeStallTimeout``, then the
    /// spark ends); a plain `write` is dropped as with ``dropNewest``.
    case wait
}
