import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusServer
import Synchronization
import Testing

/// Engine.IO options with a heartbeat a loaded machine keeps up with.
private func engineIOOptions(pingInterval: Duration = .seconds(1), pingTimeout: Duration = .seconds(3)) -> EngineIOOptions {
    var options = EngineIOOptions()
    options.pingInterval = pingInterval
    options.pingTimeout = pingTimeout
    return options
}

private func engineIOServer(
    port: Int = 0,
    pingInterval: Duration? = .seconds(30),
    echo: Bool = false,
    log: LogRecorder? = nil
) async throws -> LoopbackServer {
    try await LoopbackServer.start(
        port: port,
        pingInterval: pingInterval,
        echo: echo,
        transformer: .engineIO,
        engineIO: engineIOOptions(),
        log: log
    )
}

/// A client configuration on Engine.IO; `websockets: false` keeps it on polling.
private func engineIOConfiguration(
    websockets: Bool,
    _ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }
) -> PrimusClientConfiguration {
    fastConfiguration {
        $0.transport = EngineIOClientTransport(websockets: websockets)
        $0.reconnect.attemptTimeout = .seconds(5)
        $0.timeout = .seconds(5)
        adjust(&$0)
    }
}

private func receivedData(_ recorder: EventRecorder) -> [JSONValue] {
    recorder.events.compactMap { if case .data(let message) = $0 { return message.value } else { return nil } }
}

private func errors(_ recorder: EventRecorder) -> [PrimusError] {
    recorder.events.compactMap { if case .error(let error) = $0 { return error } else { return nil } }
}

