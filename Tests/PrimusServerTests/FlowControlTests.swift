import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PrimusCore
@testable import PrimusServer
import Testing

/// Small bounds so a test reaches them in a fraction of a second.
private func smallLimits(_ policy: OutboundOverflowPolicy = .end, stall: Duration = .seconds(1), close: Duration = .milliseconds(500)) -> PrimusLimits {
    var limits = PrimusLimits()
    limits.maxBufferedBytes = 64 * 1024
    limits.whenOverBudget = policy
    limits.writeStallTimeout = stall
    limits.closeTimeout = close
    return limits
}

/// About 1 KiB of JSON: a string the server echoes.
private let request = "\"" + String(repeating: "r", count: 1000) + "\""

/// Many echo requests in one write.
private func requests(_ count: Int) -> ByteBuffer {
    var batch = ByteBuffer()
    var frame = SlowReader.textFrame(request)
    for _ in 0..<count {
        var copy = frame
        batch.writeBuffer(&copy)
    }
    _ = frame.readBytes(length: 0)
    return batch
}

/// Echoes every message, and reports over-budget crossings and ends.
private func echo(overBudget: Signal = Signal(), ended: Signal = Signal(), buffered: NIOLockedValueBox<[Int]>? = nil) -> (Primus) -> Void {
    { primus in
        primus.onConnection { spark in
            spark.onMessage { message in spark.write(message.value) }
            spark.onOverBudget {
                buffered?.withLockedValue { $0.append(spark.bufferedAmount) }  // on the event loop: exact
                overBudget.fire()
            }
            spark.onEnd { ended.fire() }
        }
    }
}

@Suite("outbound flow control, live on loopback")
struct FlowControlTests {
    @Test func aClientThatSendsRequestsAndNeverReadsIsEndedAndDisconnected() async throws {
        let ended = Signal()
        try await withFlowServer({ $0.limits = smallLimits(.end) }, setup: echo(ended: ended)) { port, primus in
            let peer = try await SlowReader.connect(port: port)
            async let flooded = peer.flood(requests(64))
            try await ended.wait(timeout: .seconds(20))
            try await peer.closed(timeout: .seconds(10))
            #expect(await flooded > 0)
            #expect(primus.connected == 0)
        }
    }

    @Test func aClientThatStaysOverBudgetIsDisconnectedAfterTheWriteStallTimeout() async throws {
        let overBudget = Signal()
        let ended = Signal()
        // Dropping keeps the spark; only the stall timeout can end it (the close timeout is long
        // and no close frame is written).
        let limits = smallLimits(.dropNewest, stall: .seconds(1), close: .seconds(60))
        try await withFlowServer({ $0.limits = limits }, setup: echo(overBudget: overBudget, ended: ended)) { port, primus in
            let peer = try await SlowReader.connect(port: port)
            async let flooded = peer.flood(requests(64))
            try await overBudget.wait()
            let spark = try #require(primus.sparks.first)
            #expect(spark.readyState == .open)
            try await ended.wait(timeout: .seconds(10))
            try await peer.closed(timeout: .seconds(10))
            _ = await flooded
            #expect(spark.readyState == .closed)
        }
    }

    @Test func aCloseFrameThatCannotBeFlushedIsAbandonedAfterTheCloseTimeout() async throws {
        let overBudget = Signal()
        // The stall timeout is far away: only the close timeout can drop this connection in time.
        let limits = smallLimits(.dropNewest, stall: .seconds(60), close: .milliseconds(500))
        try await withFlowServer({ $0.limits = limits }, setup: echo(overBudget: overBudget)) { port, primus in
            let peer = try await SlowReader.connect(port: port)
            async let flooded = peer.flood(requests(64))
            try await overBudget.wait()
            let spark = try #require(primus.sparks.first)
            spark.end()  // the close frame queues behind what the client never reads
            try await peer.closed(timeout: .seconds(10))
            _ = await flooded
            #expect(spark.readyState == .closed)
        }
    }

