import NIOCore
import PrimusClient
import PrimusCore
import PrimusServer
import Synchronization
import Testing

/// A subscriber that reads slowly slows the server down instead of losing messages: the client
/// stops reading while a subscriber is behind, and nothing, `end` included, is dropped.
@Suite("PrimusClient events for a slow subscriber", .timeLimit(.minutes(2)))
struct ClientEventBackpressureTests {
    /// More than the 10,000 events the client used to keep for a subscriber before dropping.
    static let messageCount = 15_000

    enum Transport: String, CaseIterable, CustomTestStringConvertible {
        case websockets, engineIOPolling, engineIOUpgrade

        var testDescription: String { rawValue }

        var transformer: PrimusTransformer {
            self == .websockets ? .websockets : .engineIO
        }

        /// How many messages the server sends, and how many events the client may hold for a
        /// subscriber (`nil`: the default, 10,000), well below that. Engine.IO sends fewer: the
        /// server's polling queue costs quadratic time today (issue 9), and 15,000 packets would
        /// hold up every other test on the shared event loops.
        var load: (messages: Int, eventBufferSize: Int?) {
            self == .websockets ? (ClientEventBackpressureTests.messageCount, nil) : (1_500, 300)
        }

        func configure(_ configuration: inout PrimusClientConfiguration) {
            switch self {
            case .websockets: break
            case .engineIOPolling: configuration.transport = EngineIOClientTransport(websockets: false)
            case .engineIOUpgrade: configuration.transport = EngineIOClientTransport(websockets: true)
            }
            if let size = load.eventBufferSize { configuration.eventBufferSize = size }
            // Generous: these tests load the machine, and a connect abandoned for being slow
            // would leave the test writing to a spark nobody reads.
            configuration.timeout = .seconds(30)
            configuration.reconnect.attemptTimeout = .seconds(30)
        }
    }

    /// Room on the server for everything a stalled client has not read yet, so that only the
    /// client's own behaviour is under test.
    static var roomyLimits: PrimusLimits {
        var limits = PrimusLimits()
        limits.maxBufferedBytes = 64 << 20
        return limits
    }

    /// Engine.IO sessions that may queue every message of these tests for a client that is not
    /// polling (the default closes a session past 10,000 packets).
    static var roomyEngineIO: EngineIOOptions {
        var options = EngineIOOptions()
        options.maxBufferedPackets = 20_000
        return options
    }

    static func server(_ transport: Transport) async throws -> LoopbackServer {
        try await LoopbackServer.start(transformer: transport.transformer, engineIO: roomyEngineIO, limits: roomyLimits)
    }

    @Test(arguments: Transport.allCases)
    func aSlowSubscriberGetsEveryMessageInOrderAndTheEnd(transport: Transport) async throws {
        let server = try await Self.server(transport)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: fastConfiguration { transport.configure(&$0) })
        let events = client.events  // subscribed from the start, read late and slowly
        let spark = try await liveSpark(of: client, on: server)
        let count = transport.load.messages
        for index in 0..<count { spark.write(.number(Double(index))) }
        spark.end()

