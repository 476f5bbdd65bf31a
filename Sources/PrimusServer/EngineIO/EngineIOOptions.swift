public import NIOHTTP1

/// Options of the `engine.io` transformer (``PrimusConfiguration/engineIO``). The defaults are the
/// reference Engine.IO server's. The largest polling body and WebSocket message is
/// ``PrimusConfiguration/maxLength``, announced as `maxPayload`: a longer body gets `413` and
/// closes the session, a longer message closes the WebSocket with 1009.
///
/// ```swift
/// var configuration = PrimusConfiguration()
/// configuration.transformer = .engineIO
/// configuration.engineIO.pingInterval = .seconds(10)
/// ```
public struct EngineIOOptions: Sendable {
    /// Time between Engine.IO heartbeats (default 25 s). v4: the server pings this often; v3: the
    /// client is told to.
    public var pingInterval: Duration = .seconds(25)

    /// How long a heartbeat may go unanswered (default 20 s). A client that stops polling or
    /// answering is gone after at most `pingInterval + pingTimeout`, and its spark ends then.
    public var pingTimeout: Duration = .seconds(20)

    /// How long a client may take to finish an upgrade to WebSocket after opening it (default 10 s).
    public var upgradeTimeout: Duration = .seconds(10)

    /// Whether clients may upgrade from polling to WebSocket (default `true`).
    public var allowUpgrades = true

    /// Whether Engine.IO 3 clients (`EIO=3`, Socket.IO 2) are served (default `false`, as in the
    /// reference server).
    public var allowEIO3 = false

    /// The most Engine.IO sessions held at once, closing ones included (default 100,000, the
    /// same as ``PrimusLimits/maxSparks``).
    ///
    /// Every session is a spark, so handshakes first pass the server's spark admission
    /// (``PrimusLimits/maxSparks`` and ``PrimusLimits/maxSparksPerAddress``), which is fair: a
    /// full server sheds the newest spark of the busiest address rather than refusing everyone.
    /// This cap is a plain ceiling on top: beyond it handshakes get `503`, except one for which a
    /// spark was just shed (that session is on its way out). Keep it at or above `maxSparks` so
    /// that admission decides.
    public var maxSessions = 100_000

    /// Packets held for a polling client between its polls (default 10,000); one more closes the
    /// session, as a client that far behind is not coming back.
    public var maxBufferedPackets = 10_000

    /// The most packets one poll answer carries (default 16); the rest go with the next poll.
    /// python-engineio clients refuse payloads of more than 16 packets.
    public var maxPacketsPerPayload = 16

    /// Decides whether a handshake may open a session; `false` answers `403` with error code 4.
    public var allowRequest: (@Sendable (HTTPRequestHead) -> Bool)?

    /// The test server's `--raw` mode: sessions echo their message packets without a spark.
    package var rawEcho = false

    /// The defaults.
    public init() {}
}

extension Duration {
    /// Whole milliseconds, as Engine.IO announces times.
    var engineIOMilliseconds: Int {
        let (seconds, attoseconds) = components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }
}
