import NIOConcurrencyHelpers
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// The Swift client's half of missed-message recovery against a real server on loopback: the
/// server's connection handler plays the recovering server (it reads `_primus_recover` from the
/// spark's query and writes envelopes and baselines itself), so what is proven is the client's
/// part: the opt-in query on every transport, first connection and reconnect, payloads delivered
/// once and in order, baselines and duplicates dropped, events inside envelopes, and nothing of it
/// with `recover: false`. The last test runs both halves end to end: the server's own recovery
/// (``PrimusRecovery``, the local adapter's backlog) replays what the client missed.
@Suite("Swift client: missed-message recovery", .timeLimit(.minutes(2)))
struct ClientRecoveryTests {
    static let parameter = RecoveryEnvelope.queryParameter

    static func sequence(_ milliseconds: UInt64, _ counter: UInt64) -> PrimusSequence {
        PrimusSequence(milliseconds: milliseconds, counter: counter)
    }

    static func server(_ transformer: String, configure: (inout PrimusConfiguration) -> Void = { _ in }) async throws -> LoopbackServer {
        let named = try #require(PrimusTransformer.all.first { $0.name == transformer })
        return try await LoopbackServer.start(transformer: named, configure: configure)
    }

    static func client(_ server: LoopbackServer, _ transformer: String, _ adjust: (inout PrimusClientConfiguration) -> Void = { _ in }) throws -> PrimusClient {
        let configuration = try PrimusClientConfiguration(transformer: transformer)
        return try PrimusClient(
            transformer == "websockets" ? server.url : server.httpURL,
            configuration: fastConfiguration {
                $0.transport = configuration.transport
                $0.reconnect.attemptTimeout = .seconds(10)
                $0.timeout = .seconds(10)
                adjust(&$0)
            }
        )
    }

    /// The data the client received, without the emitter packets some servers send on their own
    /// (the Socket.IO transformer emits `auth` on connect).
    static func data(_ recorder: EventRecorder) -> [JSONValue] {
        recorder.events.compactMap {
            guard case .data(let message) = $0, PrimusEmitterPacket(message.value) == nil else { return nil }
            return message.value
        }
    }

    static func waitForData(_ recorder: EventRecorder, count: Int) async throws {
        try await eventually("\(count) messages (saw \(data(recorder)))", timeout: .seconds(20)) { data(recorder).count >= count }
    }

    @Test(
        "every transport: an empty _primus_recover first, the last sequence on reconnect; payloads once and in order, baselines and duplicates dropped",
        arguments: PrimusClientTransports.names
    )
    func optsInAndUnwrapsOnEveryTransport(transformer: String) async throws {
        let server = try await Self.server(transformer)
        defer { Task { await server.stop() } }
        let client = try Self.client(server, transformer)
        let recorder = EventRecorder(client)

        let first = try await server.spark(1, timeout: .seconds(20))
        #expect(first.query[Self.parameter] == "", "opted in, with no position yet")
        #expect(first.query["_primuscb"]?.isEmpty == false)
        #expect(client.recoveryPosition.last == nil)
        first.write(RecoveryEnvelope.baseline(Self.sequence(1_700_000_000_000, 0)))
        first.write(RecoveryEnvelope.wrap("a", sequence: Self.sequence(1_700_000_000_000, 1)))
        first.write(RecoveryEnvelope.wrap("again", sequence: Self.sequence(1_700_000_000_000, 1)))
        first.write(RecoveryEnvelope.wrap("older", sequence: Self.sequence(999, 0)))
        first.write("plain")
        first.write(RecoveryEnvelope.wrap(["n": 2], sequence: Self.sequence(1_700_000_000_001, 0)))
        try await Self.waitForData(recorder, count: 3)
        #expect(Self.data(recorder) == ["a", "plain", ["n": 2]])
        #expect(client.recoveryPosition.last == Self.sequence(1_700_000_000_001, 0))

        first.end(reconnect: true)
        let second = try await server.spark(2, timeout: .seconds(20))
        #expect(second.query[Self.parameter] == "1700000000001-0", "the reconnect asks from the last sequence")
        // A replay that overlaps what the client has: only what is new is delivered.
        second.write(RecoveryEnvelope.wrap(["n": 2], sequence: Self.sequence(1_700_000_000_001, 0)))
        second.write(RecoveryEnvelope.wrap("b", sequence: Self.sequence(1_700_000_000_002, 0)))
        try await Self.waitForData(recorder, count: 4)
        #expect(Self.data(recorder) == ["a", "plain", ["n": 2], "b"])
        #expect(client.recoveryPosition.queryValue == "1700000000002-0")
        client.end()
    }

