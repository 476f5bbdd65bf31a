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
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: Self.maxFrameSize(maxLength: primus.configuration.maxLength, compression: compression),
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
                guard primus.owns(path: path) else { return channel.eventLoop.makeSucceededFuture(nil) }
                return channel.eventLoop.makeSucceededFuture(Self.responseHeaders(for: head, compression: compression))
            },
            upgradePipelineHandler: { channel, head in
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
                let spark = Spark(id: primus.makeSparkID(), request: head, address: address, eventLoop: channel.eventLoop, primus: primus)
                let handler = WebSocketTransportHandler(
                    sink: spark,
                    maxMessageLength: primus.configuration.maxLength,
                    deflate: Self.negotiatedDeflate(for: head, compression: compression)
                )
                do {
                    try channel.pipeline.syncOperations.addHandler(handler)
                } catch {
                    return channel.eventLoop.makeFailedFuture(error)
                }
                primus.register(spark)
                return channel.eventLoop.makeSucceededVoidFuture()
            }
        )
        return [upgrader]
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