/// The Swift client over Engine.IO against our own server on loopback: the behaviours of the
/// WebSocket suite, on polling only and with the upgrade. Every wait is bounded and generous.
@Suite("PrimusClient over Engine.IO", .timeLimit(.minutes(2)))
struct EngineIOClientTests {
    @Test(arguments: [false, true])
    func opensAndEchoesJSONValues(websockets: Bool) async throws {
        let server = try await engineIOServer(echo: true)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: websockets))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        let values: [JSONValue] = ["text €", 42, true, .null, ["nested": [1, 2, "three"]]]
        for value in values { client.write(value) }
        try await eventually("echoes", timeout: .seconds(10)) { receivedData(recorder).count >= values.count }
        #expect(receivedData(recorder) == values)
        #expect(server.receivedValues == values)
        client.end()
        try await recorder.waitFor("end")
    }

    @Test(arguments: [false, true])
    func aThousandMessagesArriveInOrderBothWays(websockets: Bool) async throws {
        let server = try await engineIOServer(echo: true)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: websockets))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        for index in 0..<1000 { client.write(.number(Double(index))) }
        try await eventually("1,000 echoes", timeout: .seconds(60)) { receivedData(recorder).count >= 1000 }
        let expected = (0..<1000).map { JSONValue.number(Double($0)) }
        #expect(server.receivedValues == expected)
        #expect(receivedData(recorder) == expected)
        #expect(server.sparks.count == 1)
        client.end()
    }

    @Test("checklist 68 over engine.io: writes made before open arrive once, in order")
    func writesMadeBeforeOpenArriveOnceInOrder() async throws {
        let server = try await engineIOServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: true) { $0.manual = true })
        let recorder = EventRecorder(client)
        for index in 0..<11 { client.write(.number(Double(index))) }
        client.open()
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await eventually("11 messages", timeout: .seconds(10)) { server.received.count >= 11 }
        client.write("marker")
        try await eventually("the marker", timeout: .seconds(10)) { server.received.count >= 12 }
        #expect(server.receivedValues == (0..<11).map { .number(Double($0)) } + ["marker"])
        client.end()
    }

    @Test("checklist 75 over engine.io: the server's spark.end() ends the client without reconnecting", arguments: [false, true])
    func serverEndEndsTheClientWithoutReconnecting(websockets: Bool) async throws {
        let server = try await engineIOServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: websockets))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().end()
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(recorder.lifecycle == ["open", "close", "end"])
        #expect(server.sparks.count == 1)
    }

    @Test("checklist 90 and 93 over engine.io: spark.end(reconnect: true) reconnects; outage writes arrive once", arguments: [false, true])
    func serverEndWithReconnectRecoversAndDeliversOutageWritesOnce(websockets: Bool) async throws {
        let server = try await engineIOServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: websockets) {
            $0.reconnect.minDelay = .milliseconds(150)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        client.write("before")
        try await eventually("before arrives", timeout: .seconds(10)) { server.received.count == 1 }
        try await server.spark().end(reconnect: true)
        try await recorder.waitFor("close", timeout: .seconds(10))
        for word in ["during-1", "during-2", "during-3"] { client.write(.string(word)) }
        try await recorder.waitFor("open", count: 2, timeout: .seconds(10))
        client.write("after")
        try await eventually("after arrives", timeout: .seconds(10)) { server.received.count >= 5 }
        let second = try await server.spark(2)
        #expect(server.receivedValues == ["before", "during-1", "during-2", "during-3", "after"])
        #expect(server.received.dropFirst().allSatisfy { $0.sparkID == second.id })
        #expect(recorder.lifecycle.suffix(5) == ["close", "reconnect scheduled", "reconnect", "reconnected", "open"])
        client.end()
    }

    @Test(arguments: [false, true])
    func aServerRestartOnTheSamePortIsSurvived(websockets: Bool) async throws {
        let first = try await engineIOServer()
        let port = first.port
        let client = try PrimusClient(first.httpURL, configuration: engineIOConfiguration(websockets: websockets) {
            $0.reconnect.minDelay = .milliseconds(30)
            $0.reconnect.maxDelay = .milliseconds(100)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        await first.stop()
        try await recorder.waitFor("reconnect scheduled", timeout: .seconds(10))
        for index in 0..<5 { client.write(.number(Double(index))) }
        let second = try await engineIOServer(port: port)
        defer { Task { await second.stop() } }
        try await recorder.waitFor("open", count: 2, timeout: .seconds(20))
        try await eventually("outage writes arrive", timeout: .seconds(10)) { second.received.count >= 5 }
        client.write("marker")
        try await eventually("the marker", timeout: .seconds(10)) { second.received.count >= 6 }
        #expect(second.receivedValues == (0..<5).map { .number(Double($0)) } + ["marker"])
        #expect(recorder.count(of: "reconnected") == 1)
        #expect(recorder.lifecycle.suffix(2) == ["reconnected", "open"])
        client.end()
    }

    @Test(arguments: [false, true])
    func primusAndEngineIOHeartbeatsKeepTheConnectionAlive(websockets: Bool) async throws {
        // Primus pings every 3 s and drops a spark that has not answered by the next tick; the
        // client gives up after 7 s without a ping; Engine.IO pings every second and gives up
        // 4 s after a ping goes unanswered. Surviving 8 s needs both to flow both ways. (The
        // margins are wide because the client tests also run under ThreadSanitizer, in
        // parallel, on two cores: with 2 s and 3 s the upgraded variant reconnected in about
        // one full run out of three.)
        let server = try await LoopbackServer.start(
            pingInterval: .seconds(3),
            transformer: .engineIO,
            engineIO: engineIOOptions(pingInterval: .seconds(1), pingTimeout: .seconds(4))
        )
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: websockets) {
            $0.pingTimeout = .seconds(7)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        // The behaviour under test is a connection that outlives several heartbeat windows.
        try await Task.sleep(for: .seconds(8))
        client.write("still here")
        try await eventually("the message", timeout: .seconds(10)) { server.received.count == 1 }
        #expect(recorder.lifecycle == ["open"], "\(recorder.events.filter { $0.name != "data" })")
        #expect(server.sparks.count == 1)
        #expect(server.received.first?.sparkID == server.sparks.first?.id)
        client.end()
    }

    @Test func theDefaultModeUpgradesToAWebSocket() async throws {
        let log = LogRecorder()
        let server = try await engineIOServer(echo: true, log: log)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: true))
        let recorder = EventRecorder(client)
        let sid = try await client.id()
        try await eventually("the server sees the upgrade", timeout: .seconds(10)) {
            !log.entries("engine.io upgraded", sid: sid).isEmpty
        }
        client.write("after the upgrade")
        try await recorder.waitFor("data", timeout: .seconds(10))
        #expect(receivedData(recorder) == ["after the upgrade"])
        #expect(log.entries("engine.io upgrade probe", sid: sid).count == 1)
        client.end()
    }

    @Test("checklist 97: websockets false keeps engine.io on polling, and the client still connects")
    func pollingOnlyModeNeverProbesAWebSocket() async throws {
        let log = LogRecorder()
        let server = try await engineIOServer(echo: true, log: log)
        defer { Task { await server.stop() } }
        let polling = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: false))
        let pollingRecorder = EventRecorder(polling)
        let pollingSID = try await polling.id()
        // A default client opened after it probes and upgrades; by the time it has, the
        // polling-only client would have probed too.
        let upgrading = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: true))
        let upgradingSID = try await upgrading.id()
        try await eventually("the other client upgrades", timeout: .seconds(10)) {
            !log.entries("engine.io upgraded", sid: upgradingSID).isEmpty
        }
        for index in 0..<20 { polling.write(.number(Double(index))) }
        try await eventually("20 echoes on polling", timeout: .seconds(10)) { receivedData(pollingRecorder).count >= 20 }
        #expect(log.entries("engine.io upgrade probe", sid: pollingSID).isEmpty)
        #expect(log.entries("engine.io upgraded", sid: pollingSID).isEmpty)
        #expect(pollingSID != upgradingSID)
        polling.end()
        upgrading.end()
    }

    @Test(arguments: [false, true])
    func clientEndClosesTheServerSessionPromptly(websockets: Bool) async throws {
        let server = try await engineIOServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: websockets))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        let spark = try await server.spark()
        client.write("last words")
        client.end()
        try await recorder.waitFor("end")
        // Well within the server's 3 s Engine.IO ping timeout: the client said goodbye.
        try await eventually("the spark ends", timeout: .seconds(2)) { spark.readyState == .closed }
        try await eventually("the session is gone", timeout: .seconds(2)) { server.primus.engineIOSessionCount == 0 }
        #expect(server.receivedValues == ["last words"])
    }

    @Test("checklist 83: discovery reads the server's transformer and parser from the spec and connects with them")
    func discoveryPicksEngineIO() async throws {
        let server = try await engineIOServer()
        defer { Task { await server.stop() } }
        let configuration = try await PrimusClient.discover(server.httpURL, configuration: fastConfiguration())
        #expect(configuration.transport.name == "engine.io")
        let client = try PrimusClient(server.httpURL, configuration: configuration)
        #expect(try await client.id() == (try await server.spark()).id)
        client.end()
    }

    @Test func theTransformerNameSelectsEngineIO() throws {
        let configuration = try PrimusClientConfiguration(transformer: "Engine.IO")
        #expect(configuration.transport.name == "engine.io")
        #expect(PrimusClientTransports.names.contains("engine.io"))
    }

    @Test func anOversizedMessageClosesTheConnectionWithAClearError() async throws {
        let server = try await engineIOServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: engineIOConfiguration(websockets: false) {
            $0.maxMessageLength = 100
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().write(.string(String(repeating: "x", count: 500)))
        try await recorder.waitFor("close", timeout: .seconds(10))
        #expect(errors(recorder).first?.code == .messageTooLarge)
        #expect(receivedData(recorder).isEmpty)
        client.end()
    }
}

