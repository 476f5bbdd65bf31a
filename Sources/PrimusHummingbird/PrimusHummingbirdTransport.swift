#if Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusServer

/// A spark's ``SparkTransport`` over a WebSocket that Hummingbird upgraded.
///
/// Sends are written straight to the connection's channel on its event loop, as frames: the
/// spark calls from the loop, and Hummingbird's own writer is `async`, which would cost a task
/// per message. Only the close goes through Hummingbird's writer (a task, once), so its close
/// handshake stays in charge. Pings, pongs and the close reply are Hummingbird's too.
///
/// Event-loop-bound: every method runs on the channel's loop.
final class PrimusHummingbirdTransport: SparkTransport {
    private let channel: any Channel
    private let outbound: WebSocketOutboundWriter
    private let gate: PrimusReadGate
    private let closeTimeout: TimeAmount
    private var closing = false

    init(channel: any Channel, outbound: WebSocketOutboundWriter, gate: PrimusReadGate, closeTimeout: TimeAmount) {
        self.channel = channel
        self.outbound = outbound
        self.gate = gate
        self.closeTimeout = closeTimeout
    }

    func send(_ message: TransportMessage) {
        channel.writeAndFlush(Self.frame(message), promise: nil)
    }

    /// Every spark of a broadcast writes the same bytes; the flush follows the batch.
    func send(shared: SharedTransportMessage) {
        channel.write(Self.frame(shared.message), promise: nil)
    }

    func flush() {
        channel.flush()
    }

    /// Closes through Hummingbird's writer, with the code (`nil`, a spark that ended, closes
    /// with 1000: Hummingbird's writer always sends a code, where the standalone server sends
    /// none). A client that never answers the close is cut off after `closeTimeout`.
    func close(code: UInt16?) {
        guard !closing else { return }
        closing = true
        let errorCode = code.map { WebSocketErrorCode(codeNumber: Int($0)) } ?? .normalClosure
        let outbound = self.outbound
        Task { try? await outbound.close(errorCode, reason: nil) }
        let channel = self.channel
        channel.eventLoop.scheduleTask(in: closeTimeout) { channel.close(promise: nil) }
    }

    func pauseReading() {
        gate.pause()
    }

    func resumeReading() {
        gate.resume()
    }

    /// The channel's own writability, whose high mark is the spark's outbound budget (set at
    /// the upgrade; see ``PrimusWritabilityRelay``).
    var isWritable: Bool { channel.isWritable }

    var bufferedAmount: Int {
        (try? channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    private static func frame(_ message: TransportMessage) -> WebSocketFrame {
        switch message {
        case .text(let buffer): WebSocketFrame(fin: true, opcode: .text, data: buffer)
        case .binary(let buffer): WebSocketFrame(fin: true, opcode: .binary, data: buffer)
        }
    }
}

/// Tells the spark when its WebSocket's channel falls behind or catches up
/// (``SparkTransportSink/transportWritabilityChanged(_:)``). Sits at the pipeline's tail,
/// after Hummingbird's handler, which passes the event on.
final class PrimusWritabilityRelay: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame

    private let sink: any SparkTransportSink

    init(sink: any SparkTransportSink) {
        self.sink = sink
    }

    /// Frames are Hummingbird's (it passes them on after taking them): nothing to do here.
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {}

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        sink.transportWritabilityChanged(context.channel.isWritable)
        context.fireChannelWritabilityChanged()
    }
}
#endif
