#if Hummingbird
public import Hummingbird
public import HummingbirdWebSocket
public import NIOCore

/// A request context that knows the connection its request came on.
///
/// Primus needs the connection's event loop (a session made by the request, a spark, lives on
/// it, and a WebSocket's frames are delivered there without crossing threads) and the peer's
/// address (Primus's `forwarded` address and its middleware use it). Hummingbird's contexts do
/// not keep the channel, so the context used on a router that mounts Primus keeps it: store
/// `source.channel` in `init(source:)`, or use ``BasicPrimusRequestContext``.
public protocol PrimusRequestContext: RemoteAddressRequestContext {
    /// The connection the request came on.
    var channel: any Channel { get }
}

extension PrimusRequestContext {
    /// The socket peer, read from the channel (once per request, not per message).
    public var remoteAddress: SocketAddress? { channel.remoteAddress }
}

/// The request context for an application whose router mounts Primus and has nothing of its own
/// to carry: Hummingbird's `BasicWebSocketRequestContext` plus the channel, so the same router
/// can answer plain requests and decide WebSocket upgrades (`.http1WebSocketUpgrade`).
public struct BasicPrimusRequestContext: RequestContext, WebSocketRequestContext, PrimusRequestContext {
    /// Hummingbird's own per-request values.
    public var coreContext: CoreRequestContextStorage
    /// Where a WebSocket route leaves its handler for the upgrade that follows.
    public let webSocket: WebSocketHandlerReference<Self>
    /// The connection the request came on.
    public let channel: any Channel

    /// Made by Hummingbird for every request.
    public init(source: ApplicationRequestContextSource) {
        self.coreContext = .init(source: source)
        self.webSocket = .init()
        self.channel = source.channel
    }
}
#endif