// MARK: - A scripted server, for what ours never does

/// What the scripted server does with one request.
private enum ScriptedAnswer: Sendable {
    case respond(HTTPResponseStatus, String)
    /// Holds the request forever, as a hung server would.
    case hang
}

/// A bare HTTP server whose answers a test scripts: handshakes and polls that a real server
/// would never send, or a server that stops answering.
private final class ScriptedServer: Sendable {
    let channel: any Channel
    var port: Int { channel.localAddress?.port ?? 0 }
    var url: String { "http://127.0.0.1:\(port)" }

    private init(channel: any Channel) { self.channel = channel }

    static func start(_ answer: @escaping @Sendable (HTTPRequestHead) -> ScriptedAnswer) async throws -> ScriptedServer {
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptedHandler(answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedServer(channel: channel)
    }

    func stop() async throws { try await channel.close() }

    /// An open packet for session `sid`.
    static func handshake(sid: String, pingInterval: Int = 1000, pingTimeout: Int = 1000) -> String {
        "0{\"sid\":\"\(sid)\",\"upgrades\":[],\"pingInterval\":\(pingInterval),\"pingTimeout\":\(pingTimeout),\"maxPayload\":1000000}"
    }
}

private final class ScriptedHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let answer: @Sendable (HTTPRequestHead) -> ScriptedAnswer
    private var head: HTTPRequestHead?

