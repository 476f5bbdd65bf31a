import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PrimusCore
import PrimusWebSocket

/// The `websockets` transformer: RFC 6455 at the pathname, one Primus message per frame.
///
/// Any upgrade under the pathname opens a spark (the query string is free-form); a plain HTTP
/// request there is told `426 Upgrade Required`, as Primus's `ws` transformer does.
///
/// With ``PrimusConfiguration/compression`` on, a client's permessage-deflate offer (RFC 7692) is
/// accepted in the `101` response and the connection's messages are compressed.
struct WebSocketsTransformer: ServerTransformer {
    func upgraders(for primus: Primus) -> [any HTTPServerProtocolUpgrader & Sendable] {
        let compression = primus.configuration.compression
        // Upgraders are made per connection, so this holds at most one spark. A lock, not a
        // loop-bound box: it is made before the connection's event loop is known to us.
        let announced = NIOLockedValueBox<Spark?>(nil)
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: Self.maxFrameSize(maxLength: primus.configuration.maxLength, compression: compression),
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
                guard primus.owns(path: path) else { return channel.eventLoop.makeSucceededFuture(nil) }
                // The spark is announced before the 101 goes out, as Primus does in the same tick:
                // a broadcast made once the client sees `open` must reach it. What is written
                // before the pipeline is ready waits in the spark.
                let spark = Self.makeSpark(channel: channel, head: head, primus: primus)
                announced.withLockedValue { $0 = spark }
                channel.closeFuture.whenComplete { _ in spark.transportClosed() }  // also if the upgrade fails
                primus.register(spark)
                return channel.eventLoop.makeSucceededFuture(Self.responseHeaders(for: head, compression: compression))
            },
            upgradePipelineHandler: { channel, head in
                guard let spark = announced.withLockedValue({ $0 }) else {
                    return channel.eventLoop.makeFailedFuture(PrimusError.protocolViolation("upgrade without a handshake"))
                }
                let handler = WebSocketTransportHandler(
                    sink: spark,
                    maxMessageLength: primus.configuration.maxLength,
                    deflate: Self.negotiatedDeflate(for: head, compression: compression)
                )
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        )
        return [upgrader]
    }

    /// A spark for an accepted handshake: address through trusted proxies, a fresh id.
    static func makeSpark(channel: any Channel, head: HTTPRequestHead, primus: Primus) -> Spark {
        let remote: SparkAddress? = channel.remoteAddress.flatMap { address in
            address.ipAddress.map { SparkAddress(ip: $0, port: address.port ?? 0, secure: false) }
        }
        let address = ForwardedAddressResolver.resolve(
            remote: remote,
            secureTransport: false,
            header: { name in
                let values = head.headers[name]
                return values.isEmpty ? nil : values.joined(separator: ",")
            },
            trusted: primus.configuration.trustedProxies
        )
        return Spark(id: primus.makeSparkID(), request: head, address: address, eventLoop: channel.eventLoop, primus: primus)
    }

    /// The largest frame read. One uncompressed frame can never be larger than a message (larger
    /// messages fail with 1009); a compressed one may be a little larger than what it inflates to.
    static func maxFrameSize(maxLength: Int, compression: Bool) -> Int {
        let frame = compression ? PerMessageDeflateParameters.maximumFrameLength(forMessageLength: maxLength) : maxLength
        return min(max(frame, 125), Int(UInt32.max))  // NIO's decoder's ceiling
    }

    /// The permessage-deflate parameters agreed for this handshake, if compression is on and the
    /// client offered something we accept. Pure, so the upgrade response and the pipeline agree.
    static func negotiatedDeflate(for head: HTTPRequestHead, compression: Bool) -> PerMessageDeflateParameters? {
        guard compression else { return nil }
        return PerMessageDeflateParameters.negotiate(offers: head.headers["sec-websocket-extensions"])
    }

    /// The extra headers of the `101` response.
    static func responseHeaders(for head: HTTPRequestHead, compression: Bool) -> HTTPHeaders {
        guard let deflate = negotiatedDeflate(for: head, compression: compression) else { return HTTPHeaders() }
        return ["Sec-WebSocket-Extensions": deflate.responseHeaderValue]
    }

    func respond(to request: PrimusHTTPRequest, primus: Primus, channel: any Channel) async -> PrimusHTTPResponse {
        .text("Upgrade Required", status: .upgradeRequired, contentType: "text/plain")
    }
}
