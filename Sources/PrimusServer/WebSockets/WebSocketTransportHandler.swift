import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusWebSocket

/// What sits above a WebSocket connection: a spark, or the test server's raw echo.

/// Carries one connection over a WebSocket: frames in, through the RFC 6455 message rules
/// (``WebSocketMessageAssembler``, as a server: unmasked frames fail with 1002), to the sink (a
/// spark); the sink's messages out as frames.
///
/// Writes made while a read is being delivered are flushed once when the read completes, so an
/// echo of a burst of messages costs one syscall rather than one per message.
///
/// With permessage-deflate negotiated, outgoing data messages are compressed (RSV1) and incoming
/// compressed ones inflated by the assembler; the zlib streams exist only from first use.
///
/// Flow control (``PrimusLimits``): the channel's write-buffer watermarks are the outbound budget
/// (high: ``PrimusLimits/maxBufferedBytes``, low: half of it). While more than the budget waits
/// for a peer that does not read, the transport is not writable: it stops reading from the peer
/// (so requests and pings are throttled by TCP, and no pong is queued), tells the sink, and if
/// that lasts ``PrimusLimits/writeStallTimeout`` it closes the connection. Once a close frame is
/// written, the connection is closed when it has gone out, or after
/// ``PrimusLimits/closeTimeout`` at the latest.
final class WebSocketTransportHandler<Sink: WebSocketMessageSink>: ChannelDuplexHandler, SparkTransport {
    typealias InboundIn = WebSocketFrame
    typealias OutboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let spark: Sink
    /// The three limits this handler reads (not the whole ``PrimusLimits``: a connection lives
    /// long, and every byte kept per connection counts).
    private let maxBufferedBytes: Int
    private let writeStallTimeout: TimeAmount
    private let closeTimeout: TimeAmount
    private var assembler: WebSocketMessageAssembler
    private var compressor: PerMessageDeflateCompressor?
    private var context: ChannelHandlerContext?
    /// NIO's frame encoder, below this handler: a broadcast's prebuilt frames are written from
    /// its context, so they go to the socket as they are (`nil`: no encoder found, frames are
    /// built per connection).
    private var encoderContext: ChannelHandlerContext?
    private var inRead = false
    private var needsFlush = false
    /// Read for every message the spark writes (``isWritable``). Event-loop-confined and never
    /// accessed re-entrantly while being mutated, so the runtime exclusivity check (a measurable
    /// share of an echo's cost) is skipped.
    @exclusivity(unchecked) private var gate = ReadGate()
    private var writeStallTimer: Scheduled<Void>?
    private var closeTimer: Scheduled<Void>?
    /// Frames read while an adopted connection's earlier frames are still on their way through
    /// the framework (``PrimusAdoptedWebSocket``), and their bytes; `nil` once live.
    private var held: [WebSocketFrame]?
    private var heldBytes = 0
    private let maxHeldBytes: Int

    /// - Parameters:
    ///   - deflate: the permessage-deflate parameters agreed in the handshake, if any.
    ///   - limits: the outbound budget, write-stall and close timeouts (the server's
    ///     ``PrimusConfiguration/limits``).
    init(sink spark: Sink, maxMessageLength: Int, deflate: PerMessageDeflateParameters? = nil, limits: PrimusLimits = PrimusLimits()) {
        self.spark = spark
        self.maxBufferedBytes = limits.maxBufferedBytes
        self.maxHeldBytes = maxMessageLength + 65_536
        self.writeStallTimeout = TimeAmount(limits.writeStallTimeout)
        self.closeTimeout = TimeAmount(limits.closeTimeout)
        self.assembler = WebSocketMessageAssembler(
            maxMessageLength: maxMessageLength,
            decompressor: deflate?.decompressor(for: .server),
            role: .server
        )
        self.compressor = deflate?.compressor(for: .server)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        encoderContext = try? context.pipeline.syncOperations.context(handlerType: WebSocketFrameEncoder.self)
        let high = max(maxBufferedBytes, 1)
        let waterMark = ChannelOptions.Types.WriteBufferWaterMark(low: high / 2, high: high)
        if let options = context.channel.syncOptions {
            try? options.setOption(ChannelOptions.writeBufferWaterMark, value: waterMark)
        } else {
            context.channel.setOption(ChannelOptions.writeBufferWaterMark, value: waterMark).whenFailure { _ in }
        }
        spark.attach(transport: self)
        applyWritability(context.channel.isWritable, context: context)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
        self.context = nil
        encoderContext = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        guard held == nil else { return hold(frame, context: context) }
        process(frame, context: context)
    }

