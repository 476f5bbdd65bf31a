import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusServer
import Synchronization
import Testing

/// A real Primus server on 127.0.0.1 that records what its sparks receive.
final class LoopbackServer: Sendable {
    struct Received: Sendable, Equatable {
        var sparkID: String
        var value: JSONValue
    }

    let primus: Primus
    let port: Int
    private let task: Task<Void, Never>
    private let state = NIOLockedValueBox<(received: [Received], sparks: [Spark])>(([], []))

    private init(primus: Primus, port: Int, task: Task<Void, Never>) {
        self.primus = primus
        self.port = port
        self.task = task
    }

    /// Starts a server; `port: 0` picks a free one.
    static func start(
        port: Int = 0,
        pingInterval: Duration? = .seconds(30),
        echo: Bool = false,
        transformer: PrimusTransformer = .websockets,
        engineIO: EngineIOOptions = EngineIOOptions(),
        parser: any PrimusParser = JSONParser(),
        log: LogRecorder? = nil,
        configure: (inout PrimusConfiguration) -> Void = { _ in }
    ) async throws -> LoopbackServer {
        var configuration = PrimusConfiguration()
        configuration.parser = parser
        configuration.pingInterval = pingInterval
        configuration.transformer = transformer
        if transformer == .engineIO { configuration.transformer = .engineIO(engineIO) }
        configure(&configuration)
        let primus = Primus(configuration: configuration, logger: log?.logger ?? Logger(label: "primus"))
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = PrimusHTTPServer(primus: primus, host: "127.0.0.1", port: port, onListening: { address in
            continuation.yield(address.port ?? 0)
        })
        let task = Task {
            defer { continuation.finish() }
            try? await server.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            throw PrimusError(code: .connectionFailed, message: "test server could not listen on port \(port)")
        }
        let loopback = LoopbackServer(primus: primus, port: bound, task: task)
        primus.onConnection { [weak loopback] spark in
            loopback?.state.withLockedValue { $0.sparks.append(spark) }
            spark.onMessage { [weak loopback] message in
                loopback?.state.withLockedValue { $0.received.append(Received(sparkID: spark.id, value: message.value)) }
                if echo { spark.write(message.value) }
            }
        }
        return loopback
    }

    var url: String { "ws://127.0.0.1:\(port)" }
    /// The `http:` URL, as Engine.IO clients are given.
    var httpURL: String { "http://127.0.0.1:\(port)" }
    var received: [Received] { state.withLockedValue { $0.received } }
    var receivedValues: [JSONValue] { received.map(\.value) }
    var sparks: [Spark] { state.withLockedValue { $0.sparks } }

    /// Stops listening and drops every spark silently (clients reconnect).
    func stop() async {
        task.cancel()
        await task.value
    }

    /// Waits for the `count`th spark.
    func spark(_ count: Int = 1, timeout: Duration = .seconds(10)) async throws -> Spark {
        try await eventually("spark #\(count) connects", timeout: timeout) { self.sparks.count >= count }
        return sparks[count - 1]
    }
}

/// Records a client's events from its first subscription on.
final class EventRecorder: Sendable {
    private let task: Task<Void, Never>

    init(_ client: PrimusClient) {
        let stream = client.events
        let box = RecordBox()
        task = Task { for await event in stream { box.append(event) } }
        self.box = box
    }

    private let box: RecordBox

    var events: [PrimusClientEvent] { box.events }
    var names: [String] { events.map(\.name) }
    /// Event names without `data` and `readyStateChange`, the skeleton of a lifecycle.
    var lifecycle: [String] { names.filter { $0 != "data" && $0 != "readyStateChange" } }

    func count(of name: String) -> Int { names.filter { $0 == name }.count }

    func waitFor(_ name: String, count: Int = 1, timeout: Duration = .seconds(10)) async throws {
        try await eventually("event \"\(name)\" ×\(count) (saw \(names))", timeout: timeout) { self.count(of: name) >= count }
    }

    deinit { task.cancel() }
}

private final class RecordBox: Sendable {
    private let state = NIOLockedValueBox<[PrimusClientEvent]>([])
    func append(_ event: PrimusClientEvent) { state.withLockedValue { $0.append(event) } }
    var events: [PrimusClientEvent] { state.withLockedValue { $0 } }
}

