package import NIOCore
import NIOHTTP1
import NIOWebSocket
import PrimusCore
import PrimusWebSocket

/// A WebSocket echo without the Primus layer, on the same frame handling as the `websockets`
/// transformer, so protocol conformance suites (Autobahn) test exactly the code sparks use.
/// Used by `primus-testserver --raw`.
package enum RawWebSocketEcho {
    /// Installs HTTP with an upgrade at `pathname` (prefix match) whose connections echo every
    /// message; other requests get `404`. With `compression`, permessage-deflate offers are
    /// accepted as by the `websockets` transformer. The HTTP side has the same defenses as
    /// ``PrimusHTTPServer`` (head limits, strict handshakes, timeouts from `limits`).
    package static func configure(
        channel: any Channel,
        pathname: String,
        maxLength: Int,
        compression: Bool = false,
        limits: PrimusLimits = PrimusLimits()
    ) throws {
        let upgrader = NIOWebSocketServerUpgrader(
            maxFrameSize: WebSocketsTransformer.maxFrameSize(maxLength: maxLength, compression: compression),
            automaticErrorHandling: false,  // WebSocketTransportHandler answers decoder errors
            shouldUpgrade: { channel, head in
                guard head.uri.hasPrefix(pathname) else { return channel.eventLoop.makeSucceededFuture(nil) }
                var headers = HTTPHeaders()
                if let deflate = RawWebSocketEcho.deflate(for: head, compression: compression) {
                    headers.add(name: "Sec-WebSocket-Extensions", value: deflate.responseHeaderValue)
                }
                return channel.eventLoop.makeSucceededFuture(headers)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(
                        WebSocketTransportHandler(
                            sink: EchoSink(),
                            maxMessageLength: maxLength,
                            deflate: RawWebSocketEcho.deflate(for: head, compression: compression),
                            limits: limits
                        )
                    )
                }
            }
        )
        try PrimusHTTPPipeline.install(
            on: channel,
            limits: limits,
            maxBodyLength: 1 << 20,
            upgraders: [upgrader],
            tracked: nil,
            application: NotFoundHandler(),
            name: "primus.raw.http",
            upgradeCompleted: { context in _ = context.pipeline.syncOperations.removeHandler(name: "primus.raw.http") }
        )
    }

    /// The permessage-deflate parameters agreed with the client, if compression is on and it
    /// offered something we accept. Pure, so the `101` and the pipeline agree.
    static func deflate(for head: HTTPRequestHead, compression: Bool) -> PerMessageDeflateParameters? {
        guard compression else { return nil }
        return PerMessageDeflateParameters.negotiate(offers: head.headers["sec-websocket-extensions"])
    }

    private final class EchoSink: WebSocketMessageSink {
        private var transport: (any SparkTransport)?
        func attach(transport: any SparkTransport) { self.transport = transport }
        func receive(_ message: TransportMessage) { transport?.send(message) }
        func transportPing() {}
        func transportClosed() { transport = nil }
    }

    private final class NotFoundHandler: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart
        private var keepAlive = true

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): keepAlive = head.isKeepAlive
            case .body: break
            case .end:
                var headers: HTTPHeaders = ["content-length": "0"]
                if !keepAlive { headers.add(name: "connection", value: "close") }
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .notFound, headers: headers))), promise: nil)
                let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
                if !keepAlive {
                    let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
                    written.whenComplete { _ in loopBound.value.close(promise: nil) }
                }
            }
        }
    }
}
