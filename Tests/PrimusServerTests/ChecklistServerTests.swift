import NIOCore
import PrimusCore
import PrimusServer
import Testing

/// The section 6 checklist items of primus-v8.md about the server that no other suite names,
/// over real HTTP and WebSocket connections on loopback; [ALL] items once per transformer.
@Suite("checklist: the server on loopback", .timeLimit(.minutes(1)))
struct ChecklistServerTests {
    static let transformers: [PrimusTransformer] = [.websockets, .engineIO]

    @Test("checklist 8: an unknown transformer or parser throws an error that names it")
    func unknownNames() {
        do {
            _ = try PrimusConfiguration(transformer: "cowsack")
            Issue.record("an unknown transformer was accepted")
        } catch {
            #expect(String(describing: error).contains("cowsack"))
        }
        do {
            _ = try PrimusConfiguration(transformer: "websockets", parser: "cowsack")
            Issue.record("an unknown parser was accepted")
        } catch {
            #expect(String(describing: error).contains("cowsack"))
        }
    }

    @Test("checklist 12: PrimusHTTPServer(primus:port:) serves a Primus with its options (spec.transformer is engine.io)")
    func createServer() async throws {
        try await withPrimusServer({ $0.transformer = .engineIO }) { port, primus in
            let response = try await httpRequest(port: port, target: "/primus/spec")
            #expect(response.status == 200)
            #expect(response.body.contains(#""transformer":"engine.io""#))
            #expect(primus.spec.transformer == "engine.io")
        }
    }

    @Test("checklist 14 and 20: the library and the spec are served the same way by every transformer", arguments: transformers)
    func libraryAndSpec(transformer: PrimusTransformer) async throws {
        try await withPrimusServer({ $0.transformer = transformer }) { port, primus in
            let library = try await httpRequest(port: port, target: "/primus/primus.js")
            #expect(library.status == 200)
            #expect(library.headers["content-type"] == "text/javascript; charset=utf-8")
            #expect(library.body == primus.library())
            #expect(library.body.contains("Primus.prototype"))
            let spec = try await httpRequest(port: port, target: "/primus/spec")
            #expect(spec.status == 200)
            #expect(spec.body == #"{"pingInterval":30000,"pathname":"/primus","version":"8.0.9","parser":"json","transformer":"\#(transformer.name)"}"#)
        }
    }

    @Test("checklist 21 and 22: outside the pathname the fallback answers; an unknown path under its prefix is answered and the server goes on", arguments: transformers)
    func outsideAndUnknown(transformer: PrimusTransformer) async throws {
        try await withPrimusServer({ $0.transformer = transformer }, fallback: { request in .text("original listener \(request.path)") }) { port, _ in
            let outside = try await httpRequest(port: port, target: "/nothrow")
            #expect(outside.status == 200)
            #expect(outside.body == "original listener /nothrow")
            for target in ["/primus.js", "/primus/unknown", "/primus/primus.js/x"] {
                let unknown = try await httpRequest(port: port, target: target)
                #expect((200...599).contains(unknown.status), "\(target)")
            }
            let spec = try await httpRequest(port: port, target: "/primus/spec")
            #expect(spec.status == 200)
        }
    }

    @Test("checklist 48: write([\"\\u{2028}\\u{2029}\"]) sends the line and paragraph separators escaped")
    func lineSeparatorsEscaped() async throws {
        let sparks = Recorder<Spark>()
        try await withPrimusServer(setup: { primus in primus.onConnection { sparks.append($0) } }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 1 }
            sparks.all[0].write(["\u{2028}\u{2029}"])
            #expect(try await socket.nextText() == #"["\u2028\u2029"]"#)
        }
    }

    @Test("checklist 49 and 73: a value that cannot be encoded is reported to onError, nothing is sent, and the spark can still be ended")
    func unencodableWrite() async throws {
        struct Unencodable: Encodable {
            struct Refused: Error {}
            func encode(to encoder: any Encoder) throws { throw Refused() }
        }
        let sparks = Recorder<Spark>()
        let errors = Recorder<PrimusError>()
        try await withPrimusServer(setup: { primus in
            primus.onConnection { spark in
                spark.onError { errors.append($0) }
                sparks.append(spark)
            }
        }) { port, _ in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { sparks.count == 1 }
            let spark = sparks.all[0]
            spark.write(Unencodable())
            try await waitUntil { errors.count == 1 }
            spark.write("after")
            #expect(try await socket.nextText() == #""after""#)  // nothing was sent before it
            spark.end()
            #expect(try await socket.nextText() == #""primus::server::close""#)
            #expect(try await socket.closeCode() == 1005, "no status code, as Primus closes")
        }
    }
}
