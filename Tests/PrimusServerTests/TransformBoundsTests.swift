import NIOConcurrencyHelpers
import PrimusCore
import PrimusServer
import Testing

/// A gate an async transform waits at until the test opens it.
private final class Gate: Sendable {
    private let state = NIOLockedValueBox<(open: Bool, waiters: [CheckedContinuation<Void, Never>])>((false, []))

    func wait() async {
        await withCheckedContinuation { continuation in
            let ready = state.withLockedValue { state -> Bool in
                if state.open { return true }
                state.waiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    func open() {
        let waiters = state.withLockedValue { state in
            state.open = true
            defer { state.waiters = [] }
            return state.waiters
        }
        for waiter in waiters { waiter.resume() }
    }
}

/// The queues in front of slow async transforms are bounded by `maxBufferedMessages`.
@Suite("message transforms: bounded queues", .timeLimit(.minutes(1)))
struct TransformBoundsTests {
    @Test func aSlowIncomingTransformStopsTheReadingAndLosesNothing() async throws {
        let gate = Gate()
        let received = Recorder<JSONValue>()
        try await withPrimusServer({ $0.maxBufferedMessages = 4; $0.pingInterval = nil }, setup: { primus in
            primus.transform(.incoming) { packet async in
                await gate.wait()
                return .pass(packet.data)
            }
            primus.onConnection { spark in spark.onMessage { received.append($0.value) } }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            for index in 0..<200 { try await socket.send("\(index)") }
            gate.open()
            try await waitUntil { received.count == 200 }
            #expect(received.all == (0..<200).map { .number(Double($0)) })
        }
    }

    @Test func aFullOutgoingLaneEndsTheSparkUnderTheDefaultPolicy() async throws {
        let gate = Gate()
        try await withPrimusServer({ $0.maxBufferedMessages = 4; $0.pingInterval = nil }, setup: { primus in
            primus.transform(.outgoing) { packet async in
                await gate.wait()
                return .pass(packet.data)
            }
            primus.onConnection { spark in
                for index in 0..<10 { spark.write(.number(Double(index))) }
            }
        }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 0 }
            gate.open()
            await socket.disconnect()
        }
    }

    @Test func aFullOutgoingLaneDropsTheNewestUnderDropNewest() async throws {
        let gate = Gate()
        try await withPrimusServer({
            $0.maxBufferedMessages = 4
            $0.pingInterval = nil
            $0.limits.whenOverBudget = .dropNewest
        }, setup: { primus in
            primus.transform(.outgoing) { packet async in
                await gate.wait()
                return .pass(packet.data)
            }
            primus.onConnection { spark in
                for index in 0..<10 { spark.write(.number(Double(index))) }
                spark.write("last")
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            gate.open()
            // One in the transform, then four queued: the rest were dropped.
            var texts: [String] = []
            for _ in 0..<5 { texts.append(try #require(try await socket.nextText())) }
            #expect(texts == ["0", "1", "2", "3", "4"])
            await socket.disconnect()
        }
    }
}