    init(answer: @escaping @Sendable (HTTPRequestHead) -> ScriptedAnswer) { self.answer = answer }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            guard case .respond(let status, let text) = answer(head) else { return }
            let body = ByteBuffer(string: text)
            let headers: HTTPHeaders = ["content-length": "\(body.readableBytes)", "content-type": "text/plain; charset=UTF-8"]
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        }
    }
}

@Suite("PrimusClient over Engine.IO: broken servers", .timeLimit(.minutes(1)))
struct EngineIOClientBrokenServerTests {
    /// A client that tries once and does not reconnect on its own, reporting what went wrong.
    private func client(_ url: String) throws -> (PrimusClient, EventRecorder) {
        let client = try PrimusClient(url, configuration: engineIOConfiguration(websockets: false) {
            $0.strategy = .none
            $0.pingTimeout = nil
        })
        return (client, EventRecorder(client))
    }

    @Test func aServerThatStopsPingingIsDetectedByTheEngineIOPingTimeout() async throws {
        // Opens a session, then holds every poll and never pings: gone after 1 s + 1 s.
        let server = try await ScriptedServer.start { head in
            if !head.uri.contains("sid=") { return .respond(.ok, ScriptedServer.handshake(sid: "quiet")) }
            return head.method == .POST ? .respond(.ok, "ok") : .hang
        }
        let (client, recorder) = try client(server.url)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await recorder.waitFor("end", timeout: .seconds(15))
        let error = try #require(errors(recorder).first)
        #expect(error.code == .timeout)
        #expect(error.message.contains("no ping"))
        #expect(recorder.lifecycle == ["open", "error", "close", "end"])
        client.end()
        try await server.stop()
    }

    @Test func aHandshakeThatIsNotEngineIOIsAProtocolViolation() async throws {
        let server = try await ScriptedServer.start { _ in .respond(.ok, "<html>hello</html>") }
        let (client, recorder) = try client(server.url)
        try await recorder.waitFor("error", timeout: .seconds(10))
        let error = try #require(errors(recorder).first)
        #expect(error.code == .protocolViolation)
        #expect(error.message.contains("Engine.IO handshake"))
        #expect(recorder.count(of: "open") == 0)
        client.end()
        try await server.stop()
    }

    @Test func aRefusedHandshakeReportsTheServersEngineIOError() async throws {
        let server = try await ScriptedServer.start { _ in
            .respond(.badRequest, "{\"code\":5,\"message\":\"Unsupported protocol version\"}")
        }
        let (client, recorder) = try client(server.url)
        try await recorder.waitFor("error", timeout: .seconds(10))
        let error = try #require(errors(recorder).first)
        #expect(error.message == "Engine.IO error 5: Unsupported protocol version (HTTP 400)")
        client.end()
        try await server.stop()
    }

    @Test func anUnknownSessionMidwayClosesTheConnection() async throws {
        let polls = Atomic<Int>(0)
        let server = try await ScriptedServer.start { head in
            if !head.uri.contains("sid=") { return .respond(.ok, ScriptedServer.handshake(sid: "forgotten", pingInterval: 25_000)) }
            if polls.add(1, ordering: .relaxed).newValue == 1 { return .respond(.ok, "4\"hello\"") }
            return .respond(.badRequest, "{\"code\":1,\"message\":\"Session ID unknown\"}")
        }
        let (client, recorder) = try client(server.url)
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(receivedData(recorder) == ["hello"])
        #expect(errors(recorder).first?.message == "Engine.IO error 1: Session ID unknown (HTTP 400)")
        #expect(recorder.lifecycle == ["open", "error", "close", "end"])
        client.end()
        try await server.stop()
    }

    @Test func garbageInAPollClosesTheConnection() async throws {
        let server = try await ScriptedServer.start { head in
            if !head.uri.contains("sid=") { return .respond(.ok, ScriptedServer.handshake(sid: "noisy", pingInterval: 25_000)) }
            return head.method == .POST ? .respond(.ok, "ok") : .respond(.ok, "\u{1e}\u{1e}9zz")
        }
        let (client, recorder) = try client(server.url)
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(errors(recorder).first?.code == .protocolViolation)
        client.end()
        try await server.stop()
    }
}
