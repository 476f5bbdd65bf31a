import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusClient
import PrimusCore
import Testing

/// A server that refuses the handshake: Primus's client, built against a server with an
/// authorization hook, treats that as final (no reconnect), and so does ours for `401`/`403`.
@Suite("PrimusClient: refused handshakes", .timeLimit(.minutes(1)))
struct ClientAuthorizationTests {
    static let transports = ["websockets", "engine.io"]

    @Test(
        "checklist 32-34: a handshake refused with 401 or 403 gives error then end, and no reconnect",
        arguments: transports, [HTTPResponseStatus.unauthorized, .forbidden]
    )
    func refusedHandshakeIsFinal(transformer: String, status: HTTPResponseStatus) async throws {
        let listener = try await RefusingListener.start(status: status)
        let transport = try PrimusClientTransports.named(transformer)
        // The default strategy (disconnect, online, timeout) with 20 ms between attempts.
        let client = try PrimusClient(listener.url, configuration: fastConfiguration { $0.transport = transport })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("end")
        #expect(recorder.lifecycle == ["error", "close", "end"])
        let errors = recorder.events.compactMap { event -> PrimusError? in
            if case .error(let error) = event { return error }
            return nil
        }
        let message = try #require(errors.first?.message)
        #expect(message == "The server refused the connection: \(status.code) \(status.reasonPhrase): unauthorized")

        // Attempts would be 20 ms, then 20-40 ms, then 40-80 ms apart: wait for ten times that.
        try await Task.sleep(for: .milliseconds(400))
        #expect(listener.requests == 1)
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        #expect(client.readyState == .closed)
        try await listener.close()
    }

    @Test("a handshake answered 503 is an outage, not a refusal: the client keeps reconnecting", arguments: transports)
    func unavailableIsRetried(transformer: String) async throws {
        let listener = try await RefusingListener.start(status: .serviceUnavailable)
        let transport = try PrimusClientTransports.named(transformer)
        let client = try PrimusClient(listener.url, configuration: fastConfiguration { $0.transport = transport })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("reconnect", count: 2)
        try await eventually("a third handshake arrives") { listener.requests >= 3 }
        #expect(recorder.count(of: "end") == 0)
        client.end()
        try await recorder.waitFor("end")
        try await listener.close()
    }

    @Test("an engine.io session whose later poll is refused ends without reconnecting")
    func refusedPollMidSessionIsFinal() async throws {
        // The handshake is answered, every later request refused (a token that expired).
        let listener = try await RefusingListener.start(status: .unauthorized, answerHandshake: true)
        var configuration = fastConfiguration()
        configuration.transport = EngineIOClientTransport(websockets: false)
        let client = try PrimusClient(listener.url, configuration: configuration)
        let recorder = EventRecorder(client)
        try await recorder.waitFor("end")
        #expect(recorder.lifecycle == ["open", "error", "close", "end"])
        try await Task.sleep(for: .milliseconds(300))
        #expect(listener.requests == 2)
        #expect(recorder.count(of: "reconnect scheduled") == 0)
        try await listener.close()
    }
}

/// A loopback HTTP listener that answers every request `status` with Primus's authorization
/// refusal (`{"error":"unauthorized"}`, `WWW-Authenticate: Bearer`) and closes, counting the
/// requests. With `answerHandshake`, the first Engine.IO polling handshake gets a session instead.
final class RefusingListener: Sendable {
    let channel: any Channel
    private let count: NIOLockedValueBox<Int>

    private init(channel: any Channel, count: NIOLockedValueBox<Int>) {
        self.channel = channel
        self.count = count
    }

    static func start(status: HTTPResponseStatus, answerHandshake: Bool = false) async throws -> RefusingListener {
        let count = NIOLockedValueBox(0)
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(Refuser(status: status, answerHandshake: answerHandshake, count: count))
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return RefusingListener(channel: channel, count: count)
    }

    var url: String { "http://127.0.0.1:\(channel.localAddress?.port ?? 0)" }
    /// How many requests arrived.
    var requests: Int { count.withLockedValue { $0 } }

    func close() async throws { try await channel.close() }

    private final class Refuser: ChannelInboundHandler {
        typealias InboundIn = HTTPServerRequestPart
        typealias OutboundOut = HTTPServerResponsePart

        let status: HTTPResponseStatus
        let answerHandshake: Bool
        let count: NIOLockedValueBox<Int>

        init(status: HTTPResponseStatus, answerHandshake: Bool, count: NIOLockedValueBox<Int>) {
            self.status = status
            self.answerHandshake = answerHandshake
            self.count = count
        }

        private var head: HTTPRequestHead?

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .head(let head): self.head = head
            case .body: break
            case .end:
                guard let head else { return }
                self.head = nil
                answer(head, context: context)
            }
        }

        private func answer(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
            let number = count.withLockedValue { count in
                count += 1
                return count
            }
            if answerHandshake, number == 1, head.uri.contains("transport=polling"), !head.uri.contains("sid=") {
                let body = #"0{"sid":"refused-later","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}"#
                respond(context: context, status: .ok, contentType: "text/plain; charset=UTF-8", body: body, close: false)
                return
            }
            respond(context: context, status: status, contentType: "application/json", body: #"{"error":"unauthorized"}"#, close: true)
        }

        private func respond(context: ChannelHandlerContext, status: HTTPResponseStatus, contentType: String, body: String, close: Bool) {
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: contentType)
            headers.add(name: "content-length", value: String(body.utf8.count))
            if status == .unauthorized { headers.add(name: "www-authenticate", value: "Bearer") }
            if close { headers.add(name: "connection", value: "close") }
            context.write(wrapOutboundOut(.head(HTTPResponseHead(version: .http1_1, status: status, headers: headers))), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if close { loopBound.value.close(promise: nil) }
            }
        }
    }
}
