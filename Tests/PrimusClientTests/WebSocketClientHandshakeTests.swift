import NIOCore
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// The client's side of the RFC 6455 handshake, with the bytes on the wire under the test's control.
@Suite("WebSocket client handshake", .timeLimit(.minutes(1)))
struct WebSocketClientHandshakeTests {
    /// A server may greet in the same TCP segment as its `101`: those frames were dropped with the
    /// HTTP decoder (NIO's default for what follows a response), losing the first messages of a
    /// busy connection, or corrupting the stream when a frame was cut.
    @Test func framesInTheSameSegmentAsThe101AreDelivered() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let proxy = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ClientSideRelay(port: server.port) { client in ServerToClient(client: client) })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        defer { proxy.close(promise: nil) }
        let port = try #require(proxy.localAddress?.port)

        let client = try PrimusClient("ws://127.0.0.1:\(port)", configuration: fastConfiguration())
        let recorder = EventRecorder(client)
        // The spark is announced before the 101 goes out; the proxy holds the 101 until these follow.
        let spark = try await server.spark()
        spark.write("hello")
        spark.write("world")
        try await recorder.waitFor("data", count: 2)
        let values = recorder.events.compactMap { if case .data(let message) = $0 { return message.value } else { return nil } }
        #expect(values == ["hello", "world"])
        #expect(recorder.count(of: "error") == 0)
        #expect(server.sparks.count == 1)
        client.end()
    }
}

/// The server's side of the relay: holds the server's bytes until they run past the end of its
/// response head, so the `101` and the frames after it reach the client in one write.
private final class ServerToClient: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let client: any Channel
    /// What the server sent before the relay saw past its response head.
    private var held: ByteBuffer? = ByteBuffer()

    init(client: any Channel) {
        self.client = client
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        guard var head = held else {
            client.writeAndFlush(buffer, promise: nil)
            return
        }
        head.writeBuffer(&buffer)
        let bytes = Array(head.readableBytesView)
        let end = Array("\r\n\r\n".utf8)
        if let start = bytes.indices.dropLast(3).first(where: { bytes[$0..<($0 + 4)].elementsEqual(end) }), start + 4 < bytes.count {
            held = nil
            client.writeAndFlush(head, promise: nil)
        } else {
            held = head
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        client.close(promise: nil)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension ServerToClient: Sendable {}
