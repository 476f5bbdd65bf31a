import PrimusCore
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PrimusRedis
import Testing

/// A real `redis-server` on a free loopback port, started for one test and killed at its end.
/// A missing binary fails the test: the live tests must never silently pass without Redis.
final class RedisServerProcess {
    let port: Int
    private let extraArguments: [String]
    private var process: Process?

    static let binary: String? = ["/usr/bin/redis-server", "/usr/local/bin/redis-server", "/opt/homebrew/bin/redis-server"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Starts a server (optionally with `--requirepass` and other flags) and waits until it
    /// accepts connections.
    init(password: String? = nil, arguments: [String] = [], tls: (certificate: String, key: String)? = nil) async throws {
        port = try await Self.freePort()
        var extra = arguments
        if let password { extra += ["--requirepass", password] }
        if let tls {
            // TLS only: the plain port is off, the TLS port is the one the test uses.
            extra += [
                "--port", "0", "--tls-port", "\(port)", "--tls-cert-file", tls.certificate, "--tls-key-file", tls.key,
                "--tls-ca-cert-file", tls.certificate, "--tls-auth-clients", "no",
            ]
        }
        extraArguments = extra
        try await start()
    }

    var url: String { "redis://127.0.0.1:\(port)" }

    func start() async throws {
        let binary = try #require(
            Self.binary,
            "redis-server is not installed (/usr/bin/redis-server): the live Redis tests need it (apt-get install redis-server)"
        )
        let process = Process()
        process.executableURL = URL(fileURLWithPath: binary)
        process.arguments = [
            "--port", "\(port)", "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
            "--daemonize", "no", "--loglevel", "warning",
        ] + extraArguments
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        self.process = process
        try await eventually("redis-server on port \(port) accepts connections") {
            try #require(process.isRunning, "redis-server exited at start (status \(process.terminationStatus))")
            return await Self.accepts(port: port)
        }
    }

    /// SIGKILL, as a crash would, and waits for the exit.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGCONT)
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// Freezes the server (SIGSTOP): connections stay open, nothing is answered.
    func pause() {
        if let process { Foundation.kill(process.processIdentifier, SIGSTOP) }
    }

    func resume() {
        if let process { Foundation.kill(process.processIdentifier, SIGCONT) }
    }

    deinit { kill() }

    private static func freePort() async throws -> Int {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .bind(host: "127.0.0.1", port: 0).get()
        let port = channel.localAddress?.port ?? 0
        try await channel.close()
        return port
    }

    private static func accepts(port: Int) async -> Bool {
        guard let channel = try? await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .connectTimeout(.seconds(1))
            .connect(host: "127.0.0.1", port: port).get()
        else { return false }
        try? await channel.close()
        return true
    }
}

/// Polls `condition` until it holds, failing after `timeout` (generous: the machine is shared).
func eventually(
    _ what: String,
    timeout: Duration = .seconds(30),
    sourceLocation: SourceLocation = #_sourceLocation,
    _ condition: () async throws -> Bool
) async throws {
    let clock = ContinuousClock()
    let deadline = clock.now + timeout
    while clock.now < deadline {
        if try await condition() { return }
        try await Task.sleep(for: .milliseconds(20))
    }
    Issue.record("timed out waiting until \(what)", sourceLocation: sourceLocation)
    throw RedisTestTimeout(what: what)
}

struct RedisTestTimeout: Error {
    var what: String
}

/// Records what a client or subscriber reports, for the tests to poll.
final class StateRecorder: Sendable {
    private let box = NIOLockedValueBox<[String]>([])

    var callback: @Sendable (RedisConnectionState) -> Void {
        { [box] state in
            box.withLockedValue {
                switch state {
                case .connected: $0.append("connected")
                case .disconnected(let error): $0.append("disconnected: \(error)")
                }
            }
        }
    }

    var states: [String] { box.withLockedValue { $0 } }
    var connectedCount: Int { states.filter { $0 == "connected" }.count }
}

/// Collects pub/sub deliveries in the order they arrive.
final class MessageRecorder: Sendable {
    private let box = NIOLockedValueBox<[(String, String)]>([])
    private let offLoop = NIOLockedValueBox(0)

    var callback: @Sendable (String, ByteBuffer) -> Void {
        { [box, offLoop] channel, payload in
            if MultiThreadedEventLoopGroup.currentEventLoop == nil { offLoop.withLockedValue { $0 += 1 } }
            box.withLockedValue { $0.append((channel, String(buffer: payload))) }
        }
    }

    var messages: [(String, String)] { box.withLockedValue { $0 } }
    /// Deliveries that did not run on an event loop (must stay 0).
    var deliveriesOffLoop: Int { offLoop.withLockedValue { $0 } }
}

/// A configuration for `url` with test-friendly reconnect delays.
func testConfiguration(_ url: String, commandTimeout: TimeAmount = .seconds(20)) throws -> RedisConfiguration {
    var configuration = try RedisConfiguration(url: url)
    configuration.reconnect = (.milliseconds(50), .milliseconds(500))
    configuration.commandTimeout = commandTimeout
    configuration.connectTimeout = .seconds(5)
    return configuration
}

/// A bulk string reply holding `text`.
func bulk(_ text: String) -> RESPValue { .bulkString(ByteBuffer(string: text)) }
