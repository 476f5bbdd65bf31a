import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// SockJS options for tests: streaming responses end after 4 KiB (as the SockJS test contract
/// has it), so long exchanges cross several responses.
private func sockJSOptions(_ adjust: (inout SockJSOptions) -> Void = { _ in }) -> SockJSOptions {
    var options = SockJSOptions()
    options.responseLimit = 4096
    adjust(&options)
    return options
}

private func sockJSServer(
    port: Int = 0,
    pingInterval: Duration? = .seconds(30),
    echo: Bool = false,
    _ adjust: (inout SockJSOptions) -> Void = { _ in }
) async throws -> LoopbackServer {
    try await LoopbackServer.start(port: port, pingInterval: pingInterval, echo: echo, transformer: .sockjs(sockJSOptions(adjust)))
}

/// A client configuration on SockJS that uses only `kind`.
private func sockJSConfiguration(
    _ kinds: [SockJSClientTransport.Kind],
    _ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }
) -> PrimusClientConfiguration {
    fastConfiguration {
        $0.transport = SockJSClientTransport(transports: kinds)
        $0.reconnect.attemptTimeout = .seconds(10)
        $0.timeout = .seconds(10)
        adjust(&$0)
    }
}

private func receivedData(_ recorder: EventRecorder) -> [JSONValue] {
    recorder.events.compactMap { if case .data(let message) = $0 { return message.value } else { return nil } }
}

private func errors(_ recorder: EventRecorder) -> [PrimusError] {
    recorder.events.compactMap { if case .error(let error) = $0 { return error } else { return nil } }
}

/// The SockJS transport a spark came over: the last path component of its handshake request.
private func transportOf(_ spark: Spark) -> String {
    let path = spark.request.uri.split(separator: "?", maxSplits: 1).first ?? ""
    return String(path.split(separator: "/").last ?? "")
}

/// The path component each client transport kind opens its session with.
private func sessionTransport(_ kind: SockJSClientTransport.Kind) -> String {
    switch kind {
    case .websocket: return "websocket"
    case .xhrStreaming: return "xhr_streaming"
    case .xhrPolling: return "xhr"
    }
}

private let allKinds = SockJSClientTransport.Kind.allCases

