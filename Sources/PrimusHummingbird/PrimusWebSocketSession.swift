#if Hummingbird
import HummingbirdWebSocket
import NIOCore
import NIOWebSocket
import PrimusCore
import PrimusServer

/// One accepted WebSocket, from Hummingbird's upgrade to its close: connects the transformer's
/// sink on the connection's event loop, then hands it every complete message.
///
/// Hummingbird delivers frames on the handler's task (an `AsyncSequence`); that task runs its
/// frame loop on the connection's event loop (``EventLoopTaskExecutor``), where the frames are
/// read and the spark lives, so each message goes to the spark by a direct call.
enum PrimusWebSocketSession {
    /// Runs the session until the WebSocket closes.
    static func run(
        acceptance: PrimusWebSocketAcceptance,
        claim: PrimusAcceptanceClaim,
        channel: any Channel,
        limits: PrimusLimits,
        closeTimeout: TimeAmount,
        inbound: WebSocketInboundStream,
        outbound: WebSocketOutboundWriter
    ) async throws {
        // The connection closed before this ran: the acceptance was given back already.
        guard claim.claim() else { return }
        let loop = channel.eventLoop
        let gate = PrimusReadGate()
        let sink = try await loop.submit {
            let sink = acceptance.connected(loop)
            let transport = PrimusHummingbirdTransport(channel: channel, outbound: outbound, gate: gate, closeTimeout: closeTimeout)
            // The spark's outbound budget is the channel's high-water mark, so `isWritable`
            // answers as the standalone server's does.
            let budget = max(limits.maxBufferedBytes, 1)
            try? channel.syncOptions?.setOption(.writeBufferWaterMark, value: .init(low: budget / 2, high: budget))
            try? channel.pipeline.syncOperations.addHandler(PrimusWritabilityRelay(sink: sink))
            sink.attach(transport: transport)
            return NIOLoopBound(sink, eventLoop: loop)
        }.get()
        channel.closeFuture.whenComplete { _ in gate.resume() }
        defer { loop.execute { sink.value.transportClosed() } }
        try await withTaskExecutorPreference(EventLoopTaskExecutor(loop)) {
            try await deliver(inbound, to: sink, on: loop, maxMessageLength: acceptance.maxMessageLength, gate: gate, outbound: outbound)
        }
    }

    /// Joins fragments into messages (at most `maxMessageLength` bytes, else 1009) and hands
    /// each to the sink on its loop.
    private static func deliver(
        _ inbound: WebSocketInboundStream,
        to sink: NIOLoopBound<any SparkTransportSink>,
        on loop: any EventLoop,
        maxMessageLength: Int,
        gate: PrimusReadGate,
        outbound: WebSocketOutboundWriter
    ) async throws {
        var pending: ByteBuffer?
        var pendingIsText = false
        for try await frame in inbound {
            var complete: TransportMessage?
            switch frame.opcode {
            case .text, .binary:
                guard pending == nil else { return try await outbound.close(.protocolError, reason: nil) }
                guard frame.data.readableBytes <= maxMessageLength else { return try await outbound.close(.messageTooLarge, reason: nil) }
                if frame.fin {
                    complete = frame.opcode == .text ? .text(frame.data) : .binary(frame.data)
                } else {
                    pending = frame.data
                    pendingIsText = frame.opcode == .text
                }
            case .continuation:
                guard var message = pending else { return try await outbound.close(.protocolError, reason: nil) }
                pending = nil  // one owner, so appending does not copy
                guard message.readableBytes + frame.data.readableBytes <= maxMessageLength else {
                    return try await outbound.close(.messageTooLarge, reason: nil)
                }
                var data = frame.data
                message.writeBuffer(&data)
                if frame.fin {
                    complete = pendingIsText ? .text(message) : .binary(message)
                } else {
                    pending = message
                }
            }
            if let complete {
                await gate.waitWhilePaused()
                if loop.inEventLoop {
                    sink.value.receive(complete)
                } else {
                    loop.execute { sink.value.receive(complete) }
                }
            }
        }
    }
}
#endif
