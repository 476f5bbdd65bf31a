import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import PrimusClient
import PrimusCore
import PrimusServer
import Testing

/// `http://user:pass@host`: the credentials reach the server as `Authorization: Basic …` on every
/// request of every transport, as Primus's client sends them.
@Suite("PrimusClient: URL credentials", .timeLimit(.minutes(1)))
struct ClientCredentialsTests {
    enum Mode: String, CaseIterable, Sendable {
        case websockets, engineIOUpgrade = "engine.io", engineIOPolling = "engine.io polling"

        var transformer: PrimusTransformer { self == .websockets ? .websockets : .engineIO }
        var transport: any PrimusClientTransport {
            switch self {
            case .websockets: WebSocketClientTransport()
            case .engineIOUpgrade: EngineIOClientTransport()
            case .engineIOPolling: EngineIOClientTransport(websockets: false)
            }
        }
    }

    @Test(
        "checklist 37: http://usr:pass@host reaches the spark and every request as Authorization: Basic dXNyOnBhc3M=",
        arguments: Mode.allCases
    )
    func credentialsBecomeBasicAuthorization(mode: Mode) async throws {
        var serverConfiguration = PrimusConfiguration()
        serverConfiguration.transformer = mode.transformer
        let primus = Primus(configuration: serverConfiguration)
        let authorization = NIOLockedValueBox<[String]>([])
        primus.onConnection { spark in
            authorization.withLockedValue { $0.append(contentsOf: spark.headers["authorization"]) }
            spark.onMessage { message in spark.write(message.value) }
        }
        let recorder = RequestRecorder()
        let listener = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    // Sees the raw request bytes before Primus's HTTP handling.
                    try channel.pipeline.syncOperations.addHandler(recorder.handler())
                    try PrimusHTTPServer.configure(channel: channel, primus: primus)
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        let port = try #require(listener.localAddress?.port)

        var configuration = fastConfiguration()
        configuration.transport = mode.transport
        let client = try PrimusClient("http://usr:pass@127.0.0.1:\(port)", configuration: configuration)
        let events = EventRecorder(client)
        for index in 0..<5 { client.write(.number(Double(index))) }
        try await events.waitFor("data", count: 5)
        if mode == .engineIOUpgrade {
            try await eventually("the upgrade request") { recorder.requests().contains { $0.line.contains("transport=websocket") } }
        }
        client.end()

        #expect(authorization.withLockedValue { $0 } == ["Basic dXNyOnBhc3M="])
        let requests = recorder.requests()
        #expect(!requests.isEmpty)
        for request in requests {
            #expect(request.authorization == ["Basic dXNyOnBhc3M="], "\(request.line)")
        }
        switch mode {
        case .websockets:
            #expect(requests.count == 1)
        case .engineIOUpgrade:
            #expect(requests.contains { $0.line.contains("transport=websocket") })
            #expect(requests.contains { $0.line.hasPrefix("GET") && $0.line.contains("transport=polling") })
        case .engineIOPolling:
            #expect(requests.contains { $0.line.hasPrefix("POST") })
            #expect(requests.filter { $0.line.hasPrefix("GET") }.count >= 2)
        }
        try await listener.close()
        await primus.shutdown()
    }
}

/// Keeps the bytes every connection sends and reads the request heads out of them.
final class RequestRecorder: Sendable {
    struct Request {
        var line: String
        var authorization: [String]
    }

    private let connections = NIOLockedValueBox<[NIOLockedValueBox<[UInt8]>]>([])

    func handler() -> any ChannelHandler {
        let bytes = NIOLockedValueBox<[UInt8]>([])
        connections.withLockedValue { $0.append(bytes) }
        return Tap(bytes: bytes)
    }

    /// Every request head seen (request line and its `Authorization` values), in order per connection.
    func requests() -> [Request] {
        var found: [Request] = []
        for connection in connections.withLockedValue({ $0 }) {
            let text = String(decoding: connection.withLockedValue { $0 }, as: UTF8.self)
            var current: Request?
            for line in text.split(separator: "\r\n", omittingEmptySubsequences: false) {
                if line.hasPrefix("GET /primus") || line.hasPrefix("POST /primus") {
                    if let current { found.append(current) }
                    current = Request(line: String(line), authorization: [])
                } else if line.lowercased().hasPrefix("authorization:") {
                    current?.authorization.append(line.dropFirst("authorization:".count).trimmingCharacters(in: .whitespaces))
                } else if line.isEmpty, let finished = current {
                    found.append(finished)
                    current = nil
                }
            }
            if let current { found.append(current) }
        }
        return found
    }

    private final class Tap: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        let bytes: NIOLockedValueBox<[UInt8]>

        init(bytes: NIOLockedValueBox<[UInt8]>) { self.bytes = bytes }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            let buffer = unwrapInboundIn(data)
            bytes.withLockedValue { $0.append(contentsOf: buffer.readableBytesView) }
            context.fireChannelRead(data)
        }
    }
}
