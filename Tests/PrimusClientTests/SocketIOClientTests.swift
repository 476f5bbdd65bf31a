import Foundation
import NIOConcurrencyHelpers
import NIOCore
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Sends `signal` to process `pid`.
private func sendSignal(_ pid: Int32, _ signal: Int32) {
    #if canImport(Glibc)
    _ = Glibc.kill(pid, signal)
    #elseif canImport(Darwin)
    _ = Darwin.kill(pid, signal)
    #endif
}

/// `primus-testserver --transformer socket.io` as a child process on loopback, so a test can
/// SIGKILL it, freeze it (SIGSTOP) and start it again on the same port.
private final class TestServerProcess: Sendable {
    let port: Int
    private let process: Process
    private let output: NIOLockedValueBox<String>

    private init(port: Int, process: Process, output: NIOLockedValueBox<String>) {
        self.port = port
        self.process = process
        self.output = output
    }

    var httpURL: String { "http://127.0.0.1:\(port)" }

    /// The built `primus-testserver`: `$PRIMUS_BIN`, or beside the test bundle (`swift build
    /// --build-tests` and `swift test` build it there).
    static func executable() throws -> URL {
        var directories: [URL] = []
        if let bin = ProcessInfo.processInfo.environment["PRIMUS_BIN"] { directories.append(URL(fileURLWithPath: bin)) }
        if let first = CommandLine.arguments.first { directories.append(URL(fileURLWithPath: first).deletingLastPathComponent()) }
        directories.append(Bundle.main.bundleURL.deletingLastPathComponent())
        directories.append(Bundle.main.bundleURL)
        for directory in directories {
            let candidate = directory.appendingPathComponent("primus-testserver")
            if FileManager.default.isExecutableFile(atPath: candidate.path) { return candidate }
        }
        throw TimedOut(description: "primus-testserver not found beside the tests (looked in \(directories.map(\.path))); build it first")
    }

