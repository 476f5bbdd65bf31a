public import PrimusCore

/// A transformer: the real-time protocol that carries Primus messages between client and server,
/// with its options. Switching is one line: `configuration.transformer = .engineIO`.
///
/// A transformer is a value that makes its server half (``PrimusServerTransformer``), so a
/// package outside `PrimusServer` can define one, as Primus lets users pass a custom transformer:
///
/// ```swift
/// extension PrimusTransformer {
///     static let longPolling = PrimusTransformer(name: "long-polling") { LongPollingTransformer() }
/// }
/// configuration.transformer = .longPolling
/// ```
///
/// Two transformers are equal when their names are.
public struct PrimusTransformer: Hashable, Sendable, CustomStringConvertible {
    /// The lower-case name used in the spec and in `--transformer` flags.
    public let name: String
    /// Makes the server half; called once per ``Primus``.
    let makeServer: @Sendable () -> any PrimusServerTransformer
    /// The options of an `engine.io` transformer, for tools and tests that adjust them.
    package let engineIOOptions: EngineIOOptions?

    /// A transformer called `name` whose server half `server` makes (once per ``Primus``).
    public init(name: String, server: @escaping @Sendable () -> any PrimusServerTransformer) {
        self.name = name
        self.makeServer = server
        self.engineIOOptions = nil
    }

    private init(engineIO options: EngineIOOptions) {
        self.name = "engine.io"
        self.makeServer = { EngineIOTransformer(options: options) }
        self.engineIOOptions = options
    }

    /// Plain WebSockets (RFC 6455), one Primus message per frame.
    public static let websockets = PrimusTransformer(name: "websockets") { WebSocketsTransformer() }

    /// Engine.IO (protocol 4, and 3 when allowed) with the reference server's defaults:
    /// long-polling that upgrades to WebSocket.
    public static let engineIO = PrimusTransformer.engineIO(EngineIOOptions())

    /// Engine.IO with `options` (heartbeat, upgrades, EIO=3, sessions).
    public static func engineIO(_ options: EngineIOOptions) -> PrimusTransformer {
        PrimusTransformer(engineIO: options)
    }

    /// SockJS (protocol 0.3) with sockjs-node's defaults: WebSocket, XHR streaming and polling,
    /// EventSource, htmlfile and JSONP, for clients behind anything.
    public static let sockjs = PrimusTransformer.sockjs(SockJSOptions())

    /// SockJS with `options` (heartbeats, delays, response limit, WebSocket on or off).
    public static func sockjs(_ options: SockJSOptions) -> PrimusTransformer {
        PrimusTransformer(name: "sockjs") { SockJSTransformer(options: options) }
    }

    /// Google's BrowserChannel (protocol 8): long-polling over a forward and a back channel,
    /// for networks where nothing else gets through.
    public static let browserChannel = PrimusTransformer.browserChannel(BrowserChannelOptions())

    /// Socket.IO (protocol 5, and 4 for socket.io 2.x clients when Engine.IO 3 is allowed) with
    /// the reference server's defaults: the official Socket.IO clients connect, each namespace
    /// is a spark, and named events, acknowledgements and rooms are native.
    public static let socketIO = PrimusTransformer.socketIO(SocketIOOptions())

    /// Socket.IO with `options` (namespaces, authorization, connect timeout, Engine.IO layer).
    public static func socketIO(_ options: SocketIOOptions) -> PrimusTransformer {
        PrimusTransformer(name: "socket.io") { SocketIOTransformer(options: options) }
    }

    /// Every transformer this build supports by name.
    public static let all: [PrimusTransformer] = [.websockets, .engineIO, .sockjs, .browserChannel, .socketIO]

    /// The transformer called `name`, case-insensitively (`"WebSockets"` works).
    public init(named name: String) throws(PrimusError) {
        guard let match = Self.all.first(where: { $0.name == name.lowercased() }) else {
            throw PrimusError.unsupportedTransformer(name)
        }
        self = match
    }

    public var description: String { name }

    public static func == (lhs: PrimusTransformer, rhs: PrimusTransformer) -> Bool { lhs.name == rhs.name }

    public func hash(into hasher: inout Hasher) { hasher.combine(name) }
}