/// The Swift client over SockJS against our own server on loopback, on each transport alone:
/// the behaviours of the WebSocket suite. Every wait is bounded and generous. Serialized: the
/// HTTP transports open a connection per request, and a dozen of these tests at once (under
/// ThreadSanitizer, on two cores) starved the timing-sensitive tests of the other suites.
@Suite("PrimusClient over SockJS", .serialized, .timeLimit(.minutes(2)))
struct SockJSClientTests {
    @Test(arguments: allKinds)
    func opensAndEchoesJSONUTF8AndEscapedCharacters(kind: SockJSClientTransport.Kind) async throws {
        let server = try await sockJSServer(echo: true)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: sockJSConfiguration([kind]))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        let values: [JSONValue] = [
            "text €", 42, true, .null, ["nested": [1, 2, "three"]],
            "zażółć 😀 \u{2028}\u{2029}\u{0}\u{1f}\u{200c}\u{fff0}\u{ffff} \"quoted\" \\ \n",
        ]
        for value in values { client.write(value) }
        try await eventually("echoes", timeout: .seconds(10)) { receivedData(recorder).count >= values.count }
        #expect(receivedData(recorder) == values)
        #expect(server.receivedValues == values)
        #expect(transportOf(try await server.spark()) == sessionTransport(kind))
        client.end()
        try await recorder.waitFor("end")
    }

    @Test(arguments: allKinds)
    func twoHundredMessagesArriveInOrderBothWaysAcrossResponses(kind: SockJSClientTransport.Kind) async throws {
        let server = try await sockJSServer(echo: true)
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: sockJSConfiguration([kind]))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        // 200 messages of ~45 bytes are ~9 KiB each way: three streaming responses at 4 KiB.
        let expected = (0..<200).map { JSONValue.string("message \($0) " + String(repeating: "x", count: 24)) }
        for value in expected { client.write(value) }
        try await eventually("200 echoes", timeout: .seconds(60)) { receivedData(recorder).count >= 200 }
        #expect(server.receivedValues == expected)
        #expect(receivedData(recorder) == expected)
        #expect(server.sparks.count == 1)
        #expect(recorder.lifecycle == ["open"])
        client.end()
    }

    @Test(arguments: allKinds)
    func writesMadeBeforeOpenArriveOnceInOrder(kind: SockJSClientTransport.Kind) async throws {
        let server = try await sockJSServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: sockJSConfiguration([kind]) { $0.manual = true })
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

    @Test(arguments: allKinds)
    func aServerRestartOnTheSamePortIsSurvivedWithOfflineWritesDeliveredOnce(kind: SockJSClientTransport.Kind) async throws {
        let first = try await sockJSServer()
        let port = first.port
        let client = try PrimusClient(first.httpURL, configuration: sockJSConfiguration([kind]) {
            $0.reconnect.minDelay = .milliseconds(30)
            $0.reconnect.maxDelay = .milliseconds(100)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        await first.stop()
        try await recorder.waitFor("reconnect scheduled", timeout: .seconds(70))
        for index in 0..<5 { client.write(.number(Double(index))) }
        let second = try await sockJSServer(port: port)
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

    @Test(arguments: allKinds)
    func primusHeartbeatsAndSockJSHeartbeatFramesKeepTheConnectionAlive(kind: SockJSClientTransport.Kind) async throws {
        // Primus pings every 3 s and drops a spark that has not answered by the next tick; the
        // client gives up after 7 s without a ping; SockJS sends an `h` frame every 2 s,
        // which the client must skip. Surviving 8 s needs pings and pongs to flow both ways.
        let server = try await sockJSServer(pingInterval: .seconds(3)) { $0.heartbeatDelay = .seconds(2) }
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: sockJSConfiguration([kind]) {
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

    @Test("checklist 75 over sockjs: the server's spark.end() ends the client without reconnecting", arguments: allKinds)
    func serverEndEndsTheClientWithoutReconnecting(kind: SockJSClientTransport.Kind) async throws {
        let server = try await sockJSServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: sockJSConfiguration([kind]))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().end()
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(recorder.lifecycle == ["open", "close", "end"])
        #expect(server.sparks.count == 1)
    }

    @Test(arguments: allKinds)
    func clientEndClosesTheServerSpark(kind: SockJSClientTransport.Kind) async throws {
        // HTTP sessions end `disconnectDelay` after their last request: 3 s here (with 1 s, a
        // poll that took longer than that to follow the previous one under ThreadSanitizer found
        // its session gone).
        let server = try await sockJSServer { $0.disconnectDelay = .seconds(3) }
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: sockJSConfiguration([kind]))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        let spark = try await server.spark()
        client.write("last words")
        try await eventually("the last words", timeout: .seconds(10)) { server.received.count == 1 }
        client.end()
        try await recorder.waitFor("end")
        try await eventually("the spark ends", timeout: .seconds(20)) { spark.readyState == .closed }
        #expect(server.receivedValues == ["last words"])
        #expect(recorder.lifecycle == ["open", "close", "end"])
    }

    @Test func infoWithoutWebSocketFallsBackToXHRStreaming() async throws {
        let server = try await sockJSServer(echo: true) { $0.websocket = false }
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: sockJSConfiguration(allKinds))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        client.write("over http")
        try await recorder.waitFor("data", timeout: .seconds(10))
        #expect(receivedData(recorder) == ["over http"])
        #expect(transportOf(try await server.spark()) == "xhr_streaming")
        client.end()
    }

    @Test func theDefaultTransportIsAWebSocket() async throws {
        let server = try await sockJSServer(echo: true)
        defer { Task { await server.stop() } }
        let configuration = try PrimusClientConfiguration(transformer: "SockJS")
        #expect(configuration.transport.name == "sockjs")
        #expect(PrimusClientTransports.names.contains("sockjs"))
        let client = try PrimusClient(server.httpURL, configuration: fastConfiguration { $0.transport = configuration.transport })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        #expect(transportOf(try await server.spark()) == "websocket")
        client.end()
    }

    @Test("checklist 83: discovery reads the sockjs transformer from the spec and connects with it")
    func discoveryPicksSockJS() async throws {
        let server = try await sockJSServer()
        defer { Task { await server.stop() } }
        let configuration = try await PrimusClient.discover(server.httpURL, configuration: fastConfiguration())
        #expect(configuration.transport.name == "sockjs")
        let client = try PrimusClient(server.httpURL, configuration: configuration)
        #expect(try await client.id() == (try await server.spark()).id)
        client.end()
    }

    @Test(arguments: allKinds)
    func anOversizedMessageClosesTheConnectionWithAClearError(kind: SockJSClientTransport.Kind) async throws {
        let server = try await sockJSServer()
        defer { Task { await server.stop() } }
        let client = try PrimusClient(server.httpURL, configuration: sockJSConfiguration([kind]) {
            $0.maxMessageLength = 100
            $0.strategy = .none
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await server.spark().write(.string(String(repeating: "x", count: 500)))
        try await recorder.waitFor("close", timeout: .seconds(10))
        #expect(errors(recorder).first?.code == .messageTooLarge)
        #expect(receivedData(recorder).isEmpty)
        client.end()
    }

    @Test func anUnreachableServerIsAConnectionError() async throws {
        let closed = try ClosedPort()
        let client = try PrimusClient("http://127.0.0.1:\(closed.port)", configuration: sockJSConfiguration(allKinds) {
            $0.strategy = .none
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("error", timeout: .seconds(10))
        #expect(errors(recorder).first?.code == .connectionFailed)
        #expect(recorder.count(of: "open") == 0)
        client.end()
    }
}

// MARK: - A scripted server, for what ours never does

/// What the scripted SockJS server does with one request.
private enum ScriptedSockJSAnswer: Sendable {
    /// A complete answer.
    case respond(HTTPResponseStatus, String)
    /// A `200` whose body is `chunks`, after which the response stays open.
    case stream([String])
}

/// The request lines a scripted server saw.
private final class ScriptedLog: Sendable {
    private let lines = NIOLockedValueBox<[String]>([])
    var all: [String] { lines.withLockedValue { $0 } }
    func append(_ line: String) { lines.withLockedValue { $0.append(line) } }
}

/// A bare HTTP server whose answers a test scripts: SockJS servers that misbehave in ways ours
/// never does. It keeps the request lines it saw.
private final class ScriptedSockJSServer: Sendable {
    let channel: any Channel
    private let log: ScriptedLog
    var port: Int { channel.localAddress?.port ?? 0 }
    var url: String { "http://127.0.0.1:\(port)" }
    /// `METHOD path` of every request so far, without the query.
    var requests: [String] { log.all }

    private init(channel: any Channel, log: ScriptedLog) {
        self.channel = channel
        self.log = log
    }

    static func start(_ answer: @escaping @Sendable (HTTPRequestHead) -> ScriptedSockJSAnswer) async throws -> ScriptedSockJSServer {
        let log = ScriptedLog()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(ScriptedSockJSHandler(log: log, answer: answer))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return ScriptedSockJSServer(channel: channel, log: log)
    }

    func stop() async throws { try await channel.close() }
}

private final class ScriptedSockJSHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let log: ScriptedLog
    private let answer: @Sendable (HTTPRequestHead) -> ScriptedSockJSAnswer
    private var head: HTTPRequestHead?

    init(log: ScriptedLog, answer: @escaping @Sendable (HTTPRequestHead) -> ScriptedSockJSAnswer) {
        self.log = log
        self.answer = answer
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head): self.head = head
        case .body: break
        case .end:
            guard let head else { return }
            self.head = nil
            let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
            log.append("\(head.method.rawValue) \(path)")
            switch answer(head) {
            case .respond(let status, let text):
                let body = ByteBuffer(string: text)
                let headers: HTTPHeaders = ["content-length": "\(body.readableBytes)", "content-type": "text/plain;charset=UTF-8"]
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
                context.write(wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
                context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
            case .stream(let chunks):
                let headers: HTTPHeaders = ["transfer-encoding": "chunked", "content-type": "application/javascript;charset=UTF-8"]
                context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: .ok, headers: headers))), promise: nil)
                for chunk in chunks { context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: chunk)))), promise: nil) }
                context.flush()
            }
        }
    }
}