    /// Starts the server; `port: 0` lets it pick one. A restart on a just-killed port retries
    /// while the port is still taken.
    static func start(port: Int = 0, _ arguments: [String] = []) async throws -> TestServerProcess {
        let deadline = ContinuousClock.now + .seconds(20)
        while true {
            let output = NIOLockedValueBox("")
            let process = Process()
            process.executableURL = try executable()
            process.arguments = ["--transformer", "socket.io", "--port", String(port)] + arguments
            let pipe = Pipe()
            process.standardOutput = pipe
            process.standardError = pipe
            pipe.fileHandleForReading.readabilityHandler = { handle in
                let data = handle.availableData
                if data.isEmpty {
                    handle.readabilityHandler = nil
                    return
                }
                output.withLockedValue { $0 += String(decoding: data, as: UTF8.self) }
            }
            try process.run()
            while ContinuousClock.now < deadline {
                let text = output.withLockedValue { $0 }
                if let range = text.range(of: "listening on http://127.0.0.1:") {
                    let digits = text[range.upperBound...].prefix { $0.isNumber }
                    if let bound = Int(digits), text[range.upperBound...].dropFirst(digits.count).first == "\n" {
                        return TestServerProcess(port: bound, process: process, output: output)
                    }
                }
                if !process.isRunning { break }
                try await Task.sleep(for: .milliseconds(10))
            }
            if process.isRunning {
                sendSignal(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
            }
            let text = output.withLockedValue { $0 }
            guard ContinuousClock.now < deadline else {
                throw TimedOut(description: "primus-testserver did not start on port \(port): \(text)")
            }
            try await Task.sleep(for: .milliseconds(100))
        }
    }

    /// SIGKILL: the server vanishes without a word to its clients. Idempotent; tests also
    /// `defer` it, which keeps the server alive to the end of the test.
    func kill() {
        guard process.isRunning else { return }
        sendSignal(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGSTOP: the server keeps its sockets but answers nothing, not even Engine.IO pings.
    func freeze() { sendSignal(process.processIdentifier, SIGSTOP) }

    /// SIGCONT after ``freeze()``.
    func thaw() { sendSignal(process.processIdentifier, SIGCONT) }

    deinit {
        if process.isRunning {
            sendSignal(process.processIdentifier, SIGCONT)
            sendSignal(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// A client configuration on Socket.IO; `websockets: false` keeps Engine.IO on polling.
private func socketIOConfiguration(
    websockets: Bool,
    auth: JSONObject? = nil,
    _ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }
) -> PrimusClientConfiguration {
    fastConfiguration {
        $0.transport = SocketIOClientTransport(websockets: websockets, auth: auth)
        $0.reconnect.attemptTimeout = .seconds(10)
        $0.timeout = .seconds(10)
        adjust(&$0)
    }
}

/// The data the client received. The server emits `auth` on connect; a client without an
/// `auth` handler (events unused) gets that emitter packet as data, so it is left out here.
private func receivedData(_ recorder: EventRecorder) -> [JSONValue] {
    recorder.events.compactMap {
        guard case .data(let message) = $0, PrimusEmitterPacket(message.value) == nil else { return nil }
        return message.value
    }
}

private func errors(_ recorder: EventRecorder) -> [PrimusError] {
    recorder.events.compactMap { if case .error(let error) = $0 { return error } else { return nil } }
}

/// Bytes as the JSON parser hands them to the application inside a value: bytes, or Node's
/// `Buffer.toJSON()` form `{"type":"Buffer","data":[…]}`.
private func bytes(of value: JSONValue?) -> [UInt8]? {
    switch value {
    case .binary(let buffer)?: return Array(buffer.readableBytesView)
    case .object(let members)? where members["type"] == "Buffer":
        return members["data"]?.arrayValue?.compactMap { $0.numberValue.flatMap { UInt8(exactly: $0) } }
    default: return nil
    }
}

/// What the application's event handlers saw, by event name.
private final class EventLog: Sendable {
    private let events = NIOLockedValueBox<[PrimusClientEventMessage]>([])
    func append(_ event: PrimusClientEventMessage) { events.withLockedValue { $0.append(event) } }
    func named(_ name: String) -> [PrimusClientEventMessage] { events.withLockedValue { $0.filter { $0.name == name } } }
}

private let modes = [false, true]

/// The Swift client over Socket.IO against `primus-testserver --transformer socket.io` in its
/// own process on loopback: echo, buffering, a SIGKILLed and restarted server, heartbeats,
/// the server's end, events and acks both ways with bytes, and a refused CONNECT; on polling
/// only (`false`) and with the WebSocket upgrade (`true`). Serialized: each test runs a server
/// process, and the machine has two cores.
@Suite("PrimusClient over Socket.IO", .serialized, .timeLimit(.minutes(2)))
struct SocketIOClientTests {
    @Test(arguments: modes)
    func opensAndEchoesJSONValues(websockets: Bool) async throws {
        let server = try await TestServerProcess.start()
        defer { server.kill() }
        let client = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(15))
        let values: [JSONValue] = ["text €", 42, true, .null, ["nested": [1, 2, "three"]], "zażółć 😀 \u{2028} \"quoted\""]
        for value in values { client.write(value) }
        try await eventually("echoes", timeout: .seconds(15)) { receivedData(recorder).count >= values.count }
        #expect(receivedData(recorder) == values)
        // The socket id is the spark id, answered locally.
        let id = try await client.id()
        client.write(["testserver": "info"])
        try await eventually("the info", timeout: .seconds(15)) { receivedData(recorder).count > values.count }
        #expect(receivedData(recorder).last?["id"]?.stringValue == id)
        #expect(!id.isEmpty)
        #expect(recorder.lifecycle == ["open"])
        client.end()
        try await recorder.waitFor("end")
    }

    @Test(arguments: modes)
    func bytesWrittenAsDataComeBackAsBytes(websockets: Bool) async throws {
        let server = try await TestServerProcess.start()
        defer { server.kill() }
        let client = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(15))
        let payload = Data((0...255).map { UInt8($0) } + [0xFF, 0xFE])
        client.write(payload)
        try await eventually("the echo", timeout: .seconds(15)) { receivedData(recorder).count >= 1 }
        #expect(receivedData(recorder).first == .binary(ByteBuffer(bytes: payload)))
        client.end()
    }

    @Test(arguments: modes)
    func writesMadeBeforeOpenArriveOnceInOrder(websockets: Bool) async throws {
        let server = try await TestServerProcess.start()
        defer { server.kill() }
        let client = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets) { $0.manual = true })
        let recorder = EventRecorder(client)
        for index in 0..<11 { client.write(.number(Double(index))) }
        client.open()
        try await recorder.waitFor("open", timeout: .seconds(15))
        client.write("marker")
        try await eventually("12 echoes", timeout: .seconds(15)) { receivedData(recorder).count >= 12 }
        #expect(receivedData(recorder) == (0..<11).map { .number(Double($0)) } + ["marker"])
        client.end()
    }

    @Test(arguments: modes)
    func aServerSIGKILLedAndRestartedOnTheSamePortIsSurvived(websockets: Bool) async throws {
        let first = try await TestServerProcess.start()
        defer { first.kill() }
        let client = try PrimusClient(first.httpURL, configuration: socketIOConfiguration(websockets: websockets) {
            $0.reconnect.minDelay = .milliseconds(50)
            $0.reconnect.maxDelay = .milliseconds(200)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(15))
        let firstID = try await client.id()
        first.kill()
        try await recorder.waitFor("reconnect scheduled", timeout: .seconds(30))
        for index in 0..<5 { client.write(.number(Double(index))) }
        let second = try await TestServerProcess.start(port: first.port)
        defer { second.kill() }
        try await recorder.waitFor("open", count: 2, timeout: .seconds(30))
        client.write("marker")
        try await eventually("the outage writes and the marker echoed", timeout: .seconds(15)) { receivedData(recorder).count >= 6 }
        #expect(receivedData(recorder) == (0..<5).map { .number(Double($0)) } + ["marker"])
        #expect(try await client.id() != firstID)
        #expect(recorder.count(of: "reconnected") >= 1)
        #expect(recorder.count(of: "end") == 0)
        client.end()
    }

    @Test(arguments: modes)
    func engineIOPingsKeepTheClientAlive(websockets: Bool) async throws {
        // The server pings every second over Engine.IO and sends no Primus pings at all; the
        // client core gives up after 4 s without one. Surviving 8 s needs each Engine.IO ping
        // to reach the core as a Primus ping.
        let server = try await TestServerProcess.start(port: 0, ["--ping-interval", "1000", "--ping-timeout", "4000"])
        defer { server.kill() }
        let client = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets) {
            $0.pingTimeout = .seconds(4)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(15))
        let id = try await client.id()
        // The behaviour under test is a connection that outlives two heartbeat windows.
        try await Task.sleep(for: .seconds(8))
        client.write("still here")
        try await eventually("the echo", timeout: .seconds(15)) { receivedData(recorder).count == 1 }
        #expect(recorder.lifecycle == ["open"], "\(recorder.events.filter { $0.name != "data" })")
        #expect(try await client.id() == id)
        client.end()
    }

    @Test(arguments: modes)
    func aServerThatStopsAnsweringIsDetectedAndTheClientComesBack(websockets: Bool) async throws {
        let server = try await TestServerProcess.start(port: 0, ["--ping-interval", "1000", "--ping-timeout", "2000"])
        defer { server.kill() }
        let client = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets) {
            $0.pingTimeout = .seconds(20)
            $0.reconnect.minDelay = .milliseconds(50)
            $0.reconnect.maxDelay = .milliseconds(200)
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(15))
        server.freeze()
        // No ping within 1 s + 2 s: Engine.IO gives the session up, long before the core's 20 s.
        try await recorder.waitFor("close", timeout: .seconds(15))
        server.thaw()
        #expect(errors(recorder).contains { $0.code == .timeout }, "\(errors(recorder))")
        try await recorder.waitFor("open", count: 2, timeout: .seconds(30))
        client.write("back")
        try await eventually("the echo", timeout: .seconds(15)) { receivedData(recorder) == ["back"] }
        client.end()
    }

    @Test(arguments: modes)
    func theServersEndEndsTheClientWithoutReconnecting(websockets: Bool) async throws {
        let server = try await TestServerProcess.start()
        defer { server.kill() }
        let client = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(15))
        client.write(["testserver": "end"])
        try await recorder.waitFor("end", timeout: .seconds(15))
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(recorder.lifecycle == ["open", "close", "end"])
        #expect(errors(recorder).isEmpty)
    }

