import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// A middleware layer that behaves like a sticky load balancer in front of the server: it sets
/// a cookie on the answer to the very first request (HAProxy's `cookie SERVERID insert`) and
/// records the `Cookie` header of every request after it.
private final class StickyCookieLayer: Sendable {
    struct Request: Sendable {
        var kind: PrimusMiddlewareContext.Kind
        var uri: String
        var cookies: [String]
    }

    private let requests = NIOLockedValueBox<[Request]>([])
    let setCookie: String
    /// With `refuseFirstUpgrade`, the first WebSocket upgrade is answered `503` (with the
    /// cookie) instead, like a node that is not ready yet.
    let refuseFirstUpgrade: Bool

    init(setCookie: String = "SERVERID=node1; Path=/; HttpOnly", refuseFirstUpgrade: Bool = false) {
        self.setCookie = setCookie
        self.refuseFirstUpgrade = refuseFirstUpgrade
    }

    var recorded: [Request] { requests.withLockedValue { $0 } }

    var layer: PrimusMiddleware {
        PrimusMiddleware(name: "sticky-cookie") { [self] context in
            let request = Request(kind: context.kind, uri: context.head.uri, cookies: context.headers["cookie"])
            let isFirst = requests.withLockedValue { list in
                list.append(request)
                return list.count == 1
            }
            guard isFirst else { return .next }
            context.responseHeaders.add(name: "Set-Cookie", value: setCookie)
            if refuseFirstUpgrade, context.kind == .upgrade {
                return .respond(PrimusHTTPResponse(status: .serviceUnavailable))
            }
            return .next
        }
    }
}

/// One way of connecting, for the parameterized test.
struct CookieTransportCase: Sendable, CustomTestStringConvertible {
    var name: String
    var transformer: PrimusTransformer
    var transport: any PrimusClientTransport
    /// Whether the session ends on a WebSocket upgrade request (which must carry the cookie too).
    var upgrades: Bool

    var testDescription: String { name }

    static let all: [CookieTransportCase] = [
        .init(name: "engine.io polling", transformer: .engineIO, transport: EngineIOClientTransport(websockets: false), upgrades: false),
        .init(name: "engine.io upgrading", transformer: .engineIO, transport: EngineIOClientTransport(websockets: true), upgrades: true),
        .init(name: "socket.io upgrading", transformer: .socketIO, transport: SocketIOClientTransport(), upgrades: true),
        .init(name: "sockjs websocket", transformer: .sockjs, transport: SockJSClientTransport(transports: [.websocket]), upgrades: true),
        .init(name: "sockjs xhr-streaming", transformer: .sockjs, transport: SockJSClientTransport(transports: [.xhrStreaming]), upgrades: false),
        .init(name: "sockjs xhr-polling", transformer: .sockjs, transport: SockJSClientTransport(transports: [.xhrPolling]), upgrades: false),
        .init(name: "browserchannel", transformer: .browserChannel, transport: BrowserChannelClientTransport(), upgrades: false),
    ]
}

/// The client keeps the cookies its server sets, as a browser does, and sends them back on every
/// later request, reconnects included: behind a sticky load balancer that is what keeps a
/// polling session on the node that holds it.
@Suite("PrimusClient keeps its server's cookies", .timeLimit(.minutes(2)))
struct ClientCookieLoopbackTests {
    @Test("a cookie from the first answer comes back on every later request, upgrades and reconnects included, after the user's own", arguments: CookieTransportCase.all)
    func cookieComesBackOnEveryLaterRequest(_ setup: CookieTransportCase) async throws {
        let sticky = StickyCookieLayer()
        let server = try await LoopbackServer.start(echo: true, transformer: setup.transformer)
        defer { Task { await server.stop() } }
        server.primus.use(sticky.layer, at: 0)
        let client = try PrimusClient(server.httpURL, configuration: fastConfiguration {
            $0.transport = setup.transport
            $0.headers = ["Cookie": "mine=1"]
        })
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(20))
        client.write("one")
        try await recorder.waitFor("data", timeout: .seconds(20))
        if setup.upgrades {
            try await eventually("an upgrade request", timeout: .seconds(20)) { sticky.recorded.contains { $0.kind == .upgrade } }
        }
        // A reconnect starts a new session: it must carry the cookie as well.
        try await server.spark().end(reconnect: true)
        try await recorder.waitFor("open", count: 2, timeout: .seconds(20))
        client.write("two")
        try await recorder.waitFor("data", count: 2, timeout: .seconds(20))
        if setup.upgrades {
            try await eventually("the second session's upgrade", timeout: .seconds(20)) {
                sticky.recorded.filter { $0.kind == .upgrade }.count >= 2
            }
        }
        client.end()

