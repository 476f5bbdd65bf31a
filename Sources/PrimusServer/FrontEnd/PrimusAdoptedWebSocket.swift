public import NIOCore
public import NIOWebSocket

/// A WebSocket that a framework upgraded and reads through its own async layer (Hummingbird's
/// `.http1WebSocketUpgrade`), taken over by Primus's own WebSocket handler, so its messages cost
/// what they cost on the standalone server: the RFC 6455 message rules, the outbound budget,
/// paused reads and the close handshake of ``PrimusHTTPServer``, with no task or hop per message.
///
/// ``adopt(_:channel:limits:)`` puts the handler right after NIO's frame decoder, in front of the
/// framework's layer, which then reads nothing more. Frames the framework had already read are
/// not lost nor reordered: the handler holds what it reads from then on and sends a ``marker``
/// frame up to the framework; the framework's reader hands every frame before the marker over
/// with ``deliverEarly(fin:opcode:data:)`` and, at the marker, calls ``release()``.
///
/// Event-loop-bound: every method runs on the channel's loop.
public final class PrimusAdoptedWebSocket {
    /// The payload of the binary frame that follows the framework's earlier frames: random per
    /// connection, so no client can forge it.
    public let marker: ByteBuffer
    private let handler: any PrimusAdoptableHandler

    private init(marker: ByteBuffer, handler: any PrimusAdoptableHandler) {
        self.marker = marker
        self.handler = handler
    }

    /// Takes over an upgraded channel for an accepted upgrade; on the channel's event loop.
    ///
    /// Throws when the pipeline has no NIO WebSocket frame decoder (the framework upgraded in
    /// some other way); the acceptance is given back then (its spark is released).
    public static func adopt(_ acceptance: PrimusWebSocketAcceptance, channel: any Channel, limits: PrimusLimits) throws -> PrimusAdoptedWebSocket {
        let pipeline = channel.pipeline.syncOperations
        let decoder: ChannelHandlerContext
        do {
            decoder = try pipeline.context(handlerType: ByteToMessageHandler<WebSocketFrameDecoder>.self)
        } catch {
            acceptance.abandoned()
            throw error
        }
        var marker = channel.allocator.buffer(capacity: 16)
        for _ in 0..<2 { marker.writeInteger(UInt64.random(in: .min ... .max)) }
        let handler = try install(sink: acceptance.connected(channel.eventLoop), after: decoder.handler, on: channel, acceptance: acceptance, limits: limits)
        let markerFrame = WebSocketFrame(fin: true, opcode: .binary, maskKey: WebSocketMaskingKey([0, 0, 0, 0]), data: marker)
        try pipeline.context(handler: handler).fireChannelRead(NIOAny(markerFrame))
        return PrimusAdoptedWebSocket(marker: marker, handler: handler)
    }

    private static func install<Sink: SparkTransportSink>(
        sink: Sink,
        after decoder: any ChannelHandler,
        on channel: any Channel,
        acceptance: PrimusWebSocketAcceptance,
        limits: PrimusLimits
    ) throws -> any PrimusAdoptableHandler {
        let handler = WebSocketTransportHandler(sink: sink, maxMessageLength: acceptance.maxMessageLength, limits: limits)
        handler.holdReads()
        try channel.pipeline.syncOperations.addHandler(handler, position: .after(decoder))
        return handler
    }

    /// A data frame (text, binary or continuation, unmasked) the framework read before the
    /// marker, in order.
    public func deliverEarly(fin: Bool, opcode: WebSocketOpcode, data: ByteBuffer) {
        // The framework unmasked it; a zero key keeps the server's "clients mask" rule satisfied
        // without changing a byte.
        handler.deliverEarly(WebSocketFrame(fin: fin, opcode: opcode, maskKey: WebSocketMaskingKey([0, 0, 0, 0]), data: data))
    }

    /// The marker came through: the handler reads directly from now on.
    public func release() {
        handler.release()
    }
}

@available(*, unavailable)
extension PrimusAdoptedWebSocket: Sendable {}

/// The adoption side of ``WebSocketTransportHandler``, whatever its sink type.
protocol PrimusAdoptableHandler: ChannelHandler {
    func deliverEarly(_ frame: WebSocketFrame)
    func release()
}

extension WebSocketTransportHandler: PrimusAdoptableHandler {}