    @Test(arguments: modes)
    func eventsAndAcknowledgementsBothWaysWithBytesIntact(websockets: Bool) async throws {
        let server = try await TestServerProcess.start()
        defer { server.kill() }
        let client = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets))
        let log = EventLog()
        for name in ["auth", "answer", "no-answer"] { client.onEvent(name) { log.append($0) } }
        client.onEvent("question") { question in
            log.append(question)
            question.ack?.send(arguments: [.string("answer to"), .array(question.args)])
        }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(15))
        // The server emits `auth` with the CONNECT auth payload on connect: none here.
        try await eventually("the auth event", timeout: .seconds(15)) { !log.named("auth").isEmpty }
        #expect(log.named("auth").first?.args == [.object([:])])

        // Client → server with an acknowledgement: the server acks with the same arguments,
        // the bytes travelling as an attachment each way.
        let blob: [UInt8] = [0, 1, 2, 0xFE, 0xFF]
        let answer = try await client.emitWithAck(
            "message-with-ack",
            arguments: [1, .binary(ByteBuffer(bytes: blob)), ["nested": ["deep": .binary(ByteBuffer(bytes: [9, 8, 7]))]]],
            timeout: .seconds(15)
        )
        #expect(answer.count == 3)
        #expect(answer.first == 1)
        #expect(bytes(of: answer.dropFirst().first) == blob)
        #expect(bytes(of: answer.last?["nested"]?["deep"]) == [9, 8, 7])

        // Server → client with an acknowledgement: `ask` makes the server emit `question`
        // (the arguments after the timeout) and report our answer as `answer`.
        client.emit("ask", 10_000, "what?", .binary(ByteBuffer(bytes: [42, 0, 42])))
        try await eventually("the server reports the answer", timeout: .seconds(15)) { !log.named("answer").isEmpty }
        let question = try #require(log.named("question").first)
        #expect(question.args.first == "what?")
        #expect(bytes(of: question.args.last) == [42, 0, 42])
        let reported = try #require(log.named("answer").first)
        #expect(reported.args.first == "answer to")
        #expect(reported.args.last?.arrayValue?.first == "what?")
        #expect(bytes(of: reported.args.last?.arrayValue?.last) == [42, 0, 42])
        #expect(log.named("no-answer").isEmpty)
        #expect(recorder.lifecycle == ["open"])
        client.end()
    }

    @Test(arguments: modes)
    func aRefusedConnectEndsTheClientWithTheServersReason(websockets: Bool) async throws {
        let server = try await TestServerProcess.start()
        defer { server.kill() }
        let client = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets, auth: ["token": "bad"]))
        let recorder = EventRecorder(client)
        try await recorder.waitFor("end", timeout: .seconds(15))
        let error = try #require(errors(recorder).first)
        #expect(error.message.contains("Not authorized"), "\(error)")
        #expect(error.message.contains("refused"), "\(error)")
        #expect(recorder.count(of: "open") == 0)
        #expect(recorder.count(of: "reconnect scheduled") == 0)

        // The same server lets a client with a good token in, and hands its auth to the app.
        let good = try PrimusClient(server.httpURL, configuration: socketIOConfiguration(websockets: websockets, auth: ["token": "good"]))
        let log = EventLog()
        good.onEvent("auth") { log.append($0) }
        try await eventually("the auth event", timeout: .seconds(15)) { !log.named("auth").isEmpty }
        #expect(log.named("auth").first?.args == [["token": "good"]])
        good.end()
    }

    @Test func discoveryPicksSocketIOFromTheSpec() async throws {
        let server = try await TestServerProcess.start()
        defer { server.kill() }
        let configuration = try await PrimusClient.discover(server.httpURL, configuration: fastConfiguration())
        #expect(configuration.transport.name == "socket.io")
        let client = try PrimusClient(server.httpURL, configuration: configuration)
        let recorder = EventRecorder(client)
        client.write("found")
        try await eventually("the echo", timeout: .seconds(15)) { receivedData(recorder) == ["found"] }
        client.end()
    }

    @Test func theTransformerNameSelectsSocketIO() throws {
        let configuration = try PrimusClientConfiguration(transformer: "Socket.IO")
        #expect(configuration.transport.name == "socket.io")
        #expect(PrimusClientTransports.names.contains("socket.io"))
    }
}

