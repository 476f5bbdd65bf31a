import Foundation
import NIOCore
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// Issue 11 through the Swift client and our server on loopback: bytes travel as bytes, on
/// both transformers, and object keys keep their order, through the echo and through broadcast.
@Suite("PrimusClient: bytes and key order", .timeLimit(.minutes(1)))
struct ClientBinaryAndOrderTests {
    static let transformers = ["websockets", "engine.io"]

    static func start(_ transformer: String) async throws -> (LoopbackServer, PrimusClient) {
        let server = try await LoopbackServer.start(transformer: transformer == "websockets" ? .websockets : .engineIO)
        var configuration = try PrimusClientConfiguration(transformer: transformer)
        configuration = fastConfiguration { $0.transport = configuration.transport }
        return (server, try PrimusClient(server.url, configuration: configuration))
    }

    static func dataMessages(_ recorder: EventRecorder) -> [PrimusClientMessage] {
        recorder.events.compactMap { if case .data(let message) = $0 { return message } else { return nil } }
    }

    @Test("the client writes Data; the spark gets bytes; the echo comes back as bytes", arguments: transformers)
    func bytesRoundTrip(transformer: String) async throws {
        let (server, client) = try await Self.start(transformer)
        defer { Task { await server.stop() } }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        let payload = Data((0...255).map { UInt8($0) } + [0xFF, 0xFE])
        client.write(payload)
        try await eventually("the spark got the bytes") { server.received.count >= 1 }
        #expect(server.receivedValues.first == JSONValue.binary(ByteBuffer(bytes: payload)))

        try await server.spark().write(payload)
        try await eventually("the client got the bytes") { Self.dataMessages(recorder).count >= 1 }
        let message = try #require(Self.dataMessages(recorder).first)
        #expect(message.value == JSONValue.binary(ByteBuffer(bytes: payload)))
        #expect(message.raw == TransportMessage.binary(ByteBuffer(bytes: payload)))
        client.end()
    }

    @Test("twenty keys keep their order, sent by the spark and broadcast", arguments: transformers)
    func keyOrderSurvives(transformer: String) async throws {
        let (server, client) = try await Self.start(transformer)
        defer { Task { await server.stop() } }
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        let keys = (0..<20).map { "key\(($0 * 7) % 20)" }
        let object = JSONValue.object(JSONObject(keys.enumerated().map { ($1, .number(Double($0))) }))
        let text = object.description

        let spark = try await server.spark()
        spark.write(object)
        spark.primus.write(object)
        try await eventually("both copies arrived") { Self.dataMessages(recorder).count >= 2 }
        for message in Self.dataMessages(recorder) {
            #expect(message.raw.string == text)
            #expect(message.value.objectValue?.keys == keys)
            #expect(message.value.description == text)
        }
        client.end()
    }
}
