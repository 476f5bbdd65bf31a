public import PrimusCore

/// How a ``Primus`` server behaves. Every option has Primus 8's default.
///
/// ```swift
/// var configuration = PrimusConfiguration()
/// configuration.transformer = .websockets      // switching transformer is this one line
/// configuration.pathname = "/realtime"
/// configuration.pingInterval = .seconds(10)
/// ```
public struct PrimusConfiguration: Sendable {
    /// The wire protocol clients connect with (default ``PrimusTransformer/websockets``). A
    /// transformer carries its own options, e.g. `.engineIO(options)`.
    public var transformer: PrimusTransformer = .websockets

    /// The message encoding (default JSON).
    public var parser: any PrimusParser = JSONParser()

    /// Where Primus is mounted (default `/primus`); a leading `/` is added when missing, and
    /// every request whose path starts with it belongs to Primus.
    public var pathname: String {
        get { _pathname }
        set { _pathname = newValue.hasPrefix("/") ? newValue : "/" + newValue }
    }
    private var _pathname = "/primus"

    /// Time between server pings (default 30 s); `nil` turns heartbeats off. A spark that does
    /// not answer a ping before the next one is ended silently, so its client reconnects.
    public var pingInterval: Duration? = .seconds(30)

    /// The largest incoming message in bytes (default 10 MiB); larger ones close the connection
    /// (WebSocket close code 1009).
    public var maxLength: Int = 10 * 1024 * 1024

    /// Whether to compress messages (WebSocket permessage-deflate, RFC 7692) with clients that
    /// offer it (default `false`, as in Primus: compression costs CPU and memory per connection).
    public var compression: Bool = false

    /// Makes spark ids; when `nil` (the default), ids are 128 random bits in 22 URL-safe characters.
    public var idGenerator: (@Sendable () -> String)?

    /// Which peers may report the client's address through `x-forwarded-for` and friends
    /// (default: any, as in Primus; set ``TrustedProxies/addresses(_:)`` behind known proxies).
    public var trustedProxies: TrustedProxies = .any

    /// Cross-origin rules of the `cors` middleware layer (default Primus's: any origin, with
    /// credentials; see ``PrimusCORSOptions``).
    public var cors = PrimusCORSOptions()

    /// How many received messages a spark holds for a consumer that is not reading (default 1024).
    /// Past that the server stops reading from the socket until the consumer catches up, so a slow
    /// application slows its peer instead of growing without bound.
    public var maxBufferedMessages: Int = 1024

    /// The client library's global name (default `Primus`).
    public var globalName: String = "Primus"

    /// Makes the adapter behind broadcasts, rooms, spark lookup and the recovery backlog, once per
    /// ``Primus`` (default: one process, ``PrimusLocalAdapter``). A cross-node adapter (Redis)
    /// goes here, and nothing else changes.
    public var adapter: @Sendable () -> any PrimusClusterAdapter = { PrimusLocalAdapter() }

    /// Missed-message recovery: clients that ask for it get, when they reconnect, what was
    /// broadcast to them while they were away, within this window (default `nil`: off).
    public var recovery: PrimusRecovery?

    /// Bounds on buffers, waits, request heads, connections and sparks (see ``PrimusLimits``).
    public var limits = PrimusLimits()

    /// Creates the default configuration.
    public init() {}

    /// Creates a configuration naming the transformer and parser (case-insensitive, as Primus's
    /// options take them); unknown names throw an error that names them.
    public init(transformer: String, parser: String = "json") throws(PrimusError) {
        self.transformer = try PrimusTransformer(named: transformer)
        self.parser = try PrimusParsers.named(parser)
    }

    /// `pingInterval` in whole milliseconds, as the spec and the clients see it.
    public var pingIntervalMilliseconds: Int? {
        guard let pingInterval, pingInterval > .zero else { return nil }
        let (seconds, attoseconds) = pingInterval.components
        return Int(seconds) * 1000 + Int(attoseconds / 1_000_000_000_000_000)
    }

    /// What `GET <pathname>/spec` answers.
    public var spec: PrimusSpec {
        PrimusSpec(pingInterval: pingIntervalMilliseconds, pathname: pathname, parser: parser.name, transformer: transformer.name)
    }
}
