import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PrimusCore
import PrimusServer
import PrimusWebSocket
import Testing

private func echo(_ primus: Primus) {
    primus.onConnection { spark in
        spark.onMessage { message in spark.write(message.value) }
    }
}

/// A loopback WebSocket client that sees the `101` response's headers, so it can check what the
/// server agreed to, and speaks permessage-deflate as the client role when it was agreed.
private struct DeflateTestClient {
    let channel: any Channel
    let inbox: FrameInbox
    /// The server's `Sec-WebSocket-Extensions` answer, `nil` when it sent none.
    let extensions: String?
    var compressor: PerMessageDeflateCompressor?
    var decompressor: PerMessageDeflateDecompressor?

    static func connect(port: Int, offer: String?) async throws -> DeflateTestClient {
        let inbox = FrameInbox()
        let upgraded = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: String?.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                let upgrader = NIOWebSocketClientUpgrader(
                    maxFrameSize: 1 << 24,
                    automaticErrorHandling: false,
                    upgradePipelineHandler: { channel, response in
                        channel.eventLoop.makeCompletedFuture {
                            try channel.pipeline.syncOperations.addHandler(Collector(inbox: inbox))
                            let values = response.headers["sec-websocket-extensions"]
                            upgraded.succeed(values.isEmpty ? nil : values.joined(separator: ", "))
                        }
                    }
                )
                var headers: HTTPHeaders = ["host": "127.0.0.1:\(port)"]
                if let offer { headers.add(name: "Sec-WebSocket-Extensions", value: offer) }
                let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/primus", headers: headers)
                return channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            _ = context.pipeline.removeHandler(name: "deflate-test-request")
                        })
                    )
                    try channel.pipeline.syncOperations.addHandler(RequestSender(head: request), name: "deflate-test-request")
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        channel.closeFuture.whenComplete { _ in upgraded.fail(PrimusError.sparkClosed) }
        let extensions = try await withTimeout(.seconds(5)) { try await upgraded.futureResult.get() }
        let agreed = extensions.flatMap { PerMessageDeflateParameters.negotiate(offers: [$0]) }
        return DeflateTestClient(
            channel: channel,
            inbox: inbox,
            extensions: extensions,
            compressor: agreed?.compressor(for: .client),
            decompressor: agreed?.decompressor(for: .client)
        )
    }

    /// Sends `text` as one masked text frame, compressed when `compressed`.
    mutating func send(_ text: String, compressed: Bool = true) async throws {
        var payload = ByteBuffer(string: text)
        if compressed { payload = try compressor!.compress(payload, allocator: channel.allocator) }
        try await channel.writeAndFlush(WebSocketFrame(fin: true, rsv1: compressed, opcode: .text, maskKey: .random(), data: payload)).get()
    }

    func send(frame: WebSocketFrame) async throws {
        try await channel.writeAndFlush(frame).get()
    }

    func nextFrame() async throws -> WebSocketFrame? {
        try await inbox.next(timeout: .seconds(5))
    }

    /// The next data message as text, and whether it came compressed.
    mutating func nextMessage() async throws -> (text: String, compressed: Bool)? {
        while let frame = try await nextFrame() {
            switch frame.opcode {
            case .text, .binary:
                guard frame.rsv1 else { return (String(buffer: frame.unmaskedData), false) }
                var output = ByteBuffer()
                let outcome = decompressor?.decompress(frame.unmaskedData, isFinal: true, into: &output, limit: 1 << 24)
                #expect(outcome == .inflated)
                return (String(buffer: output), true)
            case .connectionClose:
                return nil
            default:
                continue
            }
        }
        return nil
    }

    func closeCode() async throws -> UInt16? {
        while let frame = try await nextFrame() {
            guard frame.opcode == .connectionClose else { continue }
            var data = frame.unmaskedData
            return data.readInteger(as: UInt16.self)
        }
        return nil
    }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = WebSocketFrame
        let inbox: FrameInbox
        init(inbox: FrameInbox) { self.inbox = inbox }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) { inbox.push(unwrapInboundIn(data)) }
        func channelInactive(context: ChannelHandlerContext) {
            inbox.finish()
            context.fireChannelInactive()
        }
    }

    private final class RequestSender: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = HTTPClientResponsePart
        typealias OutboundOut = HTTPClientRequestPart
        let head: HTTPRequestHead
        init(head: HTTPRequestHead) { self.head = head }
        func channelActive(context: ChannelHandlerContext) {
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            context.fireChannelActive()
        }
        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            context.close(promise: nil)  // any HTTP response reaching us: the upgrade was refused
        }
    }
}

@Suite("permessage-deflate on the websockets transformer, live on loopback")
struct CompressionTests {
    @Test func negotiatesAndCompressesBothWaysWithContextTakeover() async throws {
        try await withPrimusServer({ $0.compression = true }, setup: echo) { port, _ in
            var client = try await DeflateTestClient.connect(port: port, offer: "permessage-deflate; client_max_window_bits")
            #expect(client.extensions == "permessage-deflate")
            let message = #"{"text":"\#(String(repeating: "hello, compressed world ", count: 40))"}"#
            var sizes: [Int] = []
            for _ in 0..<3 {
                try await client.send(message)
                let frame = try #require(try await client.nextFrame())
                #expect(frame.rsv1 && frame.opcode == .text)
                sizes.append(frame.length)
                var output = ByteBuffer()
                #expect(client.decompressor?.decompress(frame.unmaskedData, isFinal: true, into: &output, limit: 1 << 20) == .inflated)
                #expect(String(buffer: output) == message)
            }
            #expect(sizes[0] < message.utf8.count / 4)
            #expect(sizes[1] < sizes[0])  // the second refers back to the first
        }
    }

