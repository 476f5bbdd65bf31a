import NIOCore
import PrimusCore
@testable import PrimusServer
import Testing

/// The data values a recovering client receives, in order, until `count` have come: envelopes
/// unwrapped through the client's rules (``RecoveryPosition``), Primus protocol strings skipped.
private func received(from socket: TestWebSocket, count: Int, position: inout RecoveryPosition) async throws -> [JSONValue] {
    var values: [JSONValue] = []
    while values.count < count, let value = try await socket.nextJSON() {
        if let text = value.stringValue, text.hasPrefix("primus::") { continue }
        if let payload = position.receive(value) { values.append(payload) }
    }
    return values
}

/// The raw decoded values until the first envelope or baseline (what a plain client sees).
private func nextValue(from socket: TestWebSocket) async throws -> JSONValue? {
    while let value = try await socket.nextJSON() {
        if let text = value.stringValue, text.hasPrefix("primus::") { continue }
        return value
    }
    return nil
}

private func recoveryQuery(_ position: RecoveryPosition) -> String {
    "/primus?\(RecoveryEnvelope.queryParameter)=\(position.queryValue)"
}

@Suite("missed-message recovery on one node (the local adapter's backlog)")
struct RecoveryTests {
    @Test func aPlainClientSeesPlainMessagesWithRecoveryOn() async throws {
        try await withPrimusServer({ $0.recovery = PrimusRecovery() }) { port, primus in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            primus.write(["n": 1])
            #expect(try await nextValue(from: socket) == ["n": 1])
        }
    }

    @Test func aReconnectingClientGetsWhatWasBroadcastWhileItWasAwayOnceAndInOrder() async throws {
        try await withPrimusServer({ $0.recovery = PrimusRecovery() }) { port, primus in
            var position = RecoveryPosition()
            var socket = try await TestWebSocket.connect(port: port, target: recoveryQuery(position))
            try await waitUntil { primus.connected == 1 }
            for n in 0..<3 { primus.write(["n": .number(Double(n))]) }
            #expect(try await received(from: socket, count: 3, position: &position) == [["n": 0], ["n": 1], ["n": 2]])
            await socket.disconnect()
            try await waitUntil { primus.connected == 0 }
            for n in 3..<8 { primus.write(["n": .number(Double(n))]) }
            socket = try await TestWebSocket.connect(port: port, target: recoveryQuery(position))
            try await waitUntil { primus.connected == 1 }
            primus.write(["n": 8])
            #expect(try await received(from: socket, count: 6, position: &position) == (3...8).map { ["n": .number(Double($0))] })
            #expect(position.last == primus.adapter.latestSequence)
        }
    }

    @Test func aClientThatSawNothingStartsFromItsBaselineNotTheWholeBacklog() async throws {
        try await withPrimusServer({ $0.recovery = PrimusRecovery() }) { port, primus in
            for n in 0..<4 { primus.write(["old": .number(Double(n))]) }
            var position = RecoveryPosition()
            var socket = try await TestWebSocket.connect(port: port, target: recoveryQuery(position))
            try await waitUntil { primus.connected == 1 }
            // The baseline arrives right after the connection: the newest sequence.
            let baseline = try #require(try await socket.nextJSON())
            #expect(position.receive(baseline) == nil)
            #expect(position.last == primus.adapter.latestSequence)
            await socket.disconnect()
            try await waitUntil { primus.connected == 0 }
            primus.write(["n": 1])
            socket = try await TestWebSocket.connect(port: port, target: recoveryQuery(position))
            #expect(try await received(from: socket, count: 1, position: &position) == [["n": 1]])
        }
    }

