import NIOCore
import NIOWebSocket

/// Joins Socket.IO namespace `/` on a WebSocket opened directly at
/// `/primus/?EIO=4&transport=websocket`: after the Engine.IO open packet (`0{…}`) it sends
/// CONNECT (`40`), and once the server answers `40{"sid":…}` it removes itself and completes
/// `connected`, so the load handler behind it sees only the namespace's packets. A refusal
/// (`44{…}`), a closed connection or no answer within 30 s fails `connected`.
final class SocketIOConnector: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let connected: EventLoopPromise<Void>
    private var done = false
    private var timeout: Scheduled<Void>?
    private var rng = SplitMix64(state: UInt64.random(in: .min ... .max))

    init(connected: EventLoopPromise<Void>) {
        self.connected = connected
    }

    func handlerAdded(context: ChannelHandlerContext) {
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        timeout = context.eventLoop.scheduleTask(in: .seconds(30)) {
            let (handler, context) = loopBound.value
            handler.finish(.failure(BenchError("no Socket.IO CONNECT answer within 30 s")))
            context.close(promise: nil)
        }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        finish(.failure(BenchError("Socket.IO connector removed before CONNECT was answered")))
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard !done, frame.opcode == .text else { return context.fireChannelRead(data) }
        let text = frame.data.readableBytesView
        if text.starts(with: "0{".utf8) {
            send("40", context: context)
        } else if text.first == UInt8(ascii: "2"), text.count == 1 {
            send("3", context: context)
        } else if text.starts(with: "40{".utf8) {
            finish(.success(()))
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
        } else {
            let answer = String(buffer: frame.data)
            finish(.failure(BenchError("Socket.IO CONNECT answered \(answer)")))
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        finish(.failure(BenchError("connection closed before Socket.IO CONNECT was answered")))
        context.fireChannelInactive()
    }

    private func send(_ text: StaticString, context: ChannelHandlerContext) {
        var payload = context.channel.allocator.buffer(capacity: text.utf8CodeUnitCount)
        payload.writeStaticString(text)
        let frame = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(using: &rng), data: payload)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    private func finish(_ result: Result<Void, any Error>) {
        guard !done else { return }
        done = true
        timeout?.cancel()
        connected.completeWith(result)
    }
}
