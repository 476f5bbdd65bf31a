import Logging
import NIOCore
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusServer
import ServiceLifecycle
import Testing

/// A Primus and its listener run as two services of one ServiceGroup, as an application runs
/// them, on `port` (0: a free one).
private struct ServedPrimus: Sendable {
    let primus: Primus
    let group: ServiceGroup
    let port: Int
    let running: Task<Void, any Error>

    static func start(port: Int = 0, transformer: PrimusTransformer, reconnectOnShutdown: Bool) async throws -> ServedPrimus {
        var configuration = PrimusConfiguration()
        configuration.transformer = transformer
        let primus = Primus(configuration: configuration)
        primus.onConnection { spark in spark.onMessage { spark.write($0.value) } }
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        var server = PrimusHTTPServer(primus: primus, port: port, onListening: { continuation.yield($0.port ?? 0) })
        server.reconnectOnShutdown = reconnectOnShutdown
        var logger = Logger(label: "primus.test.group")
        logger.logLevel = .critical
        let group = ServiceGroup(services: [primus, server], logger: logger)
        let running = Task {
            defer { continuation.finish() }
            try await group.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            throw PrimusError(code: .connectionFailed, message: "could not listen on port \(port)")
        }
        return ServedPrimus(primus: primus, group: group, port: bound, running: running)
    }

    /// Shuts the group down gracefully and waits for it.
    func stop() async throws {
        await group.triggerGracefulShutdown()
        try await running.value
    }
}

private func clientConfiguration(_ transformer: PrimusTransformer) -> PrimusClientConfiguration {
    fastConfiguration {
        $0.reconnect.minDelay = .milliseconds(30)
        $0.reconnect.maxDelay = .milliseconds(100)
        if transformer == .engineIO { $0.transport = EngineIOClientTransport() }
    }
}

private func url(_ transformer: PrimusTransformer, _ port: Int) -> String {
    transformer == .engineIO ? "http://127.0.0.1:\(port)" : "ws://127.0.0.1:\(port)"
}

@Suite("graceful shutdown through a ServiceGroup, seen by the Swift client")
struct LifecycleShutdownTests {
    static let transformers: [PrimusTransformer] = [.websockets, .engineIO]

    @Test("reconnectOnShutdown false: the client gets primus::server::close and stays ended", arguments: transformers)
    func staysEnded(transformer: PrimusTransformer) async throws {
        let served = try await ServedPrimus.start(transformer: transformer, reconnectOnShutdown: false)
        let client = try PrimusClient(url(transformer, served.port), configuration: clientConfiguration(transformer))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        try await served.stop()
        try await recorder.waitFor("end")
        // A server back on the same port is not tried: the client was told the server closed.
        let again = try await ServedPrimus.start(port: served.port, transformer: transformer, reconnectOnShutdown: false)
        try await Task.sleep(for: .milliseconds(300))  // several reconnect delays
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(recorder.count(of: "open") == 1)
        #expect(again.primus.connected == 0)
        try await again.stop()
    }

    @Test("checklist 96: reconnectOnShutdown true: the client schedules a reconnect and comes back to the restarted server", arguments: transformers)
    func reconnects(transformer: PrimusTransformer) async throws {
        let served = try await ServedPrimus.start(transformer: transformer, reconnectOnShutdown: true)
        let client = try PrimusClient(url(transformer, served.port), configuration: clientConfiguration(transformer))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        try await served.stop()
        try await recorder.waitFor("reconnect scheduled")
        #expect(recorder.count(of: "end") == 0)
        let again = try await ServedPrimus.start(port: served.port, transformer: transformer, reconnectOnShutdown: true)
        try await recorder.waitFor("open", count: 2)
        try await eventually("the client is back") { again.primus.connected == 1 }
        client.end()
        try await again.stop()
    }
}