    @Test func aReplayHoldsTheRoomsJoinedOnConnectionAndLeavesOutWhatTheSparkWasExcludedFrom() async throws {
        try await withPrimusServer({ $0.recovery = PrimusRecovery() }, setup: { primus in
            primus.onConnection { spark in
                for room in spark.query.values(for: "room") { spark.join(room) }
                spark.onMessage { message in
                    // The client's own room message leaves it out (spark.to).
                    spark.to("red").write(message.value)
                }
            }
        }) { port, primus in
            var position = RecoveryPosition()
            var socket = try await TestWebSocket.connect(port: port, target: recoveryQuery(position) + "&room=red")
            try await waitUntil { primus.connected == 1 }
            primus.room("red").write(["red": 1])
            #expect(try await received(from: socket, count: 1, position: &position) == [["red": 1]])
            try await socket.send(#"{"mine":1}"#)
            // The exclusion moves the client's place on: a baseline past its own message.
            let mine = try await waitForBaseline(on: socket, position: &position)
            #expect(mine == primus.adapter.latestSequence)
            await socket.disconnect()
            try await waitUntil { primus.connected == 0 }
            primus.room("blue").write(["blue": 1])
            primus.room("red").write(["red": 2])
            primus.write(["all": 1])
            socket = try await TestWebSocket.connect(port: port, target: recoveryQuery(position) + "&room=red")
            #expect(try await received(from: socket, count: 2, position: &position) == [["red": 2], ["all": 1]])
        }
    }

    @Test func theReplayKeepsOnlyTheWindow() async throws {
        try await withPrimusServer({ $0.recovery = PrimusRecovery(maxMessages: 3) }) { port, primus in
            var position = RecoveryPosition()
            var socket = try await TestWebSocket.connect(port: port, target: recoveryQuery(position))
            try await waitUntil { primus.connected == 1 }
            primus.write(["n": 0])
            #expect(try await received(from: socket, count: 1, position: &position) == [["n": 0]])
            await socket.disconnect()
            try await waitUntil { primus.connected == 0 }
            for n in 1...10 { primus.write(["n": .number(Double(n))]) }
            socket = try await TestWebSocket.connect(port: port, target: recoveryQuery(position))
            primus.write(["n": 11])
            #expect(try await received(from: socket, count: 4, position: &position) == [["n": 8], ["n": 9], ["n": 10], ["n": 11]])
        }
    }

    @Test func aClaimedSequenceThatIsNotOneIsTreatedAsAFreshClient() async throws {
        try await withPrimusServer({ $0.recovery = PrimusRecovery() }) { port, primus in
            primus.write(["old": 1])
            var position = RecoveryPosition()
            let socket = try await TestWebSocket.connect(port: port, target: "/primus?\(RecoveryEnvelope.queryParameter)=not-a-sequence")
            try await waitUntil { primus.connected == 1 }
            primus.write(["n": 1])
            #expect(try await received(from: socket, count: 1, position: &position) == [["n": 1]])
        }
    }

    @Test func theInMemoryBacklogTrimsByCountAndAgeAndReadsAfterASequence() {
        var backlog = InMemoryBacklog()
        let recovery = PrimusRecovery(maxMessages: 100, maxAge: .seconds(1))
        var sequences: [PrimusSequence] = []
        for n in 0..<250 { sequences.append(backlog.append(.number(Double(n)), to: .everyone, now: 10_000, recovery: recovery)) }
        // Same millisecond: the counter orders them.
        #expect(sequences[1] == PrimusSequence(milliseconds: 10_000, counter: 1))
        #expect(zip(sequences, sequences.dropFirst()).allSatisfy { $0 < $1 })
        #expect(backlog.entries(after: .zero, limit: 1000).map(\.value) == (150..<250).map { .number(Double($0)) })
        #expect(backlog.entries(after: sequences[200], limit: 10).map(\.value) == (201..<211).map { .number(Double($0)) })
        // A later append drops what fell out of the age window.
        let late = backlog.append("late", to: .everyone, now: 11_001, recovery: recovery)
        #expect(backlog.entries(after: .zero, limit: 1000).map(\.sequence) == [late])
        // A clock that steps back still makes increasing sequences.
        let earlier = backlog.append("earlier", to: .everyone, now: 5_000, recovery: recovery)
        #expect(earlier > late)
    }
}

private func waitForBaseline(on socket: TestWebSocket, position: inout RecoveryPosition) async throws -> PrimusSequence? {
    while let value = try await socket.nextJSON() {
        if case .baseline(let sequence) = RecoveryEnvelope.unwrap(value) {
            _ = position.receive(value)
            return sequence
        }
    }
    return nil
}
