public import NIOCore
public import NIOHTTP1

/// The server half of a transformer: how a wire protocol serves clients under the pathname.
///
/// A transformer adapts its transport sessions to ``Spark``: it admits and opens sparks through
/// ``Primus/admit(_:)`` and ``Primus/openSpark(_:request:on:)`` (or ``Primus/accept(_:on:)``),
/// hands each spark a ``SparkTransport``, and feeds it the client's messages through
/// ``SparkTransportSink``. Nothing above the Spark changes when a transformer is added, and a
/// package outside `PrimusServer` can define one (see ``PrimusTransformer/init(name:server:)``).
///
/// The front-end (``PrimusHTTPServer`` or a framework adapter) runs the middleware for every
/// request under the pathname first; a transformer only sees the requests the middleware let
/// through, and answers them on the connection's event loop without a task:
/// - plain HTTP requests arrive as a ``PrimusHTTPExchange`` (``handle(_:primus:)``);
/// - WebSocket upgrades are accepted or refused by ``webSocketHandshake(_:on:primus:)``.
public protocol PrimusServerTransformer: Sendable {
    /// The longest request body this transformer needs under the pathname, when more than the
    /// front-end's default (Engine.IO's polling bodies carry whole messages); `nil` keeps the
    /// default. Longer bodies get `413` and ``requestBodyTooLarge(_:primus:)``.
    func maxRequestBodyLength(primus: Primus) -> Int?

    /// Answers a plain HTTP request under the pathname that the middleware let through. Called
    /// on the exchange's event loop; answer now or later, from any thread.
    func handle(_ exchange: PrimusHTTPExchange, primus: Primus)

    /// Decides a WebSocket upgrade under the pathname that the middleware let through, on the
    /// connection's event loop. A refusal is written as a plain HTTP answer and the connection
    /// closes.
    func webSocketHandshake(_ context: PrimusMiddlewareContext, on eventLoop: any EventLoop, primus: Primus) -> PrimusWebSocketDecision

    /// A request under the pathname began: its head arrived, its body may still be on its way.
    /// Engine.IO notices overlapping `POST`s of one session from here, as the reference does.
    func requestBegan(_ head: HTTPRequestHead, primus: Primus)

    /// A request that began never reached ``handle(_:primus:)``: its connection closed before
    /// the body was complete, or the middleware answered it.
    func requestAbandoned(_ head: HTTPRequestHead, primus: Primus)

    /// A request under the pathname was refused with `413` because its body was over the limit.
    /// Engine.IO closes the session the request named, as the reference server does.
    func requestBodyTooLarge(_ head: HTTPRequestHead, primus: Primus)

    /// Ends the admitted id `sparkID` that is not a registered spark (a session of the test
    /// server's raw mode), shed by ``Primus/admit(_:)`` to make room.
    func shed(sparkID: String, primus: Primus)
}

extension PrimusServerTransformer {
    /// The front-end's default body limit.
    public func maxRequestBodyLength(primus: Primus) -> Int? { nil }

    /// Transformers without HTTP sessions do not track requests.
    public func requestBegan(_ head: HTTPRequestHead, primus: Primus) {}

    /// Transformers without HTTP sessions do not track requests.
    public func requestAbandoned(_ head: HTTPRequestHead, primus: Primus) {}

    /// Transformers without HTTP sessions have nothing to close.
    public func requestBodyTooLarge(_ head: HTTPRequestHead, primus: Primus) {}

    /// Transformers whose every admitted id is a spark have nothing else to shed.
    public func shed(sparkID: String, primus: Primus) {}

    /// Transformers that speak only HTTP refuse upgrades the way a plain request is refused.
    public func webSocketHandshake(_ context: PrimusMiddlewareContext, on eventLoop: any EventLoop, primus: Primus) -> PrimusWebSocketDecision {
        .refuse(.text("Bad Request", status: .badRequest, contentType: "text/plain"))
    }
}

/// A transformer's answer to a WebSocket upgrade.
public enum PrimusWebSocketDecision: Sendable {
    /// Complete the handshake (`101`) and carry messages.
    case accept(PrimusWebSocketAcceptance)
    /// Answer with this response instead and close the connection.
    case refuse(PrimusHTTPResponse)
}

/// An accepted WebSocket: what the `101` adds, the message rules, and the sink the connection's
/// messages go to once frames flow. The front-end runs the RFC 6455 framing (fragments, UTF-8,
/// close handshake, pings, flow control) and turns each complete message into
/// ``SparkTransportSink/receive(_:)``.
public struct PrimusWebSocketAcceptance: Sendable {
    /// Extra headers of the `101` response.
    public var headers: HTTPHeaders
    /// The largest message accepted; longer ones close the connection with 1009.
    public var maxMessageLength: Int
    /// Whether to accept the client's permessage-deflate offer (RFC 7692), when it made one.
    public var compression: Bool
    /// Called on the connection's event loop once the connection speaks WebSocket; returns the
    /// sink for its messages, which is then attached to the connection (its transport).
    public var connected: @Sendable (any EventLoop) -> any SparkTransportSink
    /// Called when the handshake was accepted but the connection closed before it switched
    /// protocols; an admitted spark is released here.
    public var abandoned: @Sendable () -> Void

    /// Creates an acceptance.
    public init(
        headers: HTTPHeaders = HTTPHeaders(),
        maxMessageLength: Int,
        compression: Bool = false,
        connected: @escaping @Sendable (any EventLoop) -> any SparkTransportSink,
        abandoned: @escaping @Sendable () -> Void = {}
    ) {
        self.headers = headers
        self.maxMessageLength = maxMessageLength
        self.compression = compression
        self.connected = connected
        self.abandoned = abandoned
    }
}