struct TimedOut: Error, CustomStringConvertible {
    var description: String
}

/// Polls `condition` every 5 ms until it holds, or fails the test after `timeout`.
func eventually(_ what: String, timeout: Duration = .seconds(10), _ condition: @Sendable () -> Bool) async throws {
    let deadline = ContinuousClock.now + timeout
    while !condition() {
        guard ContinuousClock.now < deadline else {
            throw TimedOut(description: "timed out waiting for \(what)")
        }
        try await Task.sleep(for: .milliseconds(5))
    }
}

/// A configuration with short delays for loopback tests.
func fastConfiguration(_ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }) -> PrimusClientConfiguration {
    var configuration = PrimusClientConfiguration()
    // Short delays between attempts; connects themselves get time to spare, since a loaded
    // machine (ThreadSanitizer, parallel tests, two cores) can take seconds to finish one. Tests
    // about timeouts set their own.
    configuration.reconnect = .init(minDelay: .milliseconds(20), maxDelay: .milliseconds(200), retries: 30, attemptTimeout: .seconds(5))
    configuration.timeout = .seconds(5)
    adjust(&configuration)
    return configuration
}

/// Keeps what a server logs (trace level included), to see what happened on its side: the
/// Engine.IO transformer logs each upgrade probe and each completed upgrade with the session id.
final class LogRecorder: Sendable {
    struct Entry: Sendable {
        var message: String
        var metadata: [String: String]
    }

    private let entries = NIOLockedValueBox<[Entry]>([])

    var logger: Logger {
        var logger = Logger(label: "primus.test") { _ in RecordingLogHandler(recorder: self) }
        logger.logLevel = .trace
        return logger
    }

    fileprivate func append(_ entry: Entry) { entries.withLockedValue { $0.append(entry) } }

    /// Entries whose message is `message`, for the Engine.IO session `sid` when given.
    func entries(_ message: String, sid: String? = nil) -> [Entry] {
        entries.withLockedValue { all in
            all.filter { $0.message == message && (sid == nil || $0.metadata["primus.engineio.sid"] == sid) }
        }
    }
}

private struct RecordingLogHandler: LogHandler {
    let recorder: LogRecorder
    var metadata: Logger.Metadata = [:]
    var metadataProvider: Logger.MetadataProvider?
    var logLevel: Logger.Level = .trace

    subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    func log(event: LogEvent) {
        var flat: [String: String] = [:]
        for (key, value) in metadata.merging(event.metadata ?? [:], uniquingKeysWith: { $1 }) { flat[key] = "\(value)" }
        recorder.append(LogRecorder.Entry(message: event.message.description, metadata: flat))
    }
}

/// The client's side of a test relay to the server on `port`: passes the client's bytes on once
/// the server connection is up. `serverSide` makes the handler of the server connection, which
/// decides what reaches the client (and how: coalesced, with headers added).
final class ClientSideRelay: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer

    private let port: Int
    private let serverSide: @Sendable (_ client: any Channel) -> any ChannelHandler
    private var upstream: (any Channel)?
    private var pending: [ByteBuffer] = []

    init(port: Int, serverSide: @escaping @Sendable (_ client: any Channel) -> any ChannelHandler) {
        self.port = port
        self.serverSide = serverSide
    }

    func channelActive(context: ChannelHandlerContext) {
        let client = context.channel
        let serverSide = self.serverSide
        ClientBootstrap(group: context.eventLoop)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(serverSide(client))
                }
            }
            .connect(host: "127.0.0.1", port: port)
            .assumeIsolated()
            .whenComplete { result in
                switch result {
                case .success(let channel):
                    self.upstream = channel
                    for buffer in self.pending { channel.write(buffer, promise: nil) }
                    self.pending = []
                    channel.flush()
                case .failure:
                    client.close(promise: nil)
                }
            }
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let buffer = unwrapInboundIn(data)
        if let upstream {
            upstream.writeAndFlush(buffer, promise: nil)
        } else {
            pending.append(buffer)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        upstream?.close(promise: nil)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension ClientSideRelay: Sendable {}