/// The translation the transport relies on, without sockets: what the client core writes
/// (through the JSON parser) becomes the Socket.IO packets the mapping names.
@Suite("Socket.IO client: the core's messages on the wire")
struct SocketIOClientWireTests {
    private func wire(_ value: JSONValue) throws -> SocketIOEncodedPacket? {
        let parser = JSONParser()
        let decoded = try parser.decode(try parser.encode(value, for: nil), for: nil)
        guard case .packet(let packet) = SocketIOPrimusBridge.outgoing(decoded) else { return nil }
        return SocketIOPacketEncoder.encode(packet, version: .v5)
    }

    @Test func dataEventsAndAcksBecomeNativePackets() throws {
        #expect(try wire("hi").map { String(buffer: $0.text) } == #"2["message","hi"]"#)
        let event = PrimusEmitterPacket.event(name: "chat", args: ["a", 1], ackID: 7).value
        #expect(try wire(event).map { String(buffer: $0.text) } == #"27["chat","a",1]"#)
        let ack = PrimusEmitterPacket.ack(id: 7, args: ["ok"]).value
        #expect(try wire(ack).map { String(buffer: $0.text) } == #"37["ok"]"#)
    }

    @Test func bytesInEventArgumentsTravelAsAttachments() throws {
        let event = PrimusEmitterPacket.event(name: "upload", args: [.binary(ByteBuffer(bytes: [1, 2, 3]))], ackID: nil).value
        let encoded = try #require(try wire(event))
        #expect(String(buffer: encoded.text) == #"51-["upload",{"_placeholder":true,"num":0}]"#)
        #expect(encoded.attachments == [ByteBuffer(bytes: [1, 2, 3])])
    }

