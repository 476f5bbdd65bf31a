import NIOConcurrencyHelpers
import NIOCore
import NIOEmbedded
import NIOWebSocket
import PrimusCore
@testable import PrimusServer
import PrimusWebSocket
import Testing

/// The numbers `n` of `{"n": n}` messages, in arrival order, until `count` have come.
private func numbers(from socket: TestWebSocket, count: Int, skipping prefix: String? = nil) async throws -> [Int] {
    var seen: [Int] = []
    while seen.count < count, let text = try await socket.nextText() {
        var body = Substring(text)
        if let prefix {
            guard body.hasPrefix(prefix) else { continue }  // engine.io: only message packets
            body = body.dropFirst(prefix.count)
        }
        guard !body.hasPrefix("\"primus::") else { continue }
        let value = try JSONReader.parse(String(body))
        seen.append(Int(try #require(value["n"]?.numberValue)))
    }
    return seen
}

@Suite("broadcast: one hand-over per event loop, encoded once")
struct BroadcastTests {
    @Test func aThousandBroadcastsFromATaskReachEveryClientOfEveryLoopOnceAndInOrder() async throws {
        try await withPrimusServer { port, primus in
            var sockets: [TestWebSocket] = []
            for _ in 0..<6 { sockets.append(try await TestWebSocket.connect(port: port)) }
            try await waitUntil { primus.connected == 6 }
            // The singleton group has one loop per core: the clients are spread over them.
            let loops = Set(primus.sparks.map { ObjectIdentifier($0.eventLoop) })
            #expect(loops.count == min(6, System.coreCount))
            for n in 0..<1000 { primus.write(["n": .number(Double(n))]) }
            for socket in sockets {
                #expect(try await numbers(from: socket, count: 1000) == Array(0..<1000))
            }
        }
    }

    @Test func writesToOneSparkAndBroadcastsFromOneThreadArriveInTheOrderWritten() async throws {
        try await withPrimusServer { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            let spark = try #require(primus.sparks.first)
            // From a task (not the spark's loop): single writes and broadcasts interleaved.
            for n in stride(from: 0, to: 600, by: 3) {
                spark.write(["n": .number(Double(n))])
                primus.write(["n": .number(Double(n + 1))])
                spark.write(["n": .number(Double(n + 2))])
            }
            #expect(try await numbers(from: socket, count: 600) == Array(0..<600))
        }
    }

    @Test func aBroadcastFromAHandlerOnTheLoopKeepsProgramOrderWithTheHandlersOwnWrites() async throws {
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in
                spark.onMessage { _ in
                    primus.write(["n": 0])
                    spark.write(["n": 1])
                    primus.write(["n": 2])
                }
            }
        }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            let other = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 2 }
            try await socket.send(#""go""#)
            #expect(try await numbers(from: socket, count: 3) == [0, 1, 2])
            #expect(try await numbers(from: other, count: 2) == [0, 2])
        }
    }

    @Test func broadcastsCollectedOnTheLoopGoOutInOrderBeforeTheHandlersNextWriteAndAfterTheTurn() async throws {
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in
                spark.onMessage { _ in
                    for n in 0..<200 { primus.write(["n": .number(Double(n))]) }
                    spark.write(["n": 200])  // delivers the 200 collected broadcasts first
                    primus.write(["n": 201])  // collected, delivered after this read
                }
            }
        }) { port, primus in
            var sockets: [TestWebSocket] = []
            for _ in 0..<4 { sockets.append(try await TestWebSocket.connect(port: port)) }
            try await waitUntil { primus.connected == 4 }
            try await sockets[0].send(#""go""#)
            #expect(try await numbers(from: sockets[0], count: 202) == Array(0...201))
            for socket in sockets.dropFirst() {
                #expect(try await numbers(from: socket, count: 201) == Array(0..<200) + [201])
            }
        }
    }

    @Test func encodableBroadcastsAndOutgoingTransformsStillApply() async throws {
        struct Note: Codable { var n: Int }
        try await withPrimusServer(setup: { primus in
            primus.transform(.outgoing) { packet in
                guard let n = packet.data["n"]?.numberValue else { return .pass(packet.data) }
                return .pass(["n": .number(n * 10)])
            }
        }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            try primus.broadcast(Note(n: 1))
            primus.write(["n": 2])
            #expect(try await numbers(from: socket, count: 2) == [10, 20])
        }
    }

    @Test func aClientThatDoesNotReadIsEndedByItsBudgetWhileTheOthersGetEveryBroadcast() async throws {
        let ended = Signal()
        try await withFlowServer({
            $0.limits.maxBufferedBytes = 64 * 1024
            $0.limits.whenOverBudget = .end
            $0.limits.closeTimeout = .milliseconds(500)  // its close frame cannot go out either
        }, setup: { primus in
            primus.onConnection { spark in spark.onEnd { ended.fire() } }
        }) { port, primus in
            let stuck = try await SlowReader.connect(port: port)
            let reader = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 2 }
            // Paced by the reading client (8 broadcasts, then wait for them): it stays within its
            // budget, while everything piles up for the one that never reads.
            let pad = String(repeating: "p", count: 4096)
            var received: [Int] = []
            for start in stride(from: 0, to: 400, by: 8) {
                for n in start..<start + 8 { primus.write(["n": .number(Double(n)), "pad": .string(pad)]) }
                received += try await numbers(from: reader, count: 8)
            }
            #expect(received == Array(0..<400))
            try await ended.wait(timeout: .seconds(20))
            #expect(primus.connected == 1)
            #expect(primus.sparks.count == 1)
            stuck.channel.close(promise: nil)
        }
    }

    @Test func engineIOWebSocketSessionsGetBroadcastsAsMessagePacketsInOrder() async throws {
        try await withPrimusServer({ $0.transformer = .engineIO }) { port, primus in
            var sockets: [TestWebSocket] = []
            for _ in 0..<3 {
                sockets.append(try await TestWebSocket.connect(port: port, target: "/primus/?EIO=4&transport=websocket"))
            }
            try await waitUntil { primus.connected == 3 }
            for n in 0..<300 { primus.write(["n": .number(Double(n))]) }
            for socket in sockets {
                #expect(try await numbers(from: socket, count: 300, skipping: "4") == Array(0..<300))
            }
        }
    }

    @Test func endedSparksLeaveTheirLoopsBroadcastList() async throws {
        try await withPrimusServer { port, primus in
            var sockets: [TestWebSocket] = []
            for _ in 0..<8 { sockets.append(try await TestWebSocket.connect(port: port)) }
            try await waitUntil { primus.connected == 8 }
            // Close every other one, then all: the lists shrink with them (swap-removal keeps
            // the others reachable, which the broadcast afterwards checks).
            for (index, socket) in sockets.enumerated() where index % 2 == 0 { socket.channel.close(promise: nil) }
            try await waitUntil { primus.connected == 4 }
            #expect(try await Self.members(of: primus) == 4)
            primus.write(["n": 7])
            for (index, socket) in sockets.enumerated() where index % 2 == 1 {
                #expect(try await numbers(from: socket, count: 1) == [7])
            }
            for socket in sockets { socket.channel.close(promise: nil) }
            try await waitUntil { primus.connected == 0 }
            #expect(try await Self.members(of: primus) == 0)
        }
    }

    /// The sparks every loop's broadcast list holds, counted on each loop.
    static func members(of primus: Primus) async throws -> Int {
        var total = 0
        for mailbox in primus.mailboxes.withLockedValue({ $0.all }) {
            total += try await mailbox.eventLoop.submit { mailbox.memberCount }.get()
        }
        return total
    }
}