    private func process(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        inRead = true
        defer { inRead = false }
        switch assembler.receive(frame) {
        case .none, .receivedPong:
            break
        case .deliver(let message):
            spark.receive(message)
        case .sendPong(let payload):
            spark.transportPing()  // Primus counts a client's ping frame as a pong (while it reads)
            // A peer over its budget is not reading: a pong would only add to the pile. Reads
            // are paused then, so this holds only for the rest of the current read.
            if gate.isWritable {
                write(WebSocketFrame(fin: true, opcode: .pong, data: payload), context: context)
            }
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

    // MARK: Adoption (a framework's upgraded channel; see PrimusAdoptedWebSocket)

    /// Starts holding what is read, until ``release()``.
    func holdReads() {
        held = []
    }

    /// Keeps a frame read before the framework's own earlier frames came through; more than a
    /// message's worth (plus room for control frames) fails the connection with 1009.
    private func hold(_ frame: WebSocketFrame, context: ChannelHandlerContext) {
        heldBytes += frame.length
        guard heldBytes <= maxHeldBytes else {
            held = nil
            var payload = context.channel.allocator.buffer(capacity: 2)
            payload.write(webSocketErrorCode: .messageTooLarge)
            return closeAfterWriting(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), context: context)
        }
        held?.append(frame)
    }

    /// A frame the framework read before this handler was in place, handed over in order.
    func deliverEarly(_ frame: WebSocketFrame) {
        guard let context, !assembler.isClosed else { return }
        process(frame, context: context)
        channelReadComplete(context: context, firing: false)
    }

    /// The framework has handed over everything it read: from here on frames come straight here,
    /// those held first.
    func release() {
        guard let frames = held, let context else { return }
        held = nil
        heldBytes = 0
        for frame in frames where !assembler.isClosed {
            process(frame, context: context)
        }
        channelReadComplete(context: context, firing: false)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        channelReadComplete(context: context, firing: true)
    }

    private func channelReadComplete(context: ChannelHandlerContext, firing: Bool) {
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        if firing { context.fireChannelReadComplete() }
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        spark.transportClosed()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // The frame decoder's errors are answered here (no NIO protocol error handler sits in
        // the pipeline, so a read crosses one handler fewer): a frame over the size limit with
        // 1009, a malformed control frame with 1002. Anything else drops the connection.
        guard let decoderError = error as? NIOWebSocketError, !assembler.isClosed else {
            context.close(promise: nil)
            return
        }
        var payload = context.channel.allocator.buffer(capacity: 2)
        switch decoderError {
        case .invalidFrameLength: payload.write(webSocketErrorCode: .messageTooLarge)
        case .fragmentedControlFrame, .multiByteControlFrameLength: payload.write(webSocketErrorCode: .protocolError)
        }
        closeAfterWriting(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), context: context)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        var writable = context.channel.isWritable
        if !writable, needsFlush {
            // Echoes of the current read are not flushed yet: let the socket take them before
            // calling the peer slow (the flush may report writable again, re-entering here).
            needsFlush = false
            context.flush()
            writable = context.channel.isWritable
        }
        applyWritability(writable, context: context)
        context.fireChannelWritabilityChanged()
    }

    func read(context: ChannelHandlerContext) {
        if gate.readRequested() { context.read() }
    }