    @Test func heartbeatsAndIDRequestsStayLocal() {
        #expect(SocketIOPrimusBridge.outgoing("primus::pong::123") == .pong("123"))
        #expect(SocketIOPrimusBridge.outgoing("primus::id::") == .idRequest)
    }

    @Test func aDecoderWithLimitsRefusesTooManyAttachments() {
        var decoder = SocketIOPacketDecoder(version: .v5, limits: .init(maxAttachments: 2, maxAttachmentBytes: 4))
        #expect(throws: SocketIOProtocolError.self) { try decoder.decode(.text("53-[\"x\"]")) }
        var small = SocketIOPacketDecoder(version: .v5, limits: .init(maxAttachments: 2, maxAttachmentBytes: 4))
        #expect(throws: SocketIOProtocolError.self) {
            _ = try small.decode(.text(#"51-["x",{"_placeholder":true,"num":0}]"#))
            _ = try small.decode(.binary(ByteBuffer(bytes: [1, 2, 3, 4, 5])))
        }
    }
}

/// Writes a string as the text itself, so a Primus spark on the `engine.io` transformer can
/// play a Socket.IO server packet by packet (`spark.write("40{…}")` is the Engine.IO message
/// `40{…}`); anything else as JSON.
private struct RawTextParser: PrimusParser {
    var name: String { "raw-text-test" }

    func encode(_ value: JSONValue, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        if case .string(let text) = value { return .text(text) }
        return .text(value.description)
    }

    func decode(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue {
        .string(String(buffer: message.buffer))
    }

    func encode<T: Encodable>(encodable value: T, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        throw PrimusError.encodingFailed("values only")
    }

    func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> T {
        guard let value = try decode(message, for: context) as? T else { throw PrimusError.decodingFailed("values only") }
        return value
    }
}

/// The Socket.IO client against a server that says exactly what a test scripts: an
/// `engine.io` Primus server with ``RawTextParser`` and no Primus heartbeat, whose spark's
/// writes are Socket.IO packets. For what the real server never does.
@Suite("PrimusClient over Socket.IO: scripted servers", .timeLimit(.minutes(1)))
struct SocketIOClientScriptedServerTests {
    private func start(
        connectTimeout: Duration = .seconds(10),
        maxAttachments: Int = 10
    ) async throws -> (LoopbackServer, PrimusClient, EventRecorder) {
        let server = try await LoopbackServer.start(pingInterval: nil, transformer: .engineIO, parser: RawTextParser())
        let client = try PrimusClient(server.httpURL, configuration: fastConfiguration {
            $0.transport = SocketIOClientTransport(websockets: false, connectTimeout: connectTimeout, maxAttachments: maxAttachments)
            $0.strategy = .none
            $0.pingTimeout = nil
        })
        return (server, client, EventRecorder(client))
    }

