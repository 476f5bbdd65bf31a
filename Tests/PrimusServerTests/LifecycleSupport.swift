import Logging
import NIOCore
import NIOPosix
import PrimusCore
import PrimusServer
import ServiceLifecycle
import Testing

/// How a lifecycle test runs the server.
struct ServiceLayout: Sendable, CustomTestStringConvertible {
    /// `Primus` runs as a service of its own, beside the listener.
    var primusAsService = true
    /// `Primus` is listed before the listener (a group shuts down in reverse order).
    var primusFirst = true

    var testDescription: String {
        primusAsService ? (primusFirst ? "Primus then listener" : "listener then Primus") : "listener alone"
    }

    static let all = [
        ServiceLayout(primusAsService: false),
        ServiceLayout(primusAsService: true, primusFirst: true),
        ServiceLayout(primusAsService: true, primusFirst: false),
    ]
}

/// Runs a Primus and its `PrimusHTTPServer` (on a free loopback port) inside a ServiceGroup, as
/// an application would. `body` may trigger the group's graceful shutdown; when it returns, the
/// group is shut down gracefully (if it still runs) and awaited.
func withServiceGroup(
    _ configure: (inout PrimusConfiguration) -> Void = { _ in },
    layout: ServiceLayout = ServiceLayout(),
    reconnectOnShutdown: Bool = true,
    setup: (Primus) -> Void = { _ in },
    _ body: @Sendable (_ port: Int, _ primus: Primus, _ group: ServiceGroup) async throws -> Void
) async throws {
    var configuration = PrimusConfiguration()
    configure(&configuration)
    let primus = Primus(configuration: configuration)
    setup(primus)
    let listening = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Int.self)
    var server = PrimusHTTPServer(primus: primus, port: 0, onListening: { listening.succeed($0.port ?? 0) })
    server.reconnectOnShutdown = reconnectOnShutdown
    var services: [any Service] = [server]
    if layout.primusAsService {
        if layout.primusFirst { services.insert(primus, at: 0) } else { services.append(primus) }
    }
    var logger = Logger(label: "primus.test.group")
    logger.logLevel = .critical
    let group = ServiceGroup(services: services, logger: logger)
    try await withThrowingTaskGroup(of: Void.self) { tasks in
        tasks.addTask { try await group.run() }
        let port = try await listening.futureResult.get()
        do {
            try await body(port, primus, group)
        } catch {
            tasks.cancelAll()
            throw error
        }
        await group.triggerGracefulShutdown()
        try await tasks.waitForAll()
    }
}

/// The timestamp of a `"primus::ping::<ms>"` text message, `nil` for any other message.
func pingTimestamp(_ text: String) -> Int64? {
    guard text.hasPrefix(#""primus::ping::"#), text.hasSuffix(#"""#) else { return nil }
    return Int64(text.dropFirst(#""primus::ping::"#.count).dropLast())
}

/// Polls `condition` every 5 ms until it holds; throws `TimedOut` after `timeout`.
func waitUntil(timeout: Duration = .seconds(10), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else { throw TimedOut() }
        try await Task.sleep(for: .milliseconds(5))
    }
}