/// `/info` of a server that offers a WebSocket.
private let infoWithWebSocket = #"{"websocket":true,"cookie_needed":false,"origins":["*:*"],"entropy":1}"#

@Suite("PrimusClient over SockJS: broken servers", .timeLimit(.minutes(1)))
struct SockJSClientBrokenServerTests {
    /// A client that tries once and does not reconnect on its own, reporting what went wrong.
    private func client(_ url: String, _ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }) throws -> (PrimusClient, EventRecorder) {
        let client = try PrimusClient(url, configuration: sockJSConfiguration(allKinds) {
            $0.strategy = .none
            $0.pingTimeout = nil
            adjust(&$0)
        })
        return (client, EventRecorder(client))
    }

    @Test func aFailingWebSocketFallsBackToXHRStreaming() async throws {
        // /info offers a WebSocket, but the upgrade is answered 404 (a proxy that drops it).
        let server = try await ScriptedSockJSServer.start { head in
            if head.uri.hasPrefix("/primus/info") { return .respond(.ok, infoWithWebSocket) }
            if head.uri.contains("/xhr_streaming") { return .stream([String(repeating: "h", count: 2048) + "\n", "o\n"]) }
            return .respond(.notFound, "Not found")
        }
        let (client, recorder) = try client(server.url)
        // The WebSocket's failure, then a new session: generous for a loaded machine.
        try await recorder.waitFor("open", timeout: .seconds(20))
        let requests = server.requests
        #expect(requests.first == "GET /primus/info")
        #expect(requests.count >= 3)
        #expect(requests.dropFirst().first?.hasSuffix("/websocket") == true, "\(requests)")
        #expect(requests.last?.hasPrefix("POST /primus/") == true && requests.last?.hasSuffix("/xhr_streaming") == true, "\(requests)")
        client.end()
        try await server.stop()
    }

    @Test func aStreamThatNeverEndsALineIsCutAtTheLimit() async throws {
        // After the open frame, 256 KiB without a newline: more than the 64 KiB the client
        // keeps for one frame when its messages are limited to 100 bytes.
        let endless = Array(repeating: String(repeating: "x", count: 16 * 1024), count: 16)
        let server = try await ScriptedSockJSServer.start { head in
            if head.uri.hasPrefix("/primus/info") { return .respond(.ok, #"{"websocket":false}"#) }
            if head.uri.contains("/xhr_streaming") { return .stream(["o\n", "a[\"xx"] + endless) }
            return .respond(.notFound, "Not found")
        }
        let (client, recorder) = try client(server.url) { $0.maxMessageLength = 100 }
        try await recorder.waitFor("open", timeout: .seconds(10))
        try await recorder.waitFor("close", timeout: .seconds(10))
        #expect(errors(recorder).first?.code == .messageTooLarge)
        #expect(receivedData(recorder).isEmpty)
        client.end()
        try await server.stop()
    }

    @Test func anInfoThatIsNotJSONIsAProtocolViolation() async throws {
        let server = try await ScriptedSockJSServer.start { _ in .respond(.ok, "<html>hello</html>") }
        let (client, recorder) = try client(server.url)
        try await recorder.waitFor("error", timeout: .seconds(10))
        let error = try #require(errors(recorder).first)
        #expect(error.code == .protocolViolation)
        #expect(error.message.contains("/info"))
        #expect(recorder.count(of: "open") == 0)
        #expect(server.requests == ["GET /primus/info"])
        client.end()
        try await server.stop()
    }

    @Test func aRefusedInfoEndsTheClientWithoutReconnecting() async throws {
        let server = try await ScriptedSockJSServer.start { _ in .respond(.unauthorized, #"{"error":"no token"}"#) }
        let client = try PrimusClient(server.url, configuration: sockJSConfiguration(allKinds))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("end", timeout: .seconds(10))
        let error = try #require(errors(recorder).first)
        #expect(error.message.contains("401") && error.message.contains("no token"))
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(server.requests == ["GET /primus/info"])
        try await server.stop()
    }

    @Test func aTransportThatNeverOpensGivesWayAfterTheOpenTimeout() async throws {
        // Every receiving request hangs without a frame: each transport is tried in turn, each
        // for the open timeout, then the connection fails.
        let server = try await ScriptedSockJSServer.start { head in
            if head.uri.hasPrefix("/primus/info") { return .respond(.ok, #"{"websocket":false}"#) }
            return .stream([])
        }
        let client = try PrimusClient(server.url, configuration: fastConfiguration {
            $0.transport = SockJSClientTransport(openTimeout: .seconds(4))
            $0.strategy = .none
            $0.timeout = .seconds(20)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("error", timeout: .seconds(30))
        #expect(errors(recorder).first?.code == .timeout)
        #expect(recorder.count(of: "open") == 0)
        // Each transport had 4 s, time enough for its request to reach the server even on a
        // loaded machine.
        let requests = server.requests
        #expect(requests.first == "GET /primus/info")
        #expect(requests.count == 3 && requests[1].hasSuffix("/xhr_streaming") && requests[2].hasSuffix("/xhr"), "\(requests)")
        client.end()
        try await server.stop()
    }
}
