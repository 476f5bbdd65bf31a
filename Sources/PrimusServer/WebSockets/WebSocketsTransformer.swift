import NIOCore
import NIOHTTP1
import PrimusCore
import PrimusWebSocket

/// The `websockets` transformer: RFC 6455 at the pathname, one Primus message per frame.
///
/// Any upgrade under the pathname that the middleware lets through opens a spark (the query
/// string is free-form); a plain HTTP request there is told `426 Upgrade Required`, as Primus's
/// `ws` transformer does. A handshake that ``Primus/admit(_:id:)`` refuses (the server or its
/// address holds as many sparks as the limits allow, or the server is shutting down) is not
/// upgraded and gets `503 Service Unavailable`.
///
/// With ``PrimusConfiguration/compression`` on, a client's permessage-deflate offer (RFC 7692) is
/// accepted in the `101` response and the connection's messages are compressed.
struct WebSocketsTransformer: PrimusServerTransformer {
    func webSocketHandshake(_ context: PrimusMiddlewareContext, on eventLoop: any EventLoop, primus: Primus) -> PrimusWebSocketDecision {
        // The spark is announced before the 101 goes out, as Primus does in the same tick: a
        // broadcast made once the client sees `open` must reach it. What is written before the
        // connection is ready waits in the spark.
        guard let spark = primus.accept(context, on: eventLoop) else {
            return .refuse(.text("Service Unavailable", status: .serviceUnavailable, contentType: "text/plain"))
        }
        return .accept(
            PrimusWebSocketAcceptance(
                maxMessageLength: primus.configuration.maxLength,
                compression: primus.configuration.compression,
                connected: { _ in spark },
                abandoned: { spark.transportClosed() }
            )
        )
    }

    /// A plain request under the pathname: `426 Upgrade Required`.
    func handle(_ exchange: PrimusHTTPExchange, primus: Primus) {
        exchange.respond(.text("Upgrade Required", status: .upgradeRequired, contentType: "text/plain"))
    }

    /// The largest frame read. One uncompressed frame can never be larger than a message (larger
    /// messages fail with 1009); a compressed one may be a little larger than what it inflates to.
    static func maxFrameSize(maxLength: Int, compression: Bool) -> Int {
        let frame = compression ? PerMessageDeflateParameters.maximumFrameLength(forMessageLength: maxLength) : maxLength
        return min(max(frame, 125), Int(UInt32.max))  // NIO's decoder's ceiling
    }
}
