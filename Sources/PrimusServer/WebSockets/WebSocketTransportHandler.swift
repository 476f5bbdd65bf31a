import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusWebSocket

/// What sits above a WebSocket connection: a spark, or the test server's raw echo.
protocol WebSocketMessageSink: AnyObject {
    /// The connection is ready; `transport` sends and closes.
    func attach(transport: any SparkTransport)
    /// A complete message.
    func receive(_ message: TransportMessage)
    /// The client sent a ping frame (liveness).
    func transportPing()
    /// The connection is gone.
    func transportClosed()
    /// The transport's ``SparkTransport/isWritable`` changed (the peer fell behind or caught up).
    func transportWritabilityChanged(_ isWritable: Bool)
}

extension WebSocketMessageSink {
    /// Sinks without an outbound budget (the raw echo) ignore writability.
    func transportWritabilityChanged(_ isWritable: Bool) {}
}

extension Spark: WebSocketMessageSink {}

/// Carries one connection over a WebSocket: frames in, through the RFC 6455 message rules
/// (``WebSocketMessageAssembler``), to the sink (a spark); the sink's messages out as frames.
///
/// Writes made while a read is being delivered are flushed once when the read completes, so an
/// echo of a burst of messages costs one syscall rather than one per message.
///
/// With permessage-deflate negotiated, outgoing data messages are compressed (RSV1) and incoming
/// compressed ones inflated by the assembler; the zlib streams exist only from first use.
final class WebSocketTransportHandler<Sink: WebSocketMessageSink>: ChannelDuplexHandler, SparkTransport {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let spark: Sink
    private var assembler: WebSocketMessageAssembler
    private var compressor: PerMessageDeflateCompressor?
    private var context: ChannelHandlerContext?
    private var inRead = false
    private var needsFlush = false
    private var readingPaused = false
    private var readPending = false

    /// - Parameter deflate: the permessage-deflate parameters agreed in the handshake, if any.
    init(sink spark: Sink, maxMessageLength: Int, deflate: PerMessageDeflateParameters? = nil) {
        self.spark = spark
        self.assembler = WebSocketMessageAssembler(maxMessageLength: maxMessageLength, decompressor: deflate?.decompressor(for: .server))
        self.compressor = deflate?.compressor(for: .server)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        spark.attach(transport: self)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        let unmasked = frame.maskKey == nil ? frame : WebSocketFrame(
            fin: frame.fin, rsv1: frame.rsv1, rsv2: frame.rsv2, rsv3: frame.rsv3,
            opcode: frame.opcode, maskKey: nil, data: frame.unmaskedData
        )
        inRead = true
        defer { inRead = false }
        switch assembler.receive(unmasked) {
        case .none, .receivedPong:
            break
        case .deliver(let message):
            spark.receive(message)
        case .sendPong(let payload):
            spark.transportPing()  // Primus counts a client's ping frame as a pong
            write(WebSocketFrame(fin: true, opcode: .pong, data: payload), context: context)
        case .replyToClose(let code):
            var payload = context.channel.allocator.buffer(capacity: 2)
            if let code { payload.writeInteger(code) }
            closeAfterWriting(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), context: context)
        case .fail(let code, _):
            var payload = context.channel.allocator.buffer(capacity: 2)
            payload.writeInteger(code)
            closeAfterWriting(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), context: context)
        case .closeHandshakeComplete:
            context.close(promise: nil)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func channelInactive(context: ChannelHandlerContext) {
        spark.transportClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // Decoder errors were already answered with a close frame by NIO's protocol error handler.
        context.close(promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if readingPaused {
            readPending = true
        } else {
            context.read()
        }
    }

    private func write(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        if inRead {
            context.write(wrapOutboundOut(frame), promise: nil)
            needsFlush = true
        } else {
            context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
        }
    }

    private func closeAfterWriting(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        assembler.closeSent()
        needsFlush = false
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }

    // MARK: SparkTransport

    func send(_ message: TransportMessage) {
        guard let context, !assembler.isClosed else { return }
        let (opcode, buffer): (WebSocketOpcode, ByteBuffer)
        switch message {
        case .text(let text): (opcode, buffer) = (.text, text)
        case .binary(let bytes): (opcode, buffer) = (.binary, bytes)
        }
        guard compressor != nil else {
            write(WebSocketFrame(fin: true, opcode: opcode, data: buffer), context: context)
            return
        }
        do {
            let compressed = try compressor!.compress(buffer, allocator: context.channel.allocator)
            write(WebSocketFrame(fin: true, rsv1: true, opcode: opcode, data: compressed), context: context)
        } catch {
            close(code: 1011)  // zlib out of memory: the stream is unusable
        }
    }

    func close(code: UInt16) {
        guard let context, !assembler.isClosed else { return }
        var payload = context.channel.allocator.buffer(capacity: 2)
        payload.writeInteger(code)
        closeAfterWriting(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), context: context)
    }

    var isWritable: Bool { context?.channel.isWritable ?? true }

    var bufferedAmount: Int {
        (try? context?.channel.syncOptions?.getOption(.bufferedWritableBytes)) ?? 0
    }

    func pauseReading() {
        readingPaused = true
    }

    func resumeReading() {
        readingPaused = false
        if readPending, let context {
            readPending = false
            context.read()
        }
    }
}

@available(*, unavailable)
extension WebSocketTransportHandler: Sendable {}