    /// Waits for the client's CONNECT and answers it as a Socket.IO server would.
    private func accept(_ server: LoopbackServer, socketID: String) async throws -> Spark {
        let spark = try await server.spark()
        try await eventually("the CONNECT", timeout: .seconds(10)) { server.receivedValues.contains("0") }
        spark.write(.string(#"0{"sid":"\#(socketID)"}"#))
        return spark
    }

    @Test func aServerThatNeverAnswersConnectTimesOut() async throws {
        let (server, client, recorder) = try await start(connectTimeout: .milliseconds(500))
        defer { Task { await server.stop() } }
        try await recorder.waitFor("end", timeout: .seconds(10))
        let error = try #require(errors(recorder).first)
        #expect(error.code == .timeout)
        #expect(error.message.contains("no answer to CONNECT"), "\(error)")
        #expect(recorder.count(of: "open") == 0)
        #expect(server.receivedValues.first == "0")
        client.end()
    }

    @Test func packetsFromAScriptedServerReachTheCoreAndADisconnectEndsTheClient() async throws {
        let (server, client, recorder) = try await start()
        defer { Task { await server.stop() } }
        let spark = try await accept(server, socketID: "scripted-id")
        try await recorder.waitFor("open", timeout: .seconds(10))
        #expect(try await client.id() == "scripted-id")
        spark.write(.string(#"2["message",{"hello":"world"}]"#))
        try await eventually("the data", timeout: .seconds(10)) { receivedData(recorder) == [["hello": "world"]] }
        client.write("out")
        try await eventually("the data on the wire", timeout: .seconds(10)) { server.receivedValues.contains(#"2["message","out"]"#) }
        spark.write(.string("1"))
        try await recorder.waitFor("end", timeout: .seconds(10))
        #expect(recorder.lifecycle == ["open", "close", "end"])
        #expect(errors(recorder).isEmpty)
    }

    @Test func theClientsEndLeavesTheNamespaceBeforeTheSessionCloses() async throws {
        let (server, client, recorder) = try await start()
        defer { Task { await server.stop() } }
        let spark = try await accept(server, socketID: "s")
        try await recorder.waitFor("open", timeout: .seconds(10))
        client.write("last")
        client.end()
        try await recorder.waitFor("end", timeout: .seconds(10))
        try await eventually("the DISCONNECT", timeout: .seconds(10)) { server.receivedValues.count >= 3 }
        #expect(server.receivedValues == ["0", #"2["message","last"]"#, "1"])
        try await eventually("the spark ends", timeout: .seconds(10)) { spark.readyState == .closed }
    }

    @Test func aMalformedPacketClosesTheConnectionWithAProtocolError() async throws {
        let (server, client, recorder) = try await start()
        defer { Task { await server.stop() } }
        let spark = try await accept(server, socketID: "s")
        try await recorder.waitFor("open", timeout: .seconds(10))
        spark.write(.string("2[\"unterminated"))
        try await recorder.waitFor("end", timeout: .seconds(10))
        let error = try #require(errors(recorder).first)
        #expect(error.code == .protocolViolation)
        #expect(error.message.contains("Socket.IO"), "\(error)")
        #expect(recorder.lifecycle == ["open", "error", "close", "end"])
        client.end()
    }

    @Test func moreAttachmentsThanTheLimitCloseTheConnection() async throws {
        let (server, client, recorder) = try await start(maxAttachments: 2)
        defer { Task { await server.stop() } }
        let spark = try await accept(server, socketID: "s")
        try await recorder.waitFor("open", timeout: .seconds(10))
        spark.write(.string(#"53-["message",{"_placeholder":true,"num":0}]"#))
        try await recorder.waitFor("end", timeout: .seconds(10))
        let error = try #require(errors(recorder).first)
        #expect(error.code == .protocolViolation)
        #expect(error.message.contains("attachments"), "\(error)")
        client.end()
    }

    @Test func aConnectErrorIsARefusalWithTheServersReason() async throws {
        let (server, client, recorder) = try await start()
        defer { Task { await server.stop() } }
        let spark = try await server.spark()
        try await eventually("the CONNECT", timeout: .seconds(10)) { server.receivedValues.contains("0") }
        spark.write(.string(#"4{"message":"Go away"}"#))
        try await recorder.waitFor("end", timeout: .seconds(10))
        let error = try #require(errors(recorder).first)
        #expect(error.message == "The server refused the connection: Socket.IO CONNECT_ERROR: Go away")
        #expect(recorder.count(of: "open") == 0)
        client.end()
    }
}
