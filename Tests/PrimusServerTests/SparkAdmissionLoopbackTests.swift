import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PrimusCore
import PrimusServer
import Testing

// The spark limits of every transformer, against real sockets. Two client addresses on one
// machine: 127.0.0.2 plays the flooding address, 127.0.0.1 the fresh client (the whole 127/8 is
// loopback on Linux).

private let flooder = "127.0.0.2"
private let fresh = "127.0.0.1"

/// A raw TCP client bound to a chosen source address, collecting what it receives.
private struct SourcedPeer: Sendable {
    let channel: any Channel
    let received: NIOLockedValueBox<ByteBuffer>

    static func connect(from source: String, port: Int) async throws -> SourcedPeer {
        let received = NIOLockedValueBox(ByteBuffer())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .bind(to: try SocketAddress(ipAddress: source, port: 0))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture { try channel.pipeline.syncOperations.addHandler(Collector(received: received)) }
            }
            .connect(host: "127.0.0.1", port: port).get()
        return SourcedPeer(channel: channel, received: received)
    }

    var text: String { received.withLockedValue { String(buffer: $0) } }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// The response's status once its head has arrived.
    func status() async throws -> Int {
        try await withTimeout(.seconds(5)) {
            while true {
                let text = self.text
                if text.contains("\r\n\r\n"), let code = text.split(separator: " ").dropFirst().first, let status = Int(code) {
                    return status
                }
                try await Task.sleep(for: .milliseconds(5))
            }
        }
    }

    /// Waits for the server to close the connection, then returns everything it sent.
    func untilClosed() async throws -> String {
        let deadline = channel.eventLoop.scheduleTask(in: .seconds(10)) { channel.close(promise: nil) }
        try? await channel.closeFuture.get()
        deadline.cancel()
        return text
    }

    /// A WebSocket handshake for `target`; the connection stays open when it succeeds.
    static func webSocket(from source: String, port: Int, target: String) async throws -> (SourcedPeer, Int) {
        let peer = try await connect(from: source, port: port)
        try await peer.send(
            "GET \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        return (peer, try await peer.status())
    }

    /// One `Connection: close` request; returns the status and the body.
    static func request(from source: String, port: Int, method: String = "GET", target: String, body: String = "") async throws -> (Int, String) {
        let peer = try await connect(from: source, port: port)
        try await peer.send(
            "\(method) \(target) HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nConnection: close\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"
        )
        let text = try await peer.untilClosed()
        let status = text.split(separator: " ").dropFirst().first.flatMap { Int($0) } ?? 0
        let body = text.range(of: "\r\n\r\n").map { String(text[$0.upperBound...]) } ?? ""
        return (status, body)
    }
}

private final class Collector: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    let received: NIOLockedValueBox<ByteBuffer>

    init(received: NIOLockedValueBox<ByteBuffer>) { self.received = received }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        _ = received.withLockedValue { $0.writeBuffer(&buffer) }
    }
}

/// How many open sparks come from `ip`.
private func sparks(of primus: Primus, from ip: String) -> [Spark] {
    primus.sparks.filter { $0.address.ip == ip }
}

private func engineIO(_ configuration: inout PrimusConfiguration) {
    configuration.transformer = .engineIO
    configuration.pingInterval = nil
}

private let polling = "/primus/?EIO=4&transport=polling"

/// The sid of a polling handshake from `source`.
private func openPollingSession(from source: String, port: Int) async throws -> String {
    let (status, body) = try await SourcedPeer.request(from: source, port: port, target: polling)
    #expect(status == 200, "\(body)")
    return try EngineIOHandshake(json: String(body.dropFirst())).sid
}