    @Test func dropNewestKeepsTheConnectionAndReportsTheBudgetPassed() async throws {
        let overBudget = Signal()
        let buffered = NIOLockedValueBox<[Int]>([])
        let limits = smallLimits(.dropNewest, stall: .seconds(60))
        try await withFlowServer({ $0.limits = limits }, setup: echo(overBudget: overBudget, buffered: buffered)) { port, primus in
            let peer = try await SlowReader.connect(port: port)
            let sent = 3000
            peer.channel.writeAndFlush(requests(sent), promise: nil)  // about 3 MB, not awaited
            try await overBudget.wait()
            let spark = try #require(primus.sparks.first)
            #expect(spark.readyState == .open)
            let figures = buffered.withLockedValue { $0 }
            #expect(figures.first.map { $0 > limits.maxBufferedBytes / 2 } == true)

            // The client catches up: the connection works again. A marker may itself be dropped
            // while the backlog drains, so it is sent until one comes back.
            peer.startReading()
            var echoes = 0
            var markerSeen = false
            for _ in 0..<40 where !markerSeen {
                try await peer.channel.writeAndFlush(SlowReader.textFrame(#""done""#)).get()
                while let frame = try? await peer.inbox.next(timeout: .milliseconds(500)) {
                    guard frame.opcode == .text else { continue }
                    if String(buffer: frame.data) == #""done""# {
                        markerSeen = true
                        break
                    }
                    echoes += 1
                }
            }
            #expect(markerSeen)
            #expect(echoes <= sent)
            #expect(overBudget.occurrences >= 1)
            #expect(spark.readyState == .open)
            #expect(primus.connected == 1)
        }
    }

    @Test func anAwaitedSendWaitsForRoomAndResumesWhenTheClientReads() async throws {
        struct Numbered: Codable { var seq: Int; var pad: String }
        let total = 200
        let overBudget = Signal()
        let finished = Signal()
        let progress = NIOLockedValueBox(0)
        let failure = NIOLockedValueBox<(any Error)?>(nil)
        let limits = smallLimits(.wait, stall: .seconds(60))
        try await withFlowServer({ $0.limits = limits }, setup: { primus in
            primus.onConnection { spark in
                spark.onOverBudget { overBudget.fire() }
                Task {
                    do {
                        for seq in 0..<total {
                            try await spark.send(Numbered(seq: seq, pad: String(repeating: "p", count: 16 * 1024)))
                            progress.withLockedValue { $0 = seq + 1 }
                        }
                    } catch {
                        failure.withLockedValue { $0 = error }
                    }
                    finished.fire()
                }
            }
        }) { port, primus in
            let peer = try await SlowReader.connect(port: port)
            try await overBudget.wait()
            #expect(progress.withLockedValue { $0 } < total)  // about 3 MB cannot fit: it waits
            #expect(primus.sparks.first?.readyState == .open)

            peer.startReading()
            for expected in 0..<total {
                let frame = try #require(try await peer.inbox.next(timeout: .seconds(20)))
                let value = try JSONReader.parse(String(buffer: frame.data))
                #expect(value["seq"]?.numberValue == Double(expected))  // none dropped, in order
            }
            try await finished.wait()
            #expect(failure.withLockedValue { $0 } == nil)
            #expect(progress.withLockedValue { $0 } == total)
        }
    }

    @Test func anAwaitedSendWaitingForAClientThatNeverReadsFailsWhenTheStallTimeoutEndsIt() async throws {
        let finished = Signal()
        let failure = NIOLockedValueBox<(any Error)?>(nil)
        try await withFlowServer({ $0.limits = smallLimits(.wait, stall: .seconds(1)) }, setup: { primus in
            primus.onConnection { spark in
                Task {
                    do {
                        for _ in 0..<1000 { try await spark.send(JSONValue.string(String(repeating: "p", count: 16 * 1024))) }
                    } catch {
                        failure.withLockedValue { $0 = error }
                    }
                    finished.fire()
                }
            }
        }) { port, primus in
            let peer = try await SlowReader.connect(port: port)
            try await finished.wait(timeout: .seconds(20))
            let error = try #require(failure.withLockedValue { $0 } as? PrimusError)
            #expect(error == .sparkClosed)
            #expect(primus.connected == 0)
            peer.startReading()
            try await peer.closed(timeout: .seconds(10))
        }
    }

    @Test func anAwaitedSendUnderTheEndPolicyEndsTheSparkAndSaysWhy() async throws {
        let finished = Signal()
        let failure = NIOLockedValueBox<PrimusError?>(nil)
        try await withFlowServer({ $0.limits = smallLimits(.end, stall: .seconds(60)) }, setup: { primus in
            primus.onConnection { spark in
                Task {
                    do {
                        for _ in 0..<1000 { try await spark.send(JSONValue.string(String(repeating: "p", count: 16 * 1024))) }
                    } catch let error as PrimusError {
                        failure.withLockedValue { $0 = error }
                    } catch {}
                    finished.fire()
                }
            }
        }) { port, primus in
            let peer = try await SlowReader.connect(port: port)
            try await finished.wait(timeout: .seconds(20))
            let error = try #require(failure.withLockedValue { $0 })
            #expect(error == .outboundBudgetExceeded(limit: 64 * 1024))
            #expect(error.code == .sparkClosed)
            // This client sends nothing, so the server's close is a plain end of stream: read to see it.
            peer.startReading()
            try await peer.closed(timeout: .seconds(10))
            #expect(primus.connected == 0)
        }
    }

    @Test func aPingFloodThatNeverReadsDoesNotKeepTheSparkAlive() async throws {
        let overBudget = Signal()
        let ended = Signal()
        // Drop, not end, over the budget, and a distant stall timeout: only the heartbeat may end it.
        let limits = smallLimits(.dropNewest, stall: .seconds(60))
        try await withFlowServer({ $0.limits = limits }, setup: echo(overBudget: overBudget, ended: ended)) { port, primus in
            let peer = try await SlowReader.connect(port: port)
            var pings = ByteBuffer()
            for _ in 0..<1000 {
                var ping = SlowReader.maskedFrame(.ping, ByteBuffer(repeating: UInt8(ascii: "p"), count: 125))
                pings.writeBuffer(&ping)
            }
            async let flooded = peer.flood(pings)
            try await overBudget.wait()
            let spark = try #require(primus.sparks.first)
            // Pongs are not queued past the budget: reading stopped, and no pong is written
            // while over it (one frame of slack for the write that crossed it).
            let buffered = try await spark.eventLoop.submit { spark.bufferedAmount }.get()
            #expect(buffered <= limits.maxBufferedBytes + 1024)

            // Heartbeats: the first pings the client (dropped), the next finds no pong and ends
            // it. The flood's ping frames do not count while it does not read.
            var ticks = 0
            while spark.readyState == .open, ticks < 50 {
                primus.heartbeat()
                ticks += 1
                try await Task.sleep(for: .milliseconds(100))
            }
            try await ended.wait(timeout: .seconds(5))
            #expect(ticks <= 5)
            try await peer.closed(timeout: .seconds(10))
            _ = await flooded
            let after = try await spark.eventLoop.submit { spark.bufferedAmount }.get()
            #expect(after == 0)
        }
    }
}

@Suite("strict framing and bounded handshakes, live on loopback")
struct StrictFramingTests {
    @Test func anUnmaskedClientFrameClosesTheConnectionWith1002() async throws {
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in spark.onMessage { spark.write($0.value) } }
        }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(frame: WebSocketFrame(fin: true, opcode: .text, data: ByteBuffer(string: #""unmasked""#)))
            #expect(try await socket.closeCode() == 1002)
            try await waitUntil { primus.connected == 0 }
        }
    }

    @Test func maskedFramesStillEcho() async throws {
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in spark.onMessage { spark.write($0.value) } }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await socket.send(#""masked""#)
            #expect(try await socket.nextJSON() == "masked")
        }
    }

