import NIOCore
import NIOHTTP1
import NIOWebSocket
import PrimusCore

/// The `websockets` transformer: RFC 6455 at the pathname, one Primus message per frame.
///
/// Any upgrade under the pathname opens a spark (the query string is free-form); a plain HTTP
/// request there is told `426 Upgrade Required`, as Primus's `ws` transformer does.
struct WebSocketsTransformer: ServerTransformer {
    func upgraders(for primus: Primus) -> [any HTTPServerProtocolUpgrader & Sendable] {
        let upgrader = NIOWebSocketServerUpgrader(
            // One frame can never be larger than a message; larger messages fail with 1009.
            maxFrameSize: max(primus.configuration.maxLength, 125),
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                let path = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? head.uri
                return channel.eventLoop.makeSucceededFuture(primus.owns(path: path) ? HTTPHeaders() : nil)
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
                let handler = WebSocketTransportHandler(sink: spark, maxMessageLength: primus.configuration.maxLength)
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

    func respond(to request: PrimusHTTPRequest, primus: Primus, channel: any Channel) async -> PrimusHTTPResponse {
        .text("Upgrade Required", status: .upgradeRequired, contentType: "text/plain")
    }
}
