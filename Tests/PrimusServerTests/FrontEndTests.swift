import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusCore
import Testing

@testable import PrimusServer

/// ``PrimusFrontEnd``, the seam the Hummingbird and Vapor adapters stand on, driven directly
/// with the real transformers (the adapters' interop suites drive it through each framework's
/// own server).
@Suite("front-end seam for web frameworks")
struct FrontEndTests {
    private let loop = MultiThreadedEventLoopGroup.singleton.any()

    private func head(_ method: HTTPMethod, _ uri: String, _ headers: [(String, String)] = []) -> HTTPRequestHead {
        HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: HTTPHeaders([("Host", "127.0.0.1")] + headers))
    }

    private func serve(_ frontEnd: PrimusFrontEnd, _ head: HTTPRequestHead, body: [String] = []) async -> PrimusFrontEndAnswer {
        await frontEnd.serve(head: head, body: Parts(body.map { ByteBuffer(string: $0) }), remoteAddress: nil, secure: false, on: loop)
    }

    private func text(_ answer: PrimusFrontEndAnswer) async -> String {
        switch answer.body {
        case .bytes(let bytes):
            return String(buffer: bytes)
        case .stream(let stream):
            var all = ""
            for await part in stream { all += String(buffer: part) }
            return all
        }
    }

    @Test("spec and primus.js are answered through the seam, with the middleware's headers")
    func specAndLibrary() async throws {
        let frontEnd = PrimusFrontEnd(primus: Primus())
        #expect(frontEnd.owns(path: "/primus/spec"))
        #expect(!frontEnd.owns(path: "/"))
        let spec = await serve(frontEnd, head(.GET, "/primus/spec", [("Origin", "http://other.example")]))
        #expect(spec.status == .ok)
        #expect(spec.headers.first(name: "access-control-allow-origin") == "http://other.example")
        #expect(spec.headers.first(name: "content-length") == nil, "the framework frames the body")
        let json = try JSONReader.parse(await text(spec))
        #expect(json["transformer"]?.stringValue == "websockets")
        let library = await serve(frontEnd, head(.GET, "/primus/primus.js"))
        #expect(library.status == .ok)
        #expect(await text(library).contains("Primus"))
    }

    @Test("a path outside the pathname is not Primus's: 404")
    func outside() async {
        let answer = await serve(PrimusFrontEnd(primus: Primus()), head(.GET, "/elsewhere"))
        #expect(answer.status == .notFound)
    }

    @Test("a body over the limit gets 413 with Connection: close, declared or streamed")
    func bodyTooLarge() async {
        let frontEnd = PrimusFrontEnd(primus: Primus(), maxRequestBodyLength: 16)
        let declared = await serve(frontEnd, head(.POST, "/primus/", [("Content-Length", "17")]))
        #expect(declared.status == .payloadTooLarge)
        #expect(declared.closesConnection)
        let streamed = await serve(frontEnd, head(.POST, "/primus/"), body: ["0123456789", "0123456789"])
        #expect(streamed.status == .payloadTooLarge)
    }

    @Test("authorization refuses a plain request and an upgrade as the standalone server does")
    func authorization() async throws {
        let primus = Primus()
        primus.authorize { context in
            guard context.query["token"] == "yes" else { throw PrimusHTTPError(status: .unauthorized, message: "no token") }
        }
        let frontEnd = PrimusFrontEnd(primus: primus)
        let refused = try await frontEnd.decideUpgrade(head: head(.GET, "/primus/?token=no"), remoteAddress: nil, secure: false, on: loop).get()
        guard case .refuse(let response) = refused else {
            Issue.record("an upgrade without the token was accepted")
            return
        }
        #expect(response.status == .unauthorized)
        #expect(response.headers.first(name: "connection") == "close")
        let admitted = try await frontEnd.decideUpgrade(head: head(.GET, "/primus/?token=yes"), remoteAddress: nil, secure: false, on: loop).get()
        guard case .accept(let acceptance) = admitted else {
            Issue.record("an upgrade with the token was refused")
            return
        }
        #expect(acceptance.maxMessageLength == primus.configuration.maxLength)
        try await loop.submit { acceptance.abandoned() }.get()  // the 101 never went out
        try await waitUntil { primus.connected == 0 }
    }

    @Test("engine.io polling: handshake, a parked poll answered by a write, and a poll released when its task is cancelled")
    func engineIOPolling() async throws {
        var configuration = PrimusConfiguration()
        configuration.transformer = .engineIO
        let primus = Primus(configuration: configuration)
        primus.onConnection { spark in spark.onMessage { message in spark.write(message.value) } }
        let frontEnd = PrimusFrontEnd(primus: primus)
        #expect(frontEnd.maxRequestBodyLength >= primus.configuration.maxLength)

        let open = await text(await serve(frontEnd, head(.GET, "/primus/?EIO=4&transport=polling")))
        #expect(open.hasPrefix("0{"))
        let handshake = try JSONReader.parse(String(open.dropFirst()))
        let sid = try #require(handshake["sid"]?.stringValue)
        let poll = "/primus/?EIO=4&transport=polling&sid=\(sid)"

        // The poll parks until the echo of the POST comes back.
        async let parked = serve(frontEnd, head(.GET, poll))
        let post = await serve(frontEnd, head(.POST, poll, [("Content-Type", "text/plain;charset=UTF-8")]), body: ["4\"hello\""])
        #expect(await text(post) == "ok")
        #expect(await text(await parked) == "4\"hello\"")

        // A poll whose task is cancelled (its client went away) is released at once, not at the
        // session's next ping (25 s away), and, as in the reference server, a poll closed early
        // closes its session.
        let task = Task { await serve(frontEnd, head(.GET, poll)) }
        task.cancel()
        _ = await task.value
        try await waitUntil { primus.connected == 0 }
    }

    @Test("a streamed answer (SockJS xhr-streaming) arrives part by part")
    func streamedAnswer() async throws {
        var configuration = PrimusConfiguration()
        configuration.transformer = .sockjs
        let primus = Primus(configuration: configuration)
        let frontEnd = PrimusFrontEnd(primus: primus)
        let answer = await serve(frontEnd, head(.POST, "/primus/000/abcdefgh/xhr_streaming"))
        #expect(answer.status == .ok)
        guard case .stream(let stream) = answer.body else {
            Issue.record("xhr_streaming was not streamed")
            return
        }
        var iterator = stream.makeAsyncIterator()
        let prelude = try #require(await iterator.next())
        #expect(prelude.readableBytes == 2049, "2,048 bytes of h, then a newline")
        let open = try #require(await iterator.next())
        #expect(String(buffer: open) == "o\n")
        #expect(primus.connected == 1)
        stream.peerGone()
        #expect(await iterator.next() == nil, "the answer ends once its client is gone")
    }

    private func waitUntil(_ condition: @escaping @Sendable () -> Bool) async throws {
        let deadline = ContinuousClock.now + .seconds(10)
        while !condition() {
            guard ContinuousClock.now < deadline else {
                Issue.record("condition not met within 10 s")
                return
            }
            try await Task.sleep(for: .milliseconds(10))
        }
    }
}

/// A request body as a framework hands it over: parts, one at a time.
private struct Parts: AsyncSequence, Sendable {
    typealias Element = ByteBuffer
    let parts: [ByteBuffer]

    init(_ parts: [ByteBuffer]) { self.parts = parts }

    func makeAsyncIterator() -> Iterator { Iterator(parts: parts[...]) }

    struct Iterator: AsyncIteratorProtocol {
        var parts: ArraySlice<ByteBuffer>
        mutating func next() async -> ByteBuffer? { parts.popFirst() }
    }
}