        let requests = sticky.recorded
        #expect(requests.count >= 3, "\(requests.map(\.uri))")
        #expect(requests.first?.cookies == ["mine=1"])
        for request in requests.dropFirst() {
            #expect(request.cookies == ["mine=1; SERVERID=node1"], "\(request.kind) \(request.uri)")
        }
        if setup.upgrades {
            #expect(requests.dropFirst().filter { $0.kind == .upgrade }.count >= 2)
        }
    }

    @Test("cookies of a refused upgrade and of a 101 come back on the next upgrade; a Secure one stays off plain HTTP")
    func webSocketAnswersSetCookies() async throws {
        let sticky = StickyCookieLayer(setCookie: "refused=1", refuseFirstUpgrade: true)
        let server = try await LoopbackServer.start(transformer: .websockets)
        defer { Task { await server.stop() } }
        server.primus.use(sticky.layer, at: 0)
        // Our server puts no middleware header on a 101; a proxy in between adds cookies to it.
        let proxy = try await CookieInjectingProxy.start(to: server.port, setCookies: ["upgraded=2", "tls-only=3; Secure"])
        defer { proxy.close(promise: nil) }
        let port = try #require(proxy.localAddress?.port)

        let client = try PrimusClient("ws://127.0.0.1:\(port)", configuration: fastConfiguration())
        let recorder = EventRecorder(client)
        try await recorder.waitFor("open", timeout: .seconds(20))
        try await server.spark().end(reconnect: true)
        try await recorder.waitFor("open", count: 2, timeout: .seconds(20))
        client.end()

        // The refused attempt, the one that opened, the reconnect.
        #expect(sticky.recorded.map(\.cookies) == [[], ["refused=1"], ["refused=1; upgraded=2"]])
    }
}

/// Relays each client connection to the server on `port`, adding `Set-Cookie` lines to the
/// server's first response head on that connection when it is a `101`.
private enum CookieInjectingProxy {
    static func start(to port: Int, setCookies: [String]) async throws -> any Channel {
        try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ClientSideRelay(port: port) { client in ServerSide(client: client, setCookies: setCookies) })
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
    }

    /// The server's side: holds its bytes until the first response head is complete, adds the
    /// cookies to a `101`, then relays everything untouched.
    private final class ServerSide: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let client: any Channel
        private let setCookies: [String]
        private var held: ByteBuffer? = ByteBuffer()

        init(client: any Channel, setCookies: [String]) {
            self.client = client
            self.setCookies = setCookies
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            guard var head = held else {
                client.writeAndFlush(buffer, promise: nil)
                return
            }
            head.writeBuffer(&buffer)
            let bytes = Array(head.readableBytesView)
            let blankLine = Array("\r\n\r\n".utf8)
            guard let end = bytes.indices.dropLast(3).first(where: { bytes[$0..<($0 + 4)].elementsEqual(blankLine) }) else {
                held = head
                return
            }
            held = nil
            // Frames may follow the head in the same read: only the head is touched.
            var rewritten = ByteBuffer(bytes: bytes[..<end])
            if bytes.starts(with: Array("HTTP/1.1 101".utf8)) {
                for line in setCookies { rewritten.writeString("\r\nSet-Cookie: " + line) }
            }
            rewritten.writeBytes(bytes[end...])
            client.writeAndFlush(rewritten, promise: nil)
        }

        func channelInactive(context: ChannelHandlerContext) {
            client.close(promise: nil)
            context.fireChannelInactive()
        }
    }
}
