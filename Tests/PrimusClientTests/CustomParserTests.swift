import NIOConcurrencyHelpers
import NIOCore
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// A custom parser, registered once by name, used by the server and by the Swift client found
/// through the server's spec, and given the connection it works for: it writes who encoded
/// each message (the spark's id on the server, `client` in the client) before the JSON.
struct TaggedParser: PrimusParser {
    var name: String { "tagged-test" }

    func encode(_ value: JSONValue, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        let tag: String
        switch context {
        case let spark as Spark: tag = spark.id
        case is PrimusClient: tag = "client"
        default: tag = "nobody"
        }
        return .text(tag + "|" + value.description)
    }

    func decode(_ message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> JSONValue {
        let text = message.string
        guard let bar = text.firstIndex(of: "|") else { throw PrimusError.decodingFailed("no tag") }
        do {
            return try JSONReader.parse(String(text[text.index(after: bar)...]))
        } catch {
            throw PrimusError.decodingFailed("\(error)")
        }
    }

    func encode<T: Encodable>(encodable value: T, for context: (any PrimusParserContext)?) throws(PrimusError) -> TransportMessage {
        throw PrimusError.encodingFailed("values only")
    }

    func decode<T: Decodable>(_ type: T.Type, from message: TransportMessage, for context: (any PrimusParserContext)?) throws(PrimusError) -> T {
        guard let value = try decode(message, for: context) as? T else { throw PrimusError.decodingFailed("values only") }
        return value
    }
}

@Suite("custom parsers", .timeLimit(.minutes(1)))
struct CustomParserTests {
    @Test("checklist 6 and 79: a registered parser is found by name and from the spec, and its encoder sees the spark and the client")
    func registeredParserSeesItsConnection() async throws {
        PrimusParsers.register(TaggedParser())
        #expect(PrimusParsers.names.contains("tagged-test"))
        #expect(try PrimusParsers.named("Tagged-Test").name == "tagged-test")

        let server = try await LoopbackServer.start(echo: true, parser: PrimusParsers.named("tagged-test"))
        defer { Task { await server.stop() } }
        let raws = Recorded<String>()
        server.primus.onConnection { spark in
            spark.onMessage { message in raws.append(message.raw.string) }
        }
        var configuration = try await PrimusClient.discover("http://127.0.0.1:\(server.port)", configuration: fastConfiguration())
        #expect(configuration.parser.name == "tagged-test")
        configuration.manual = false
        let client = try PrimusClient(server.url, configuration: configuration)
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open")
        client.write(["hello": "there"])
        try await eventually("the echo") {
            recorder.events.contains { if case .data = $0 { return true } else { return false } }
        }
        let spark = try await server.spark()
        let echo = try #require(recorder.events.compactMap { if case .data(let message) = $0 { return message } else { return nil } }.first)
        #expect(echo.value == ["hello": "there"])
        #expect(echo.raw.string == spark.id + #"|{"hello":"there"}"#, "the server's encoder saw the spark")
        #expect(server.receivedValues == [["hello": "there"]])
        #expect(raws.all == [#"client|{"hello":"there"}"#], "the client's encoder saw the client")
        client.end()
    }
}

/// Values appended from any thread.
final class Recorded<Value: Sendable>: Sendable {
    private let values = NIOLockedValueBox<[Value]>([])
    func append(_ value: Value) { values.withLockedValue { $0.append(value) } }
    var all: [Value] { values.withLockedValue { $0 } }
}
