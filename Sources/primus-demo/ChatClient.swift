import Foundation
import PrimusClient
import PrimusCore
import Synchronization

/// `primus-demo --client URL`: a terminal chat client. Each line read from standard input is
/// written as a JSON string; each message received is printed on standard output as one line of
/// JSON; what happens to the connection goes to standard error. Lines typed while the server is
/// away are buffered and delivered after the reconnect. End of input ends the client.
///
/// Without `--transformer` and `--parser` it asks the server (`<pathname>/spec`) which it
/// speaks, as a browser gets them from `primus.js`: a user who points it at an engine.io demo
/// should not get `400` and endless reconnects. If the server cannot be asked (it is down), it
/// says so and uses websockets and JSON.
enum ChatClient {
    static func run(url: String, transformer: String?, parser: String?) async throws {
        var configuration = try await configuration(url: url, transformer: transformer, parser: parser)
        // A chat client should outlive long restarts: keep trying, at most every 5 seconds.
        configuration.reconnect.retries = 10_000
        configuration.reconnect.maxDelay = .seconds(5)
        let client = try PrimusClient(url, configuration: configuration)
        let events = client.events
        let lines = standardInputLines()
        let inputFinished = Flag()

        // Runs until the client ends: the server closed it, every reconnect failed, or the input
        // finished and whatever it buffered was delivered.
        await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                for await event in events {
                    switch event {
                    case .data(let message):
                        StandardOutput.line(message.value.description)
                    case .open:
                        log("connected to \(url)")
                        if inputFinished.isSet { await endSoon(client) }
                    case .close:
                        log("disconnected")
                    case .offline:
                        log("the server stopped pinging")
                    case .reconnectScheduled(let attempt):
                        log("reconnect attempt \(attempt.number) in \(attempt.delay)")
                    case .reconnected:
                        log("reconnected")
                    case .error(let error):
                        log("error: \(error)")
                    case .reconnectFailed:
                        log("giving up")
                    case .end:
                        log("ended")
                        return true
                    default:
                        break
                    }
                }
                return true
            }
            group.addTask {
                for await line in lines {
                    client.write(.string(line))
                }
                inputFinished.set()
                // Not open: lines are buffered; the `open` handler above ends after delivering them.
                if client.readyState == .open { await endSoon(client) }
                return false
            }
            while let clientEnded = await group.next() {
                if clientEnded { break }
            }
            group.cancelAll()
        }
    }

    /// Ends after a moment, so replies to the last lines are still printed.
    private static func endSoon(_ client: PrimusClient) async {
        try? await Task.sleep(for: .milliseconds(300))
        client.end()
    }

    /// The named transformer and parser; for those not named, the server's (its spec).
    static func configuration(url: String, transformer: String?, parser: String?) async throws -> PrimusClientConfiguration {
        if let transformer, let parser { return try PrimusClientConfiguration(transformer: transformer, parser: parser) }
        var configuration: PrimusClientConfiguration
        do {
            configuration = try await PrimusClient.discover(url)
            log("the server speaks \(configuration.transport.name) with the \(configuration.parser.name) parser")
        } catch {
            log("could not ask the server which transformer and parser it speaks (\(error)); using websockets and json (--transformer and --parser choose)")
            configuration = PrimusClientConfiguration()
        }
        if let transformer { configuration.transport = try PrimusClientTransports.named(transformer) }
        if let parser { configuration.parser = try PrimusParsers.named(parser) }
        return configuration
    }

    private static func log(_ text: String) {
        FileHandle.standardError.write(Data((text + "\n").utf8))
    }

    /// Standard input, line by line, read on a thread of its own (blocking reads must not occupy
    /// the few threads Swift concurrency runs on).
    private static func standardInputLines() -> AsyncStream<String> {
        let (stream, continuation) = AsyncStream<String>.makeStream()
        Thread.detachNewThread {
            while let line = readLine() { continuation.yield(line) }
            continuation.finish()
        }
        return stream
    }
}

/// A one-way flag shared by the input and event tasks.
private final class Flag: Sendable {
    private let value = Atomic<Bool>(false)
    var isSet: Bool { value.load(ordering: .acquiring) }
    func set() { value.store(true, ordering: .releasing) }
}
