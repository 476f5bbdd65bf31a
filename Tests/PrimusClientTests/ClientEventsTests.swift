import NIOConcurrencyHelpers
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// Named events, acknowledgements and rooms between our Swift client and our server, on real
/// sockets, over each transformer that carries them as primus-emitter packets.
@Suite("Events, acknowledgements and rooms (Swift client and server)", .timeLimit(.minutes(2)))
struct ClientEventsTests {
    static let transformers: [PrimusTransformer] = [.websockets, .engineIO, .sockjs]

    private func server(_ transformer: PrimusTransformer) async throws -> LoopbackServer {
        let server = try await LoopbackServer.start(transformer: transformer)
        server.primus.onConnection { spark in
            spark.on("shout") { event in
                spark.emit("echo", arguments: event.args.map { value in value.stringValue.map { .string($0.uppercased()) } ?? value })
            }
            spark.on("add") { event in
                let sum = event.args.compactMap(\.numberValue).reduce(0, +)
                event.ack?(.number(sum))
            }
            spark.on("join") { event in
                if let room = event.args.first?.stringValue { spark.join(room) }
                event.ack?(.array(spark.rooms.sorted().map { .string($0) }))
            }
            spark.on("say") { event in
                guard let room = event.args.first?.stringValue else { return }
                spark.to(room).emit("said", arguments: Array(event.args.dropFirst()))
            }
        }
        return server
    }

    private func client(_ server: LoopbackServer, _ transformer: PrimusTransformer) throws -> PrimusClient {
        let transport = try PrimusClientTransports.named(transformer.name)
        return try PrimusClient(server.httpURL, configuration: fastConfiguration { $0.transport = transport })
    }

    @Test(arguments: transformers)
    func eventsBothWays(transformer: PrimusTransformer) async throws {
        let server = try await server(transformer)
        defer { Task { await server.stop() } }
        let client = try client(server, transformer)
        defer { client.end() }
        let echoes = NIOLockedValueBox<[[JSONValue]]>([])
        client.onEvent("echo") { event in echoes.withLockedValue { $0.append(event.args) } }
        client.emit("shout", "hello", .number(3))
        try await eventually("the echo event") { !echoes.withLockedValue { $0.isEmpty } }
        #expect(echoes.withLockedValue { $0 } == [["HELLO", .number(3)]])
    }

    @Test(arguments: transformers)
    func acknowledgementsBothWays(transformer: PrimusTransformer) async throws {
        let server = try await server(transformer)
        defer { Task { await server.stop() } }
        let client = try client(server, transformer)
        defer { client.end() }
        // Client asks, server answers.
        #expect(try await client.emitWithAck("add", .number(1), .number(2), .number(39)) == [.number(42)])
        // Server asks, client answers.
        client.onEvent("question") { event in event.ack?(.string("answer to \(event.args.first?.stringValue ?? "")")) }
        let spark = try await server.spark()
        let answer = try await spark.emitWithAck("question", .string("life"), timeout: .seconds(10))
        #expect(answer == [.string("answer to life")])
    }

    @Test
    func unansweredAcknowledgementsTimeOutOnBothSides() async throws {
        let server = try await server(.websockets)
        defer { Task { await server.stop() } }
        let client = try client(server, .websockets)
        defer { client.end() }
        await #expect(throws: PrimusError.self) { try await client.emitWithAck("nobody-answers", timeout: .milliseconds(200)) }
        client.onEvent("ignored") { _ in }
        let spark = try await server.spark()
        do {
            _ = try await spark.emitWithAck("ignored", timeout: .milliseconds(200))
            Issue.record("an unanswered acknowledgement returned")
        } catch let error as PrimusError {
            #expect(error.code == .timeout)
        }
    }

    @Test
    func aPendingAcknowledgementFailsWhenTheSparkEnds() async throws {
        let server = try await server(.websockets)
        defer { Task { await server.stop() } }
        let client = try client(server, .websockets)
        client.onEvent("question") { _ in client.end() }
        let spark = try await server.spark()
        do {
            _ = try await spark.emitWithAck("question", timeout: .seconds(30))
            Issue.record("the acknowledgement of an ended spark returned")
        } catch let error as PrimusError {
            #expect(error.code == .sparkClosed)
        }
    }

    @Test(arguments: transformers)
    func roomsReachMembersButNotTheSender(transformer: PrimusTransformer) async throws {
        let server = try await server(transformer)
        defer { Task { await server.stop() } }
        let alice = try client(server, transformer)
        let bob = try client(server, transformer)
        let carol = try client(server, transformer)
        defer { for c in [alice, bob, carol] { c.end() } }
        let heard = NIOLockedValueBox<[String: [JSONValue]]>([:])
        for (name, c) in [("alice", alice), ("bob", bob), ("carol", carol)] {
            c.onEvent("said") { event in heard.withLockedValue { $0[name, default: []] += event.args } }
        }
        #expect(try await alice.emitWithAck("join", "blue") == [.array(["blue"])])
        #expect(try await bob.emitWithAck("join", "blue") == [.array(["blue"])])
        #expect(try await carol.emitWithAck("join", "red") == [.array(["red"])])
        alice.emit("say", "blue", "hi blue")
        try await eventually("bob hears alice") { heard.withLockedValue { $0["bob"] } == ["hi blue"] }
        // A later event to everyone proves the others had their chance to hear it first.
        server.primus.emit("said", "to all")
        try await eventually("everyone hears the broadcast") { heard.withLockedValue { $0.count } == 3 }
        #expect(heard.withLockedValue { $0["alice"] } == ["to all"])
        #expect(heard.withLockedValue { $0["carol"] } == ["to all"])
        #expect(server.primus.room("blue").sparkIDs.count == 2)
    }

    @Test
    func typedPayloadsThroughCodable() async throws {
        struct Point: Codable, Sendable, Equatable {
            var x: Int
            var y: Int
        }
        let server = try await LoopbackServer.start()
        defer { Task { await server.stop() } }
        server.primus.onConnection { spark in
            spark.on("move", as: Point.self) { point, ack in
                try? ack?.send(Point(x: point.x + 1, y: point.y + 1))
            }
        }
        let client = try PrimusClient(server.url, configuration: fastConfiguration())
        defer { client.end() }
        let answer = try await client.emitWithAck("move", arguments: [try JSONValueEncoder().encode(Point(x: 1, y: 2))])
        #expect(try JSONValueDecoder().decode(Point.self, from: answer[0]) == Point(x: 2, y: 3))
    }
}
