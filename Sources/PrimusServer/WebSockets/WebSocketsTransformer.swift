import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PrimusCore
import PrimusWebSocket

/// The `websockets` transformer: RFC 6455 at the pathname, one Primus message per frame.
///
/// Any upgrade under the pathname opens a spark (the query string is free-form); a plain HTTP
/// request there is told `426 Upgrade Required`, as Primus's `ws` transformer does. A handshake
/// that ``Primus/admit(_:key:)`` refuses (the server or its address holds as many sparks as the
/// limits allow) is not upgraded and gets `503 Service Unavailable`.
///
/// With ``PrimusConfiguration/compression`` on, a client's permessage-deflate offer (RFC 7692) is
/// accepted in the `101` response and the connection's messages are compressed.
struct WebSocketsTransformer: ServerTransformer {
    /// Connections whose upgrade was refused by admission, until their request is answered `503`
    /// (or they close). Touched only for refused handshakes and plain requests, never per message.
    private let refusedUpgrades = NIOLockedValueBox<Set<ObjectIdentifier>>([])

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
                let (address, key) = primus.client(of: head, remote: channel.remoteAddress)
                let id = primus.makeSparkID()
                guard primus.admit(id, key: key).admitted else {
                    // Not upgraded: the request goes on to `respond`, which answers 503.
                    refuseUpgrade(on: channel)
                    return channel.eventLoop.makeSucceededFuture(nil)
                }
                // The spark is announced before the 101 goes out, as Primus does in the same tick:
                // a broadcast made once the client sees `open` must reach it. What is written
                // before the pipeline is ready waits in the spark.
                let spark = Spark(id: id, request: head, address: address, eventLoop: channel.eventLoop, primus: primus)
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
                    deflate: Self.negotiatedDeflate(for: head, compression: compression),
                    limits: primus.configuration.limits
                )
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(handler)
                }
            }
        )
        return [upgrader]
    }

    /// Remembers that `channel`'s upgrade was refused, until its request is answered.
    private func refuseUpgrade(on channel: any Channel) {
        let identifier = ObjectIdentifier(channel)
        refusedUpgrades.withLockedValue { _ = $0.insert(identifier) }
        let refused = refusedUpgrades
        channel.closeFuture.whenComplete { _ in refused.withLockedValue { _ = $0.remove(identifier) } }
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

    /// `503` for a handshake that admission refused, `426 Upgrade Required` for anything else.
    func respond(to request: PrimusHTTPRequest, primus: Primus, channel: any Channel) async -> PrimusHTTPResponse {
        let identifier = ObjectIdentifier(channel)
        if refusedUpgrades.withLockedValue({ $0.remove(identifier) != nil }) {
            return .text("Service Unavailable", status: .serviceUnavailable, contentType: "text/plain")
        }
        return .text("Upgrade Required", status: .upgradeRequired, contentType: "text/plain")
    }
}