    @Test func aSparkKeepsAtMostTheRetainedHeaderBudgetWithTheCommonHeadersFirst() async throws {
        try await withPrimusServer({ configuration in
            configuration.limits.maxRetainedHeaderBytes = 1024
            configuration.limits.maxHeaderCount = 10_000  // the HTTP layer's limits are not under test
            configuration.limits.maxHeaderBytes = 1 << 20
        }) { port, primus in
            var headers = HTTPHeaders()
            for index in 0..<2000 { headers.add(name: "X-Filler-\(index)", value: "value") }
            headers.add(name: "Cookie", value: "session=abc")
            headers.add(name: "User-Agent", value: "flow-test")
            let socket = try await TestWebSocket.connect(port: port, headers: headers)
            try await waitUntil { primus.connected == 1 }
            let spark = try #require(primus.sparks.first)
            let retained = spark.headers.map { RetainedHeaders.cost(name: $0.name, value: $0.value) }.reduce(0, +)
            #expect(retained <= 1024)
            #expect(retained > 1024 - 30)  // filled with the rest, not just bounded
            #expect(spark.headers["cookie"] == ["session=abc"])
            #expect(spark.headers["user-agent"] == ["flow-test"])
            #expect(spark.headers["host"].count == 1)
            #expect(spark.headers["sec-websocket-key"].count == 1)
            #expect(spark.request.headers == spark.headers)
            await socket.disconnect()
        }
    }

    @Test func sendingOnAClosedSparkThrowsSparkClosed() async throws {
        try await withPrimusServer { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            let spark = try #require(primus.sparks.first)
            await socket.disconnect()
            try await waitUntil { primus.connected == 0 }
            await #expect(throws: PrimusError.sparkClosed) { try await spark.send("late") }
            #expect(spark.bufferedAmount == 0)
        }
    }
}
