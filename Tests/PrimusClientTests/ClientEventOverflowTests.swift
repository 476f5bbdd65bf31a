import NIOConcurrencyHelpers
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// A subscriber that falls `eventBufferSize` events behind is told so and ended; it never misses
/// `.data` or `.end` silently. Every wait is bounded.
@Suite("Client event overflow", .timeLimit(.minutes(1)))
struct ClientEventOverflowTests {
    /// Reads `events` up to `.end` or its finish (bounded), returning what it carried.
    private func drain(_ events: AsyncStream<PrimusClientEvent>) async throws -> [PrimusClientEvent] {
        try await withThrowingTaskGroup(of: [PrimusClientEvent]?.self) { group in
            group.addTask {
                var seen: [PrimusClientEvent] = []
                for await event in events {
                    seen.append(event)
                    if event == .end { break }
                }
                return seen
            }
            group.addTask {
                try await Task.sleep(for: .seconds(10))
                return nil
            }
            defer { group.cancelAll() }
            guard let seen = try await group.next() ?? nil else {
                throw PrimusError(code: .timeout, message: "the events sequence did not finish")
            }
            return seen
        }
    }

    private func overflowError(_ event: PrimusClientEvent?) -> PrimusError? {
        if case .error(let error) = event { return error }
        return nil
    }

    @Test func aSubscriberThatFallsBehindIsToldAndEnded() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration { $0.eventBufferSize = 16 })
        let events = client.events  // subscribed at once, read only later
        let handled = NIOLockedValueBox(0)
        client.onData { _ in handled.withLockedValue { $0 += 1 } }
        let spark = try await server.spark()
        for index in 0..<100 { spark.write(.number(Double(index))) }
        // Handlers keep up whatever the subscriber does.
        try await eventually("every message handled") { handled.withLockedValue { $0 } == 100 }

        let seen = try await drain(events)
        #expect(seen.count == 16 + 2)
        let error = try #require(overflowError(seen.dropLast().last))
        #expect(error.message.contains("eventBufferSize"))
        #expect(seen.last == .end)
        // What it did get is in order and unaltered.
        let values = seen.compactMap { event -> Double? in
            if case .data(let message) = event { return message.value.numberValue }
            return nil
        }
        #expect(values == (0..<values.count).map(Double.init))
        client.end()
    }

    @Test func aLateFirstSubscriberLearnsWhatTheBacklogDropped() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration { $0.eventBufferSize = 16 })
        let handled = NIOLockedValueBox(0)
        client.onData { _ in handled.withLockedValue { $0 += 1 } }
        let spark = try await server.spark()
        // Nobody subscribed yet: a handler-only client must not stall, so the backlog is bounded.
        for index in 0..<100 { spark.write(.number(Double(index))) }
        try await eventually("every message handled") { handled.withLockedValue { $0 } == 100 }
        let events = client.events
        client.end()

        let seen = try await drain(events)
        #expect(seen.count <= 16 + 3)
        #expect(seen.last == .end)
        let error = try #require(seen.compactMap(overflowError).last)
        #expect(error.message.contains("were not delivered"))
    }
}
