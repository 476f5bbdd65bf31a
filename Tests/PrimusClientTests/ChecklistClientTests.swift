import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// A Primus server on loopback for the checklist items, running `transformer` (`websockets` or
/// `engine.io`): `configure` and `setup` shape it; after `setup`'s handlers it records its sparks
/// and what they receive, and echoes (unless `echo` is false), unless `record` is false (a spark
/// has one message reader). Stopping drops every spark.
final class ChecklistServer: Sendable {
    let primus: Primus
    let transformer: String
    let host: String
    let port: Int
    private let task: Task<Void, Never>
    private let state = NIOLockedValueBox<(received: [JSONValue], sparks: [Spark])>(([], []))

    private init(primus: Primus, transformer: String, host: String, port: Int, task: Task<Void, Never>) {
        self.primus = primus
        self.transformer = transformer
        self.host = host
        self.port = port
        self.task = task
    }

    static func start(
        _ transformer: String,
        host: String = "127.0.0.1",
        echo: Bool = true,
        record: Bool = true,
        configure: (inout PrimusConfiguration) -> Void = { _ in },
        setup: (Primus) -> Void = { _ in }
    ) async throws -> ChecklistServer {
        var configuration = try PrimusConfiguration(transformer: transformer)
        configure(&configuration)
        let primus = Primus(configuration: configuration)
        setup(primus)
        let (ports, continuation) = AsyncStream<Int>.makeStream()
        let server = PrimusHTTPServer(primus: primus, host: host, port: 0, onListening: { continuation.yield($0.port ?? 0) })
        let task = Task {
            defer { continuation.finish() }
            try? await server.run()
        }
        var iterator = ports.makeAsyncIterator()
        guard let bound = await iterator.next() else {
            throw PrimusError(code: .connectionFailed, message: "checklist server could not listen on \(host)")
        }
        let started = ChecklistServer(primus: primus, transformer: transformer, host: host, port: bound, task: task)
        guard record else { return started }
        primus.onConnection { [weak started] spark in
            started?.state.withLockedValue { $0.sparks.append(spark) }
            spark.onMessage { [weak started] message in
                started?.state.withLockedValue { $0.received.append(message.value) }
                if echo { spark.write(message.value) }
            }
        }
        return started
    }

    /// The URL a client of this transformer is given (IPv6 hosts in brackets).
    var url: String {
        let scheme = transformer == "engine.io" ? "http" : "ws"
        let authority = host.contains(":") ? "[\(host)]" : host
        return "\(scheme)://\(authority):\(port)"
    }

    var received: [JSONValue] { state.withLockedValue { $0.received } }
    var sparks: [Spark] { state.withLockedValue { $0.sparks } }

    /// A client of this server's transformer, with short delays, shaped by `adjust`.
    func client(_ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }) throws -> PrimusClient {
        let transport = try PrimusClientTransports.named(transformer)
        return try PrimusClient(url, configuration: fastConfiguration {
            $0.transport = transport
            adjust(&$0)
        })
    }

    /// Waits for the `count`th spark.
    func spark(_ count: Int = 1, timeout: Duration = .seconds(10)) async throws -> Spark {
        try await eventually("spark #\(count) connects", timeout: timeout) { self.sparks.count >= count }
        return sparks[count - 1]
    }

    func stop() async {
        task.cancel()
        await task.value
    }
}

/// Values kept from any thread.
private final class Kept<Element: Sendable>: Sendable {
    private let box = NIOLockedValueBox<[Element]>([])
    func append(_ element: Element) { box.withLockedValue { $0.append(element) } }
    var all: [Element] { box.withLockedValue { $0 } }
    var count: Int { box.withLockedValue { $0.count } }
}

private func data(_ recorder: EventRecorder) -> [PrimusClientMessage] {
    recorder.events.compactMap { if case .data(let message) = $0 { return message } else { return nil } }
}

private func states(_ recorder: EventRecorder) -> [PrimusClient.ReadyState] {
    recorder.events.compactMap { if case .readyStateChange(let state) = $0 { return state } else { return nil } }
}

/// The section 6 checklist items of primus-v8.md that no other suite names, run with the Swift
/// client against our server, once per transformer.
@Suite("checklist: the Swift client and our server, on both transformers", .timeLimit(.minutes(2)))
struct ChecklistClientTests {
    static let transformers = ["websockets", "engine.io"]