    @Test("named events and their acknowledgements work inside envelopes; a duplicate event is dropped")
    func eventsInsideEnvelopes() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try Self.client(server, "websockets")
        let events = NIOLockedValueBox<[[JSONValue]]>([])
        client.onEvent("news") { message in
            events.withLockedValue { $0.append(message.args) }
            message.ack?("thanks")
        }
        let spark = try await server.spark()
        spark.write(RecoveryEnvelope.wrap(PrimusEmitterPacket.event(name: "news", args: [1, "x"], ackID: nil).value, sequence: Self.sequence(5, 0)))
        spark.write(RecoveryEnvelope.wrap(PrimusEmitterPacket.event(name: "news", args: ["duplicate"], ackID: nil).value, sequence: Self.sequence(5, 0)))
        spark.write(RecoveryEnvelope.wrap(PrimusEmitterPacket.event(name: "news", args: ["asks"], ackID: 7).value, sequence: Self.sequence(5, 1)))
        try await eventually("two events") { events.withLockedValue { $0.count } >= 2 }
        try await eventually("the acknowledgement") { !server.received.isEmpty }
        #expect(events.withLockedValue { $0 } == [[1, "x"], ["asks"]])
        #expect(server.receivedValues == [PrimusEmitterPacket.ack(id: 7, args: ["thanks"]).value])
        #expect(client.recoveryPosition.last == Self.sequence(5, 1))
        client.end()
    }

    struct Greeting: Codable, Equatable {
        var text: String
    }

    @Test("an unwrapped message decodes as its payload, and its raw bytes are the payload's")
    func unwrappedMessageDecodesItsPayload() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try Self.client(server, "websockets")
        let recorder = EventRecorder(client)
        let spark = try await server.spark()
        spark.write(RecoveryEnvelope.wrap(["text": "hi"], sequence: Self.sequence(1, 0)))
        try await recorder.waitFor("data")
        let message = try #require(recorder.events.compactMap { if case .data(let message) = $0 { return message } else { return nil } }.first)
        #expect(message.value == ["text": "hi"])
        #expect(try message.decode(as: Greeting.self) == Greeting(text: "hi"))
        #expect(try JSONParser().decode(message.raw, for: nil) == ["text": "hi"])
        client.end()
    }

    @Test("the position lasts as long as the client: end() then open() asks from it; a new client starts empty")
    func positionLastsAsLongAsTheClient() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try Self.client(server, "websockets")
        let recorder = EventRecorder(client)
        let first = try await server.spark(1)
        first.write(RecoveryEnvelope.wrap("x", sequence: Self.sequence(42, 7)))
        try await recorder.waitFor("data")
        client.end()
        try await recorder.waitFor("end")
        client.open()
        let second = try await server.spark(2)
        #expect(second.query[Self.parameter] == "42-7")
        let fresh = try Self.client(server, "websockets")
        let third = try await server.spark(3)
        #expect(third.query[Self.parameter] == "")
        #expect(fresh.recoveryPosition.last == nil)
        client.end()
        fresh.end()
    }

    @Test("recover: false sends no _primus_recover, on reconnects either, and delivers envelopes untouched")
    func recoverFalseLeavesEverythingAlone() async throws {
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        let client = try Self.client(server, "websockets") { $0.recover = false }
        let recorder = EventRecorder(client)
        let first = try await server.spark(1)
        #expect(first.query[Self.parameter] == nil)
        let envelopes = [
            RecoveryEnvelope.wrap("a", sequence: Self.sequence(1, 0)),
            RecoveryEnvelope.wrap("a", sequence: Self.sequence(1, 0)),
            RecoveryEnvelope.baseline(Self.sequence(2, 0)),
        ]
        for envelope in envelopes { first.write(envelope) }
        try await Self.waitForData(recorder, count: 3)
        #expect(Self.data(recorder) == envelopes)
        #expect(client.recoveryPosition.last == nil)
        first.end(reconnect: true)
        let second = try await server.spark(2)
        #expect(second.query[Self.parameter] == nil)
        #expect(second.query["_primuscb"]?.isEmpty == false)
        client.end()
    }

    @Test(
        "end to end, the server's recovery on: broadcasts made while the client was away arrive once and in order after it reconnects",
        arguments: PrimusClientTransports.names
    )
    func missedBroadcastsArriveAfterAReconnect(transformer: String) async throws {
        let server = try await Self.server(transformer) { $0.recovery = PrimusRecovery() }
        defer { Task { await server.stop() } }
        let client = try Self.client(server, transformer)
        let recorder = EventRecorder(client)
        let first = try await server.spark(1, timeout: .seconds(20))
        #expect(first.query[Self.parameter] == "")
        try await eventually("the server holds the client", timeout: .seconds(20)) { server.primus.connected == 1 }
        server.primus.write("before")
        try await Self.waitForData(recorder, count: 1)
        let position = try #require(client.recoveryPosition.last)

        // The client loses its connection; the server broadcasts while it is away.
        client.networkChanged(online: false)
        try await eventually("the server sees the client gone", timeout: .seconds(30)) { server.primus.connected == 0 }
        for n in 1...5 { server.primus.write(.number(Double(n))) }
        client.networkChanged(online: true)
        let second = try await server.spark(2, timeout: .seconds(20))
        #expect(second.query[Self.parameter] == position.description)
        try await Self.waitForData(recorder, count: 6)
        server.primus.write("after")
        try await Self.waitForData(recorder, count: 7)
        #expect(Self.data(recorder) == ["before", 1, 2, 3, 4, 5, "after"])
        #expect(client.recoveryPosition.last == server.primus.adapter.latestSequence)
        client.end()
    }
}
