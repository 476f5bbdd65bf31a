import Foundation
import PrimusClient
import PrimusCore
import Synchronization

/// `primus-demo --client URL`: a terminal chat client. Each line read from standard input is
/// written as a JSON string; each message received is printed on standard output as one line of
/// JSON; what happens to the connection goes to standard error. Lines typed while the server is
/// away are buffered and delivered after the reconnect. End of input ends the client.
enum ChatClient {
    static func run(url: String, transformer: String, parser: String) async throws {
        var configuration = try PrimusClientConfiguration(transformer: transformer, parser: parser)
        // A chat client should outlive long restarts: keep trying, at most every 5 seconds.
        configuration.reconnect.retries = 10_000
        configuration.reconnect.maxDelay = .seconds(5)
        let client = try PrimusClient(url, configuration: configuration)
        let events = client.events
        let lines = standardInputLines()
        let inputFinished = Flag()

        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                for await event in events {
                    switch event {
                    case .data(let message):
                        print(message.value.description)
                        fflush(nil)
                    case .open:
                        log("connected to \(url)")
                        if inputFinished.isSet { await endSoon(client) }
                    case .reconnectScheduled(let attempt):
                        log("connection lost; reconnect attempt \(attempt.number) in \(attempt.delay)")
                    case .reconnected:
                        log("reconnected")
                    case .error(let error):
                        log("error: \(error)")
                    case .reconnectFailed:
                        log("giving up")
                    case .end:
                        log("ended")
                        return
                    default:
                        break
                    }
                }
            }
            group.addTask {
                for await line in lines {
                    client.write(.string(line))
                }
                inputFinished.set()
                if client.readyState == .open { await endSoon(client) }
            }
            await group.next()
            group.cancelAll()
        }
    }

    /// Ends after a moment, so replies to the last lines are still printed.
    private static func endSoon(_ client: PrimusClient) async {
        try? await Task.sleep(for: .milliseconds(300))
        client.end()
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
