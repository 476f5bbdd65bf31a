/// Options of the `browserchannel` transformer. The defaults are node-browserchannel's.
///
/// ```swift
/// var configuration = PrimusConfiguration()
/// var options = BrowserChannelOptions()
/// options.sessionTimeout = .seconds(10)
/// configuration.transformer = .browserChannel(options)
/// ```
///
/// The largest forward-channel request body is ``PrimusConfiguration/maxLength`` (a longer one
/// gets `413`); the outbound budget of a spark is the arrays its client has not acknowledged.
public struct BrowserChannelOptions: Sendable {
    /// How long a back channel may stay silent before a `["noop"]` keeps it alive (20 s).
    public var keepAliveInterval: Duration = .seconds(20)

    /// How long a session lives without a back channel (30 s): a client that went away without
    /// terminating is gone after this, and its spark ends.
    public var sessionTimeout: Duration = .seconds(30)

    /// How many UTF-16 units a streaming back channel carries before the server ends it (10 KiB),
    /// so that proxies see complete responses and memory held by intermediaries stays small.
    public var backChannelMaxBytes = 10 * 1024

    /// How long the buffering-proxy test waits between its two pieces (2 s): a client that gets
    /// both at once is behind a buffering proxy and turns chunking off.
    public var bufferingProxyTestDelay: Duration = .seconds(2)

    /// The most arrays a client may leave unacknowledged before its session is given up.
    public var maxBufferedArrays = 10_000

    /// The most BrowserChannel sessions held at once (default 100,000, as
    /// ``PrimusLimits/maxSparks``); sessions also pass the server's spark admission first.
    public var maxSessions = 100_000

    /// The test server's `--raw` mode: sessions echo their messages without a spark.
    package var rawEcho = false

    /// The defaults.
    public init() {}
}

extension PrimusTransformer {
    /// BrowserChannel with `options` (timings, bounds).
    public static func browserChannel(_ options: BrowserChannelOptions) -> PrimusTransformer {
        PrimusTransformer(name: "browserchannel") { BrowserChannelTransformer(options: options) }
    }
}