        let (values, ended) = try await withBound(.seconds(60)) {
            // Far behind before reading at all, then pausing now and then.
            try await Task.sleep(for: .milliseconds(200))
            var values: [Double] = []
            for await event in events {
                switch event {
                case .data(let message):
                    values.append(message.value.numberValue ?? -1)
                    if values.count % 500 == 0 { try await Task.sleep(for: .milliseconds(5)) }
                case .end:
                    return (values, true)
                default:
                    break
                }
            }
            return (values, false)
        }
        #expect(values.count == count)
        #expect(firstOutOfOrder(values) == nil)
        #expect(ended)
    }

    @Test(arguments: [Transport.websockets, .engineIOPolling])
    func theClientStopsReadingWhileASubscriberIsBehind(transport: Transport) async throws {
        let count = 2_000
        let server = try await Self.server(transport)
        defer { Task { await server.stop() } }
        let log = LogRecorder()
        let client = try PrimusClient(server.httpURL, configuration: fastConfiguration {
            transport.configure(&$0)
            $0.eventBufferSize = 64
            $0.logger = log.logger
        })
        let slow = client.events
        let fastEvents = client.events
        let fastCount = Mutex(0)
        let fast = Task {
            var values: [Double] = []
            for await event in fastEvents {
                if case .data(let message) = event {
                    values.append(message.value["index"]?.numberValue ?? -1)
                    fastCount.withLock { $0 = values.count }
                }
                if case .end = event { return values }
            }
            return values
        }
        let spark = try await liveSpark(of: client, on: server)
        // 1 KiB each: what one read of the socket can hold is far less than all of them.
        let padding = String(repeating: "x", count: 1_024)
        for index in 0..<count { spark.write(["index": .number(Double(index)), "padding": .string(padding)]) }
        spark.end()

        try await eventually("reading paused", timeout: .seconds(10)) {
            !log.entries("reading paused: an event subscriber is behind").isEmpty
        }
        // While the slow subscriber holds the connection back, the fast one cannot get far.
        let whilePaused = fastCount.withLock { $0 }
        #expect(whilePaused < count / 2, "the client kept reading: \(whilePaused) of \(count) messages")

        let (slowValues, slowEnded) = try await withBound(.seconds(60)) {
            var values: [Double] = []
            for await event in slow {
                if case .data(let message) = event { values.append(message.value["index"]?.numberValue ?? -1) }
                if case .end = event { return (values, true) }
            }
            return (values, false)
        }
        let fastValues = try await withBound(.seconds(60)) {
            await withTaskCancellationHandler { await fast.value } onCancel: { fast.cancel() }
        }
        #expect(slowValues.count == count)
        #expect(firstOutOfOrder(slowValues) == nil)
        #expect(slowEnded)
        #expect(fastValues.count == count)
        #expect(firstOutOfOrder(fastValues) == nil)
        #expect(!log.entries("reading resumed").isEmpty)
    }

    @Test func aLateFirstSubscriberIsToldWhatTheBacklogCouldNotKeep() async throws {
        let server = try await LoopbackServer.start(limits: Self.roomyLimits)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.url, configuration: fastConfiguration {
            $0.eventBufferSize = 16
            $0.timeout = .seconds(30)
        })
        let handled = Mutex(0)
        client.onData { _ in handled.withLock { $0 += 1 } }
        let spark = try await liveSpark(of: client, on: server)
        // Nobody subscribed: a handler-only client must not stall, so the backlog is bounded.
        for index in 0..<100 { spark.write(.number(Double(index))) }
        spark.end()
        try await eventually("every message handled") { handled.withLock { $0 } == 100 }

        let events = client.events
        let replayed = try await withBound(.seconds(10)) {
            var replayed: [PrimusClientEvent] = []
            for await event in events {
                replayed.append(event)
                if case .end = event { break }
            }
            return replayed
        }
        // The first 16 events (whichever they were), the error, then `end`.
        #expect(replayed.count == 18)
        let lost = replayed.compactMap { if case .error(let error) = $0 { return error } else { return nil } }
        #expect(lost.count == 1)
        #expect(lost.first?.code == .timeout)
        #expect(lost.first?.message.contains("eventBufferSize") == true)
        #expect(replayed.last == .end)
    }
}

/// The spark of `client`'s current connection (not one it gave up on while the machine was busy).
private func liveSpark(of client: PrimusClient, on server: LoopbackServer) async throws -> Spark {
    let id = try await withBound(.seconds(30)) { try await client.id() }
    return try #require(server.sparks.first { $0.id == id })
}

/// The first value that is not its own index (`values` should be 0, 1, 2, …), as
/// "index: value", or `nil` when they all are.
private func firstOutOfOrder(_ values: [Double]) -> String? {
    values.indices.first { values[$0] != Double($0) }.map { "\($0): \(values[$0])" }
}

/// Runs `body`, failing the test if it takes longer than `limit`.
private func withBound<T: Sendable>(
    _ limit: Duration,
    _ body: @escaping @Sendable () async throws -> T
) async throws -> T {
    try await withThrowingTaskGroup(of: T?.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: limit)
            return nil
        }
        guard let first = try await group.next(), let value = first else {
            group.cancelAll()
            throw TimedOut(description: "timed out after \(limit)")
        }
        group.cancelAll()
        return value
    }
}