@Suite("Spark admission, live on loopback")
struct SparkAdmissionLoopbackTests {
    @Test func aWebSocketHandshakeOverThePerAddressCapGets503AndAnotherAddressIsServed() async throws {
        try await withPrimusServer({ $0.limits.maxSparksPerAddress = 2 }) { port, primus in
            var open: [SourcedPeer] = []
            for _ in 0..<2 {
                let (peer, status) = try await SourcedPeer.webSocket(from: flooder, port: port, target: "/primus")
                #expect(status == 101)
                open.append(peer)
            }
            let (refused, status) = try await SourcedPeer.webSocket(from: flooder, port: port, target: "/primus")
            #expect(status == 503)
            try? await refused.channel.close()
            let (served, freshStatus) = try await SourcedPeer.webSocket(from: fresh, port: port, target: "/primus")
            #expect(freshStatus == 101)
            try await waitUntil { primus.connected == 3 }
            #expect(sparks(of: primus, from: flooder).count == 2)
            // A plain request is still told to upgrade.
            let (plain, _) = try await SourcedPeer.request(from: flooder, port: port, target: "/primus")
            #expect(plain == 426)
            for peer in open + [served] { try? await peer.channel.close() }
            try await waitUntil { primus.connected == 0 && primus.admittedSparks == 0 }
        }
    }

    @Test func aFullServerShedsTheBusiestAddressesNewestWebSocketSpark() async throws {
        try await withPrimusServer({ $0.limits.maxSparks = 3 }) { port, primus in
            var open: [SourcedPeer] = []
            for index in 1...3 {
                let (peer, status) = try await SourcedPeer.webSocket(from: flooder, port: port, target: "/primus?n=\(index)")
                #expect(status == 101)
                open.append(peer)
            }
            try await waitUntil { primus.connected == 3 }
            let (served, status) = try await SourcedPeer.webSocket(from: fresh, port: port, target: "/primus")
            #expect(status == 101)
            try await waitUntil { sparks(of: primus, from: fresh).count == 1 && primus.connected == 3 }
            #expect(Set(sparks(of: primus, from: flooder).compactMap { $0.query["n"] }) == ["1", "2"])
            // The fresh address now holds fewer than the flooder: another flooder handshake is refused.
            let (refused, again) = try await SourcedPeer.webSocket(from: flooder, port: port, target: "/primus?n=4")
            #expect(again == 503)
            for peer in open + [served, refused] { try? await peer.channel.close() }
            try await waitUntil { primus.admittedSparks == 0 }
        }
    }

    @Test func engineIOHandshakesOverThePerAddressCapGet503OnPollingAndWebSocket() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.limits.maxSparksPerAddress = 2
        }) { port, primus in
            _ = try await openPollingSession(from: flooder, port: port)
            _ = try await openPollingSession(from: flooder, port: port)
            let (status, body) = try await SourcedPeer.request(from: flooder, port: port, target: polling)
            #expect(status == 503)
            #expect(try JSONReader.parse(body)["code"] == 3)
            let (socket, webSocketStatus) = try await SourcedPeer.webSocket(from: flooder, port: port, target: "/primus/?EIO=4&transport=websocket")
            #expect(webSocketStatus == 503)
            try? await socket.channel.close()
            _ = try await openPollingSession(from: fresh, port: port)
            let (direct, directStatus) = try await SourcedPeer.webSocket(from: fresh, port: port, target: "/primus/?EIO=4&transport=websocket")
            #expect(directStatus == 101)
            try await waitUntil { primus.connected == 4 && primus.engineIOSessionCount == 4 }
            try? await direct.channel.close()
            try await waitUntil { primus.connected == 3 }
        }
    }

    @Test func aFullEngineIOServerShedsTheBusiestAddressesNewestSession() async throws {
        try await withPrimusServer({
            engineIO(&$0)
            $0.limits.maxSparks = 2
            $0.engineIO.maxSessions = 2
        }) { port, primus in
            let first = try await openPollingSession(from: flooder, port: port)
            let second = try await openPollingSession(from: flooder, port: port)
            let newcomer = try await openPollingSession(from: fresh, port: port)
            try await waitUntil { primus.spark(second) == nil }
            #expect(primus.spark(first) != nil && primus.spark(newcomer) != nil && primus.connected == 2)
            // The shed session's client hears the close on its next poll, and reconnects.
            let (status, body) = try await SourcedPeer.request(from: flooder, port: port, target: polling + "&sid=\(second)")
            #expect(status == 200 && body == "1")
            // Now the flooder holds one, as the newcomer's address does: no more shedding for it.
            let (refused, _) = try await SourcedPeer.request(from: flooder, port: port, target: polling)
            #expect(refused == 503)
            #expect(primus.engineIOSessionCount == 2)
        }
    }
}
