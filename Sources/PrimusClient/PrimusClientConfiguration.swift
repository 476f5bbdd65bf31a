public import Logging
public import NIOCore
public import NIOHTTP1
import NIOPosix
public import NIOSSL
public import PrimusCore

/// How a ``PrimusClient`` behaves. Every option has Primus 8's default unless noted.
///
/// ```swift
/// var configuration = PrimusClientConfiguration()
/// configuration.reconnect.retries = 20
/// configuration.queueSize = 100
/// let client = try PrimusClient("wss://example.com/?token=abc", configuration: configuration)
/// ```
public struct PrimusClientConfiguration: Sendable {
    /// The wire protocol (default WebSockets). Must match the server's transformer.
    public var transport: any PrimusClientTransport = WebSocketClientTransport()

    /// The message encoding (default JSON). Must match the server's parser.
    public var parser: any PrimusParser = JSONParser()

    /// Where the server mounts Primus (default `/primus`). A path in the client's URL overrides it.
    public var pathname: String = "/primus"

    /// When the client reconnects on its own (default: on disconnect, online and timeout).
    public var strategy: ReconnectStrategy = .default

    /// The reconnect schedule: 500 ms first, then randomized exponential backoff (factor 2,
    /// no maximum), 10 attempts, 30 s per attempt.
    public var reconnect = ReconnectBackoff.Configuration()

    /// How long the first connection may take to open (default 10 s); `nil` waits forever.
    /// Reconnect attempts use ``ReconnectBackoff/Configuration/attemptTimeout`` instead.
    public var timeout: Duration? = .seconds(10)

    /// How long the client waits for a server ping before declaring the connection dead and
    /// reconnecting (default 45 s, 1.5 × Primus's default `pingInterval`; ``PrimusClient/discover(_:configuration:)``
    /// sets it from the server's spec). `nil` turns the check off.
    public var pingTimeout: Duration? = .seconds(45)

    /// How many writes are held while the connection is not open (default 10,000); when full,
    /// the oldest is dropped. `0` disables buffering: writes made while not open are dropped.
    public var queueSize: Int = 10_000

    /// Whether the client asks for missed-message recovery (default `true`): every connection URL
    /// carries `_primus_recover` with the last sequence received, so a server with recovery on
    /// replays the broadcasts sent while the client was away; its sequenced messages are
    /// unwrapped, and duplicates dropped, before ``PrimusClient/events`` and named events see them.
    /// A server without recovery ignores the parameter. `false` sends nothing and unwraps nothing.
    public var recover = true

    /// When `true`, the client does not connect until ``PrimusClient/open()`` (default `false`).
    public var manual = false

    /// Extra headers for the handshake (cookies, tokens). `Authorization: Basic` is added from
    /// `user:password@` in the URL.
    public var headers: HTTPHeaders = [:]

    /// TLS settings for `wss://` and `https://` URLs (default: system trust roots, full verification).
    public var tlsConfiguration: TLSConfiguration = .makeClientConfiguration()

    /// The largest incoming message in bytes (default 10 MiB, as the server's `maxLength`).
    public var maxMessageLength: Int = 10 * 1024 * 1024

    /// How many events an ``PrimusClient/events`` subscriber that does not keep up may fall behind
    /// (default 10,000). Past that the subscriber gets an `.error` saying so, then `.end`, and its
    /// sequence finishes: it never silently misses `.data` or `.end`. Handlers (`onData`, …) are
    /// called on the event loop and never fall behind.
    public var eventBufferSize: Int = 10_000

    /// The NIO threads (default: the shared singleton). The client stays on one of its loops.
    public var eventLoopGroup: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton

    /// The random source of the backoff (default `Double.random(in: 0..<1)`); inject one to make
    /// delays predictable.
    public var random: @Sendable () -> Double = { Double.random(in: 0..<1) }

    /// Where the client logs (debug and trace only).
    public var logger = Logger(label: "primus.client")

    /// Creates the default configuration.
    public init() {}

    /// Creates a configuration naming the transformer and parser (case-insensitive, as Primus's
    /// options take them); unknown names throw an error that names them.
    public init(transformer: String, parser: String = "json") throws(PrimusError) {
        self.transport = try PrimusClientTransports.named(transformer)
        self.parser = try PrimusParsers.named(parser)
    }

    /// Adopts what a server's `<pathname>/spec` says: transformer, parser, pathname and a
    /// `pingTimeout` of 1.5 × its `pingInterval` (none when the server does not ping).
    public mutating func apply(_ spec: PrimusSpec) throws(PrimusError) {
        transport = try PrimusClientTransports.named(spec.transformer)
        parser = try PrimusParsers.named(spec.parser)
        pathname = spec.pathname
        if let interval = spec.pingInterval {
            // Primus: pingInterval + round(pingInterval / 2).
            let half = (Double(interval) / 2).rounded(.toNearestOrAwayFromZero)
            pingTimeout = .milliseconds(interval + Int(half))
        } else {
            pingTimeout = nil
        }
    }
}

/// When a client reconnects on its own (Primus's `strategy` option).
public struct ReconnectStrategy: OptionSet, Sendable, Hashable {
    /// The bits.
    public let rawValue: UInt8

    /// Creates a strategy from its bits.
    public init(rawValue: UInt8) { self.rawValue = rawValue }

    /// Reconnect when an open connection is lost (and when the server stops pinging).
    public static let disconnect = ReconnectStrategy(rawValue: 1 << 0)
    /// Reconnect when the network comes back (``PrimusClient/networkChanged(online:)``).
    public static let online = ReconnectStrategy(rawValue: 1 << 1)
    /// Reconnect when the first connection fails or does not open in time.
    public static let timeout = ReconnectStrategy(rawValue: 1 << 2)

    /// Primus's default: all three.
    public static let `default`: ReconnectStrategy = [.disconnect, .online, .timeout]
    /// Never reconnect (Primus's `strategy: false`).
    public static let none: ReconnectStrategy = []
}