@Suite("a whole server frame, built once")
struct WebSocketServerFrameTests {
    /// What NIO's own decoder makes of `bytes`.
    static func decode(_ bytes: ByteBuffer) throws -> [WebSocketFrame] {
        let channel = EmbeddedChannel(handler: ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 20)))
        try channel.writeInbound(bytes)
        var frames: [WebSocketFrame] = []
        while let frame = try channel.readInbound(as: WebSocketFrame.self) { frames.append(frame) }
        _ = try channel.finish()
        return frames
    }

    @Test("every length class: 7-bit, 16-bit and 64-bit", arguments: [0, 1, 125, 126, 127, 65_535, 65_536, 70_000])
    func lengthsRoundTripThroughNIOsDecoder(_ length: Int) throws {
        let payload = ByteBuffer(repeating: UInt8(ascii: "x"), count: length)
        let frame = WebSocketServerFrame.encode(opcode: .text, payload: payload, allocator: ByteBufferAllocator())
        #expect(frame.readableBytes == WebSocketServerFrame.headerLength(payload: length) + length)
        let decoded = try Self.decode(frame)
        #expect(decoded.count == 1)
        #expect(decoded.first?.fin == true)
        #expect(decoded.first?.opcode == .text)
        #expect(decoded.first?.maskKey == nil)
        #expect(decoded.first?.data == payload)
    }

    @Test func binaryAndCompressedFlagsAreKept() throws {
        let payload = ByteBuffer(bytes: [0, 1, 2, 255])
        let frame = WebSocketServerFrame.encode(opcode: .binary, rsv1: true, payload: payload, allocator: ByteBufferAllocator())
        let decoded = try #require(try Self.decode(frame).first)
        #expect(decoded.opcode == .binary)
        #expect(decoded.rsv1)
        #expect(decoded.data == payload)
    }

    @Test func aSharedMessageDerivesEachFormOnce() {
        let shared = SharedTransportMessage(.text("hello"))
        let calls = NIOLockedValueBox(0)
        let make: (TransportMessage) -> TransportMessage = { message in
            calls.withLockedValue { $0 += 1 }
            return .binary(WebSocketServerFrame.encode(opcode: .text, payload: message.buffer, allocator: ByteBufferAllocator()))
        }
        let first = shared.derived("websocket.frame", make: make)
        let second = shared.derived("websocket.frame", make: make)
        #expect(first === second)
        #expect(calls.withLockedValue { $0 } == 1)
        let other = shared.derived("engine.io.4.frame") { .text("4" + $0.string) }
        #expect(other.message == .text("4hello"))
        #expect(other !== first)
    }
}