    private func applyWritability(_ writable: Bool, context: ChannelHandlerContext) {
        switch gate.writabilityChanged(writable) {
        case nil:
            return
        case .becameUnwritable:
            let channel = context.channel
            writeStallTimer = context.eventLoop.scheduleTask(in: writeStallTimeout) {
                // The peer has not read for the whole stall timeout: drop it (the spark ends).
                channel.close(promise: nil)
            }
            spark.transportWritabilityChanged(false)
        case .becameWritable:
            writeStallTimer?.cancel()
            writeStallTimer = nil
            spark.transportWritabilityChanged(true)
            if gate.readIfPending() { context.read() }
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
        let channel = context.channel
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            channel.close(promise: nil)
        }
        // A peer that does not read never lets the close frame out: drop it after the timeout.
        closeTimer = context.eventLoop.scheduleTask(in: closeTimeout) {
            channel.close(promise: nil)
        }
    }

    private func cancelTimers() {
        writeStallTimer?.cancel()
        writeStallTimer = nil
        closeTimer?.cancel()
        closeTimer = nil
    }

    // MARK: SparkTransport

    func send(_ message: TransportMessage) {
        guard let context, !assembler.isClosed, let frame = frame(for: message, context: context) else { return }
        write(frame, context: context)
    }

    /// The frame carrying `message`: compressed when permessage-deflate was agreed. `nil` when
    /// compression failed (zlib out of memory), which closes the connection.
    private func frame(for message: TransportMessage, context: ChannelHandlerContext) -> WebSocketFrame? {
        let opcode: WebSocketOpcode = message.isText ? .text : .binary
        guard compressor != nil else { return WebSocketFrame(fin: true, opcode: opcode, data: message.buffer) }
        do {
            let compressed = try compressor!.compress(message.buffer, allocator: context.channel.allocator)
            return WebSocketFrame(fin: true, rsv1: true, opcode: opcode, data: compressed)
        } catch {
            close(code: 1011)  // the stream is unusable
            return nil
        }
    }

    /// A broadcast's message: without compression, the whole frame is built once per event loop
    /// and the same bytes go to every connection; written now, flushed by ``flush()``.
    func send(shared: SharedTransportMessage) {
        guard let context, !assembler.isClosed else { return }
        guard compressor == nil, let encoderContext else {
            // Compressed frames depend on each connection's zlib stream.
            guard let frame = frame(for: shared.message, context: context) else { return }
            context.write(wrapOutboundOut(frame), promise: nil)
            needsFlush = true
            return
        }
        let frame = shared.derived("websocket.frame") { message in
            let opcode: WebSocketOpcode = message.isText ? .text : .binary
            return .binary(WebSocketServerFrame.encode(opcode: opcode, payload: message.buffer, allocator: context.channel.allocator))
        }
        encoderContext.write(NIOAny(frame.message.buffer), promise: nil)
        needsFlush = true
    }

    /// Flushes what ``send(shared:)`` queued, unless a read is being delivered (its end flushes).
    func flush() {
        guard needsFlush, !inRead, let context else { return }
        needsFlush = false
        context.flush()
    }

    func close(code: UInt16?) {
        guard let context, !assembler.isClosed else { return }
        var payload = context.channel.allocator.buffer(capacity: 2)
        if let code { payload.writeInteger(code) }
        closeAfterWriting(WebSocketFrame(fin: true, opcode: .connectionClose, data: payload), context: context)
    }

    /// The stored answer from the last writability change: one `Bool` read per message.
    var isWritable: Bool { gate.isWritable }

    var bufferedAmount: Int {
        guard let context else { return 0 }
        return (try? context.channel.syncOptions?.getOption(ChannelOptions.bufferedWritableBytes)) ?? 0
    }

    func pauseReading() {
        gate.pauseReading()
    }

    func resumeReading() {
        if gate.resumeReading(), let context { context.read() }
    }
}

@available(*, unavailable)
extension WebSocketTransportHandler: Sendable {}
