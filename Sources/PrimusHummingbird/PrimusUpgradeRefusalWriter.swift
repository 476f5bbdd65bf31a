#if Hummingbird
import NIOCore
import NIOHTTP1
import PrimusServer

/// Gives a refused WebSocket upgrade Primus's own answer (`401` with its body, CORS headers)
/// instead of the bare `400` Hummingbird writes for every upgrade it does not make.
///
/// Hummingbird's upgrade path has no way to answer a refusal itself: any answer but `200` from
/// the WebSocket router becomes `400 Bad Request` with `Connection: close`. So, on a refusal,
/// this handler goes in front of the connection's HTTP/1 encoder (whatever is written there is
/// an HTTP/1 response part) and swaps that `400` for Primus's answer. If the pipeline does not
/// look as expected, nothing is installed and the client gets Hummingbird's `400`: a refusal
/// either way, never an upgrade.
final class PrimusUpgradeRefusalWriter: ChannelOutboundHandler, RemovableChannelHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case waiting(PrimusHTTPResponse)
        case replacing(PrimusHTTPResponse)
        case done
    }

    private var state: State

    init(refusal: PrimusHTTPResponse) {
        self.state = .waiting(refusal)  // with `Connection: close` already (decideUpgrade)
    }

    /// Installs the writer for `refusal` on `channel`, before Hummingbird answers the upgrade.
    static func install(_ refusal: PrimusHTTPResponse, on channel: any Channel) async {
        try? await channel.eventLoop.submit {
            let pipeline = channel.pipeline.syncOperations
            let encoder = try pipeline.context(handlerType: HTTPResponseEncoder.self)
            try pipeline.addHandler(PrimusUpgradeRefusalWriter(refusal: refusal), position: .after(encoder.handler))
        }.get()
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch (state, unwrapOutboundIn(data)) {
        case (.waiting(let refusal), .head(let head)) where head.status == .badRequest:
            state = .replacing(refusal)
            var headers = refusal.headers
            headers.replaceOrAdd(name: "content-length", value: String(refusal.body.readableBytes))
            let replaced = HTTPResponseHead(version: head.version, status: refusal.status, headers: headers)
            context.write(wrapOutboundOut(.head(replaced)), promise: promise)
        case (.waiting, _):
            // Not the refusal's answer: leave the response alone from here on.
            state = .done
            context.write(data, promise: promise)
        case (.replacing, .body):
            // Hummingbird's `400` has no body; nothing of it is kept.
            promise?.succeed(())
        case (.replacing(let refusal), .end(let trailers)):
            state = .done
            if refusal.body.readableBytes > 0 {
                context.write(wrapOutboundOut(.body(.byteBuffer(refusal.body))), promise: nil)
            }
            context.write(wrapOutboundOut(.end(trailers)), promise: promise)
        case (.replacing, .head), (.done, _):
            context.write(data, promise: promise)
        }
    }
}
#endif
