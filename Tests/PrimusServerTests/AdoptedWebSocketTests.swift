import NIOCore
import NIOEmbedded
import NIOWebSocket
import PrimusCore
import PrimusServer
import Testing

/// ``PrimusAdoptedWebSocket``: Primus's handler taking a WebSocket over from a framework's own
/// layer (Hummingbird's), on an embedded channel whose last handler stands for that layer.
@Suite struct AdoptedWebSocketTests {
    /// What the framework's layer reads once Primus is in front of it.
    final class FrameworkLayer: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        var frames: [WebSocketFrame] = []

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            frames.append(unwrapInboundIn(data))
        }
    }

    @Test("frames the framework read go first, held frames after them, then frames go straight to the spark; the framework reads only the marker")
    func ordering() throws {
        let channel = EmbeddedChannel()
        let layer = FrameworkLayer()
        try channel.pipeline.syncOperations.addHandlers([
            WebSocketFrameEncoder(),
            ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 16)),
            layer,
        ])
        let recorder = NIOWebSocketUpgradeTests.Recorder()
        let adopted = try PrimusAdoptedWebSocket.adopt(NIOWebSocketUpgradeTests.acceptance(recorder), channel: channel, limits: PrimusLimits())
        #expect(recorder.attached == 1)
        // The marker went up to the framework's layer, after anything it had read.
        #expect(layer.frames.count == 1)
        #expect(layer.frames.first?.unmaskedData == adopted.marker)

        // The client's next frames are held until the framework has handed over its own.
        try channel.writeInbound(NIOWebSocketUpgradeTests.maskedText("third"))
        #expect(recorder.received.isEmpty)
        adopted.deliverEarly(fin: true, opcode: .text, data: ByteBuffer(string: "first"))
        adopted.deliverEarly(fin: false, opcode: .text, data: ByteBuffer(string: "sec"))
        adopted.deliverEarly(fin: true, opcode: .continuation, data: ByteBuffer(string: "ond"))
        #expect(recorder.received == ["first", "second"])
        adopted.release()
        #expect(recorder.received == ["first", "second", "third"])

        try channel.writeInbound(NIOWebSocketUpgradeTests.maskedText("fourth"))
        #expect(recorder.received == ["first", "second", "third", "fourth"])
        #expect(layer.frames.count == 1, "the framework's layer reads nothing more")
        _ = try? channel.finish()
        #expect(recorder.closed == 1)
    }

    @Test("without NIO's frame decoder in the pipeline, adoption fails and gives the acceptance back")
    func noDecoder() throws {
        let channel = EmbeddedChannel()
        let recorder = NIOWebSocketUpgradeTests.Recorder()
        #expect(throws: (any Error).self) {
            _ = try PrimusAdoptedWebSocket.adopt(NIOWebSocketUpgradeTests.acceptance(recorder), channel: channel, limits: PrimusLimits())
        }
        #expect(recorder.attached == 0)
        #expect(recorder.abandoned == 1)
        _ = try? channel.finish()
    }
}
