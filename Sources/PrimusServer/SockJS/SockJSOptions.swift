public import NIOCore
import PrimusCore

/// Options of the `sockjs` transformer (``PrimusTransformer/sockjs(_:)``), with sockjs-node's
/// defaults.
///
/// ```swift
/// var options = SockJSOptions()
/// options.websocket = false          // behind a proxy that strips upgrades
/// configuration.transformer = .sockjs(options)
/// ```
public struct SockJSOptions: Sendable, Hashable {
    /// How often a receiving connection gets a heartbeat frame `h` (default 25 s).
    public var heartbeatDelay: TimeAmount = .seconds(25)
    /// How long a session lives after its last receiving connection ended (default 5 s): the
    /// client's next poll or stream must come within it.
    public var disconnectDelay: TimeAmount = .seconds(5)
    /// Bytes after which a streaming response (`xhr_streaming`, `eventsource`, `htmlfile`) is
    /// ended so the client opens a fresh one (default 128 KiB).
    public var responseLimit = 128 * 1024
    /// Whether the `websocket` transports are offered (default `true`); `/info` tells clients.
    public var websocket = true
    /// Whether session responses set a `JSESSIONID` cookie, for load balancers that route by it
    /// (default `false`); `/info` then says `"cookie_needed": true`.
    public var cookieNeeded = false
    /// The SockJS client script the iframe page loads (iframe transports run sockjs-client
    /// inside an iframe of this server's origin).
    public var clientScriptURL = "https://cdn.jsdelivr.net/npm/sockjs-client@1/dist/sockjs.min.js"
    /// Most SockJS HTTP sessions open at once, closing ones included (default 10,000), on top of
    /// the spark limits.
    public var maxSessions = 10_000

    /// The test server's `--raw` mode: no Primus layer, and the four services of the SockJS test
    /// contract under the pathname (`/echo`, `/close`, `/disabled_websocket_echo`,
    /// `/cookie_needed_echo`).
    package var testServices = false

    /// sockjs-node's defaults.
    public init() {}
}