    // MARK: - Middleware seen from a client (28-30)

    @Test("checklist 28: a middleware layer that fails prevents the connection; the client (strategy none) errors and ends", arguments: transformers)
    func failingMiddleware(transformer: String) async throws {
        struct Broken: Error {}
        let connections = Kept<String>()
        let server = try await ChecklistServer.start(transformer, setup: { primus in
            primus.use(PrimusMiddleware(name: "broken") { _ in throw Broken() })
            primus.onConnection { connections.append($0.id) }
        })
        defer { Task { await server.stop() } }
        let client = try server.client { $0.strategy = .none }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(recorder.lifecycle.first == "error")
        #expect(recorder.lifecycle.last == "end")
        #expect(recorder.count(of: "open") == 0)
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(connections.count == 0)
        #expect(client.readyState == .closed)
    }

    @Test("checklist 29: a slow middleware layer (500 ms) and a client timeout of 250 ms without the timeout strategy: timeout, then end", arguments: transformers)
    func slowMiddlewareEnds(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer, setup: { primus in
            primus.use(PrimusMiddleware.asynchronous(name: "slow") { _ in
                try await Task.sleep(for: .milliseconds(500))
                return .next
            })
        })
        defer { Task { await server.stop() } }
        let client = try server.client {
            $0.timeout = .milliseconds(250)
            $0.strategy = [.disconnect, .online]
        }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(recorder.lifecycle.first == "timeout")
        #expect(recorder.lifecycle.last == "end")
        #expect(recorder.count(of: "open") == 0)
        #expect(recorder.count(of: "reconnect scheduled") == 0)
    }

    @Test("checklist 30: with a 50 ms timeout and the default strategy, a slow middleware layer gives timeout, reconnect scheduled, reconnect", arguments: transformers)
    func slowMiddlewareReconnects(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer, setup: { primus in
            primus.use(PrimusMiddleware.asynchronous(name: "slow") { _ in
                try await Task.sleep(for: .milliseconds(500))
                return .next
            })
        })
        defer { Task { await server.stop() } }
        let client = try server.client { $0.timeout = .milliseconds(50) }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("reconnect", timeout: .seconds(10))
        #expect(Array(recorder.lifecycle.prefix(3)) == ["timeout", "reconnect scheduled", "reconnect"])
        client.end()
        try await recorder.waitFor("end")
    }

    // MARK: - Authorization (35)

    @Test("checklist 35: a delayed authorization that accepts lets the connection open; writes made before open arrive", arguments: transformers)
    func delayedAuthorizationDeliversEarlyWrites(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer, setup: { primus in
            primus.authorize { _ in try await Task.sleep(for: .milliseconds(20)) }
        })
        defer { Task { await server.stop() } }
        let client = try server.client { $0.manual = true }
        let recorder = EventRecorder(client)
        for word in ["first", "second"] { client.write(.string(word)) }
        client.open()
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await eventually("both writes arrive", timeout: .seconds(10)) { server.received.count >= 2 }
        #expect(server.received == ["first", "second"])
        client.end()
    }

    // MARK: - Client lifecycle (54-65)

    @Test("checklist 54, 58 and 60: manual waits for open(); readyState closed, opening, open, closed; three readyStateChange; options kept", arguments: transformers)
    func manualOpenAndReadyStates(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client {
            $0.manual = true
            $0.timeout = .seconds(50)
        }
        let recorder = EventRecorder(client)
        #expect(client.readyState == .closed)
        try await Task.sleep(for: .milliseconds(200))
        #expect(server.primus.connected == 0)
        #expect(recorder.names.isEmpty)
        client.open()
        try await recorder.waitFor("open", timeout: .seconds(10))
        #expect(client.readyState == .open)
        #expect(client.configuration.timeout == .seconds(50))
        client.end()
        try await recorder.waitFor("end")
        #expect(states(recorder) == [.opening, .open, .closed])
        #expect(recorder.names == ["readyStateChange", "readyStateChange", "open", "readyStateChange", "close", "end"])
    }

    @Test("checklist 55: a literal IPv6 URL connects", arguments: transformers)
    func ipv6(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer, host: "::1")
        defer { Task { await server.stop() } }
        #expect(server.url.contains("[::1]"))
        let client = try server.client()
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        client.write("over IPv6")
        try await recorder.waitFor("data", timeout: .seconds(10))
        #expect(data(recorder).map(\.value) == ["over IPv6"])
        #expect(try await server.spark().address.ip == "::1")
        client.end()
    }

    @Test("checklist 56 and 57: strategy none; a dead server gives error and end, nothing thrown", arguments: transformers)
    func deadServer(transformer: String) async throws {
        #expect(ReconnectStrategy.default == [.disconnect, .online, .timeout])
        #expect(ReconnectStrategy.none.isEmpty)
        let gone = try ClosedPort()
        defer { withExtendedLifetime(gone) {} }
        let scheme = transformer == "engine.io" ? "http" : "ws"
        let transport = try PrimusClientTransports.named(transformer)
        let client = try PrimusClient("\(scheme)://127.0.0.1:\(gone.port)", configuration: fastConfiguration {
            $0.transport = transport
            $0.strategy = .none
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(recorder.lifecycle.first == "error")
        #expect(recorder.lifecycle.last == "end")
        #expect(recorder.count(of: "reconnect scheduled") == 0)
    }

    @Test("checklist 62 and 75: after the server ends the spark the client ends without reconnecting; open() connects again", arguments: transformers)
    func serverEndThenOpen(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client()
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().end()
        try await recorder.waitFor("end", timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(150))  // several reconnect delays
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        client.open()
        try await recorder.waitFor("open", count: 2, timeout: .seconds(10))
        client.write("again")
        try await eventually("the second spark echoes", timeout: .seconds(10)) { data(recorder).count == 1 }
        #expect(try await server.spark(2).id != server.spark(1).id)
        client.end()
    }

    @Test("checklist 63: end() right after construction, then open() and end() inside end: two ends, no crash", arguments: transformers)
    func endInsideEnd(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client()
        let recorder = EventRecorder(client)
        let ends = Kept<Bool>()
        client.onEnd { [weak client] in
            ends.append(true)
            if ends.count == 1 {
                client?.open()
                client?.end()
            }
        }
        client.end()
        try await recorder.waitFor("end", count: 2, timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(100))
        #expect(recorder.count(of: "end") == 2)
        #expect(client.readyState == .closed)
    }

    @Test("checklist 64 and 65: end() announces close and end once, however often called, and never reconnects", arguments: transformers)
    func clientEnd(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client()
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        client.end()
        client.end()
        try await recorder.waitFor("end")
        client.end()
        try await Task.sleep(for: .milliseconds(150))  // several reconnect delays
        #expect(recorder.lifecycle == ["open", "close", "end"])
    }

    // MARK: - Messaging (66-81)

    @Test("checklist 66, 69 and 70: echo round trip with the raw message; UTF-8 in order; 0 round-trips and spark.end(0) delivers 0 first", arguments: transformers)
    func echoUTF8AndZero(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client { $0.strategy = .none }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        let values: [JSONValue] = [["echo": "pong"], "pongРУССКИЙ", "€€€", 0]
        for value in values { client.write(value) }
        try await eventually("echoes", timeout: .seconds(10)) { data(recorder).count >= values.count }
        let messages = data(recorder)
        #expect(messages.map(\.value) == values)
        #expect(messages.map(\.raw.string) == [#"{"echo":"pong"}"#, #""pongРУССКИЙ""#, #""€€€""#, "0"])
        try await server.spark().end(0)
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(data(recorder).last?.value == 0)
        #expect(data(recorder).count == values.count + 1)
    }

    @Test("checklist 71, 98 and 99: connection before data; an async handler holds the spark's messages, delivered after it in order", arguments: transformers)
    func asyncConnectionHandler(transformer: String) async throws {
        let events = Kept<String>()
        let server = try await ChecklistServer.start(transformer, record: false, setup: { primus in
            primus.onConnection { _ async in
                events.append("connection")
                try? await Task.sleep(for: .milliseconds(200))
                events.append("handler ends")
            }
            primus.onConnection { spark in
                events.append("later handler")
                spark.onMessage { events.append($0.value.stringValue ?? "?") }
            }
        })
        defer { Task { await server.stop() } }
        let client = try server.client()
        for word in ["hello", "in", "order"] { client.write(.string(word)) }
        try await eventually("three messages", timeout: .seconds(10)) { events.count >= 6 }
        #expect(events.all == ["connection", "handler ends", "later handler", "hello", "in", "order"])
        client.end()
    }

    @Test("checklist 72: the spark's end handler runs when the client ends", arguments: transformers)
    func sparkEndsWhenClientEnds(transformer: String) async throws {
        let ended = Kept<String>()
        let server = try await ChecklistServer.start(transformer, setup: { primus in
            primus.onConnection { spark in spark.onEnd { ended.append(spark.id) } }
        })
        defer { Task { await server.stop() } }
        let client = try server.client()
        let id = try await client.id()
        client.end()
        try await eventually("the spark ends", timeout: .seconds(10)) { ended.count == 1 }
        #expect(ended.all == [id])
    }

    @Test("checklist 74, 76 and 77: the spark has the query, headers, the client's ephemeral port, and forwarded addresses", arguments: transformers)
    func sparkRequestDetails(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let transport = try PrimusClientTransports.named(transformer)
        let direct = try PrimusClient(server.url + "/?foo=bar", configuration: fastConfiguration { $0.transport = transport })
        _ = try await direct.id()
        let spark = try await server.spark()
        #expect(spark.query["foo"] == "bar")
        #expect(!spark.headers["host"].isEmpty)
        if transformer == "websockets" { #expect(spark.headers["connection"].first?.lowercased() == "upgrade") }
        #expect(spark.address.ip == "127.0.0.1")
        #expect(spark.address.port != 0 && spark.address.port != server.port)
        try await Task.sleep(for: .milliseconds(100))
        #expect(spark.query["foo"] == "bar" && !spark.request.headers["host"].isEmpty)  // still there later
        direct.end()

        let forwarded = try server.client {
            $0.headers = ["x-forwarded-for": "13.3.37.1,12.12.12.12", "x-forwarded-port": "9083,1334"]
        }
        _ = try await forwarded.id()
        let proxied = try await server.spark(2)
        #expect(proxied.address.ip == "13.3.37.1")
        #expect(proxied.address.port == 9083)
        forwarded.end()
    }

    @Test("checklist 78: writing to a spark after end, at once and later, neither throws nor sends", arguments: transformers)
    func writeAfterEnd(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client { $0.strategy = .none }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        let spark = try await server.spark()
        spark.end()
        spark.write("at once")
        try await recorder.waitFor("end", timeout: .seconds(10))
        spark.write("later")
        try await Task.sleep(for: .milliseconds(100))
        #expect(data(recorder).isEmpty)
    }

    @Test("checklist 80: with maxLength 5 a client writing 'abcdef' is not heard and ends (strategy none)", arguments: transformers)
    func maxLength(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer, configure: { $0.maxLength = 5 })
        defer { Task { await server.stop() } }
        // Engine.IO on polling: its upgrade probe ("2probe") would itself be over 5 bytes.
        let client = try server.client {
            $0.strategy = .none
            if transformer == "engine.io" { $0.transport = EngineIOClientTransport(websockets: false) }
        }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        client.write("abcdef")
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(server.received.isEmpty)
    }

    @Test("checklist 81: the client's id is its spark's id", arguments: transformers)
    func id(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client()
        #expect(try await client.id() == (try await server.spark()).id)
        client.end()
    }

    // MARK: - Server message transforms (88-89)

    @Test("checklist 88 and 89: server transforms rewrite and swallow, both ways", arguments: transformers)
    func serverTransforms(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer, setup: { primus in
            primus.transform(.incoming) { packet in
                packet.data == "drop in" ? .swallow : .pass(["in": packet.data])
            }
            primus.transform(.outgoing) { packet in
                packet.data["in"] == "drop out" ? .swallow : .pass(["out": packet.data])
            }
        })
        defer { Task { await server.stop() } }
        let client = try server.client()
        let recorder = EventRecorder(client)
        for word in ["one", "drop in", "drop out", "two"] { client.write(.string(word)) }
        try await eventually("two echoes", timeout: .seconds(10)) { data(recorder).count >= 2 }
        try await Task.sleep(for: .milliseconds(100))
        #expect(server.received == [["in": "one"], ["in": "drop out"], ["in": "two"]])
        #expect(data(recorder).map(\.value) == [["out": ["in": "one"]], ["out": ["in": "two"]]])
        client.end()
    }

    // MARK: - Reconnect (91-95)

    @Test("checklist 91: spark.end(reconnect: true) with strategy none: no reconnect, the client ends", arguments: transformers)
    func reconnectWithoutStrategy(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client { $0.strategy = .none }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().end(reconnect: true)
        try await recorder.waitFor("end", timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(150))
        #expect(recorder.lifecycle == ["open", "close", "end"])
        #expect(server.sparks.count == 1)
    }

    @Test("checklist 92: end() inside reconnect scheduled stops the procedure", arguments: transformers)
    func endInsideReconnectScheduled(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        // A delay the end() (which acts right after the announcement, on the client's loop)
        // beats even while the whole suite loads the machine's cores.
        let client = try server.client { $0.reconnect.minDelay = .seconds(2) }
        let recorder = EventRecorder(client)
        client.on { [weak client] event in
            if case .reconnectScheduled = event { client?.end() }
        }
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().end(reconnect: true)
        try await recorder.waitFor("end", timeout: .seconds(10))
        try await Task.sleep(for: .milliseconds(300))
        #expect(recorder.lifecycle == ["open", "close", "reconnect scheduled", "end"])
        #expect(server.sparks.count == 1)
    }

    @Test("checklist 93 and 95: a reconnect announces its attempt (number, delay within min and max), then reconnected, then open", arguments: transformers)
    func reconnectAttempt(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        defer { Task { await server.stop() } }
        let client = try server.client {
            $0.reconnect.minDelay = .milliseconds(50)
            $0.reconnect.maxDelay = .milliseconds(400)
        }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().end(reconnect: true)
        try await recorder.waitFor("open", count: 2, timeout: .seconds(10))
        #expect(recorder.lifecycle == ["open", "close", "reconnect scheduled", "reconnect", "reconnected", "open"])
        let scheduled = recorder.events.compactMap { if case .reconnectScheduled(let attempt) = $0 { return attempt } else { return nil } }
        let attempt = try #require(scheduled.first)
        #expect(attempt.number == 1)
        #expect(attempt.delay >= .milliseconds(50) && attempt.delay <= .milliseconds(400))
        client.end()
    }

    @Test("checklist 94: shutdown(reconnect: true) of a server that stays down ends in reconnect failed after the retries", arguments: transformers)
    func reconnectFailed(transformer: String) async throws {
        let server = try await ChecklistServer.start(transformer)
        let client = try server.client {
            $0.reconnect.minDelay = .milliseconds(50)
            $0.reconnect.maxDelay = .milliseconds(200)
            $0.reconnect.retries = 4
        }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        await server.primus.shutdown(reconnect: true)
        await server.stop()
        try await recorder.waitFor("reconnect failed", timeout: .seconds(20))
        #expect(recorder.count(of: "reconnect") == 4)
        #expect(recorder.lifecycle.suffix(2) == ["end", "reconnect failed"])
    }

    // MARK: - Plugins (102)

    @Test("checklist 102: an emitter-style plugin (an incoming transform and a client part) delivers custom events on the spark", arguments: transformers)
    func emitterPlugin(transformer: String) async throws {
        let emitted = Kept<String>()
        let emitter = PrimusPlugin(
            name: "emitter",
            server: { primus in
                primus.transform(.incoming) { packet in
                    guard case .array(let emit)? = packet.data["emit"], let name = emit.first?.stringValue else { return .pass(packet.data) }
                    emitted.append("\(packet.spark.id) \(name) \(emit.dropFirst().compactMap(\.stringValue).joined(separator: ","))")
                    return .swallow
                }
            },
            client: "function emitter(primus) { primus.$emit = function () { return primus.write({ emit: Array.prototype.slice.call(arguments) }); }; }"
        )
        let server = try await ChecklistServer.start(transformer, setup: { _ = try? $0.plugin(emitter) })
        defer { Task { await server.stop() } }
        #expect(server.primus.library().contains("primus.$emit"))
        let client = try server.client()
        let recorder = EventRecorder(client)
        let id = try await client.id()
        client.write(["emit": ["greet", "hello", "world"]])
        client.write("plain")
        try await recorder.waitFor("data", timeout: .seconds(10))
        #expect(emitted.all == ["\(id) greet hello,world"])
        #expect(server.received == ["plain"])
        #expect(data(recorder).map(\.value) == ["plain"])
        client.end()
    }
}