    @Test func broadcastsAreCompressedPerConnectionNextToPlainClients() async throws {
        try await withPrimusServer({ $0.compression = true }, setup: echo) { port, primus in
            var deflating = try await DeflateTestClient.connect(port: port, offer: "permessage-deflate")
            var plain = try await DeflateTestClient.connect(port: port, offer: nil)
            try await waitUntil { primus.connected == 2 }
            let texts = (0..<5).map { #"{"n":\#($0),"text":"\#(String(repeating: "broadcast ", count: 30))"}"# }
            for text in texts { primus.write(try JSONReader.parse(text)) }
            for text in texts {
                let compressed = try #require(try await deflating.nextMessage())
                #expect(compressed.compressed)
                #expect(compressed.text == text)
                let uncompressed = try #require(try await plain.nextMessage())
                #expect(!uncompressed.compressed)
                #expect(uncompressed.text == text)
            }
        }
    }

    @Test func agreesToTheClientsParameters() async throws {
        try await withPrimusServer({ $0.compression = true }, setup: echo) { port, _ in
            var client = try await DeflateTestClient.connect(
                port: port,
                offer: "permessage-deflate; server_max_window_bits=16, permessage-deflate; server_no_context_takeover; server_max_window_bits=9"
            )
            #expect(client.extensions == "permessage-deflate; server_no_context_takeover; server_max_window_bits=9")
            for text in [#""first""#, #""second""#, #""first""#] {
                try await client.send(text)
                #expect(try await client.nextMessage()?.text == text)
            }
        }
    }

    @Test func compressionIsOffByDefault() async throws {
        try await withPrimusServer(setup: echo) { port, _ in
            var client = try await DeflateTestClient.connect(port: port, offer: "permessage-deflate")
            #expect(client.extensions == nil)
            try await client.send(#""plain""#, compressed: false)
            let echoed = try #require(try await client.nextMessage())
            #expect(echoed == (#""plain""#, false))
            // Without the extension RSV1 means nothing agreed: a protocol error.
            try await client.send(frame: WebSocketFrame(fin: true, rsv1: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: [0xF2, 0x48, 0xCD, 0xC9, 0xC9, 0x07, 0x00])))
            #expect(try await client.closeCode() == 1002)
        }
    }

    @Test func aClientThatOffersNothingGetsPlainFrames() async throws {
        try await withPrimusServer({ $0.compression = true }, setup: echo) { port, _ in
            var client = try await DeflateTestClient.connect(port: port, offer: nil)
            #expect(client.extensions == nil)
            try await client.send(#""plain""#, compressed: false)
            let echoed = try #require(try await client.nextMessage())
            #expect(echoed == (#""plain""#, false))
        }
    }

    @Test func uncompressedMessagesAreAcceptedAfterNegotiation() async throws {
        try await withPrimusServer({ $0.compression = true }, setup: echo) { port, _ in
            var client = try await DeflateTestClient.connect(port: port, offer: "permessage-deflate")
            try await client.send(#""sent plain""#, compressed: false)
            let echoed = try #require(try await client.nextMessage())
            #expect(echoed == (#""sent plain""#, true))
        }
    }

    @Test func aSmallMessageThatInflatesPastMaxLengthIsClosedWith1009() async throws {
        try await withPrimusServer({ $0.compression = true; $0.maxLength = 10_000 }, setup: echo) { port, _ in
            var client = try await DeflateTestClient.connect(port: port, offer: "permessage-deflate")
            let bomb = "\"" + String(repeating: "a", count: 2_000_000) + "\""
            try await client.send(bomb)
            #expect(try await client.closeCode() == 1009)
        }
    }

    @Test func pingsAreAnsweredWithUncompressedPongs() async throws {
        try await withPrimusServer({ $0.compression = true }, setup: echo) { port, _ in
            let client = try await DeflateTestClient.connect(port: port, offer: "permessage-deflate")
            try await client.send(frame: WebSocketFrame(fin: true, opcode: .ping, maskKey: .random(), data: ByteBuffer(string: "p")))
            let pong = try #require(try await client.nextFrame())
            #expect(pong.opcode == .pong && !pong.rsv1)
            #expect(String(buffer: pong.unmaskedData) == "p")
        }
    }

    @Test func rsv1OnAContinuationFrameIsClosedWith1002() async throws {
        try await withPrimusServer({ $0.compression = true }, setup: echo) { port, _ in
            let client = try await DeflateTestClient.connect(port: port, offer: "permessage-deflate")
            try await client.send(frame: WebSocketFrame(fin: false, rsv1: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: [0xF2, 0x48])))
            try await client.send(frame: WebSocketFrame(fin: true, rsv1: true, opcode: .continuation, maskKey: .random(), data: ByteBuffer(bytes: [0xCD, 0xC9, 0xC9, 0x07, 0x00])))
            #expect(try await client.closeCode() == 1002)
        }
    }
}
