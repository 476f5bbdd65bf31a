import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PrimusCore
@testable import PrimusServer
import ServiceLifecycle
import Testing

private func echo(_ primus: Primus) {
    primus.onConnection { spark in
        spark.onMessage { message in spark.write(message.value) }
    }
}

/// Answers every `primus::ping::` with its pong straight from the client's event loop, and
/// records the pings' timestamps: a test task starved by a loaded machine cannot miss a pong.
private final class PongResponder: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame
    let pings: NIOLockedValueBox<[Int64]>

    init(pings: NIOLockedValueBox<[Int64]>) {
        self.pings = pings
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        if frame.opcode == .text, let timestamp = pingTimestamp(String(buffer: frame.unmaskedData)) {
            pings.withLockedValue { $0.append(timestamp) }
            let pong = WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: #""primus::pong::\#(timestamp)""#))
            context.writeAndFlush(wrapOutboundOut(pong), promise: nil)
        }
        context.fireChannelRead(data)
    }
}

@available(*, unavailable)
extension PongResponder: Sendable {}

/// Connects, answering pings from the first frame on, watches the connection for `duration`;
/// returns the ping timestamps seen and whether the connection was still open at the end.
/// `watched` is how long the window really lasted: a loaded machine can oversleep it.
private func answerPings(port: Int, for duration: Duration) async throws -> (pings: [Int64], open: Bool, watched: Duration) {
    let pings = NIOLockedValueBox<[Int64]>([])
    let started = ContinuousClock.now
    let socket = try await TestWebSocket.connect(port: port, before: { PongResponder(pings: pings) })
    try await Task.sleep(for: duration)  // the observation window, not an assertion
    let open = socket.channel.isActive
    return (pings.withLockedValue { $0 }, open, ContinuousClock.now - started)
}

/// Every text message until the server closes the connection.
private func textsUntilClose(_ socket: TestWebSocket) async throws -> [String] {
    var texts: [String] = []
    while let text = try await socket.nextText(timeout: .seconds(10)) { texts.append(text) }
    return texts
}

@Suite("lifecycle: one heartbeat, shutdown, refusal")
struct LifecycleTests {
    // MARK: - One heartbeat owner

    @Test("two services never produce two pings per interval", arguments: ServiceLayout.all)
    func oneHeartbeatOwner(layout: ServiceLayout) async throws {
        // Generous: a pong must beat the next tick even while the whole suite loads two cores.
        let interval = 2000
        let started = ContinuousClock.now
        let story = Recorder<String>()  // what the server saw, to explain a failure
        try await withServiceGroup({ $0.pingInterval = .milliseconds(interval) }, layout: layout, setup: { primus in
            echo(primus)
            primus.onConnection { spark in
                story.append("connected at \(ContinuousClock.now - started)")
                spark.onHeartbeat { story.append("pong at \(ContinuousClock.now - started)") }
                spark.onEnd { story.append("ended at \(ContinuousClock.now - started)") }
            }
        }) { port, primus, _ in
            let (pings, open, watched) = try await answerPings(port: port, for: .milliseconds(interval * 9 / 2))
            let most = Int(watched / .milliseconds(interval)) + 1
            // Two tickers would ping twice per interval, and the second tick would end this
            // healthy spark because the first ping is not answered yet.
            #expect(open, "server side: \(story.all)")
            #expect(primus.connected == 1)
            #expect(pings.count >= 2 && pings.count <= most, "pings: \(pings) in \(watched)")
            let gaps = zip(pings.dropFirst(), pings).map { $0 - $1 }
            #expect(gaps.allSatisfy { $0 >= Int64(interval / 2) }, "gaps between pings: \(gaps)")
        }
    }

    @Test func theHeartbeatOutlivesTheRunnerThatStartedItWhileAnotherRuns() async throws {
        var configuration = PrimusConfiguration()
        configuration.pingInterval = .milliseconds(50)
        let primus = Primus(configuration: configuration)
        let first = Task { await primus.runHeartbeats() }
        try await waitUntil { primus.heartbeatIsOwned }
        let second = Task { await primus.runHeartbeats() }
        first.cancel()
        await first.value
        // The second runner takes over: the heartbeat is owned again (and only once).
        try await waitUntil { primus.heartbeatIsOwned }
        second.cancel()
        await second.value
        #expect(!primus.heartbeatIsOwned)
    }

    // MARK: - reconnectOnShutdown

    @Test("reconnectOnShutdown false: websockets clients are told primus::server::close", arguments: ServiceLayout.all)
    func noReconnectTellsWebSocketClients(layout: ServiceLayout) async throws {
        try await withServiceGroup(layout: layout, reconnectOnShutdown: false, setup: echo) { port, primus, group in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            await group.triggerGracefulShutdown()
            let texts = try await textsUntilClose(socket)
            #expect(texts == [#""primus::server::close""#])
            try await waitUntil { primus.connected == 0 }
        }
    }

    @Test("reconnectOnShutdown true: websockets clients are dropped without a word, so they reconnect", arguments: ServiceLayout.all)
    func reconnectDropsWebSocketClients(layout: ServiceLayout) async throws {
        try await withServiceGroup(layout: layout, reconnectOnShutdown: true, setup: echo) { port, primus, group in
            let socket = try await TestWebSocket.connect(port: port)
            try await waitUntil { primus.connected == 1 }
            await group.triggerGracefulShutdown()
            let texts = try await textsUntilClose(socket)
            #expect(!texts.contains(#""primus::server::close""#))
            try await waitUntil { primus.connected == 0 }
        }
    }

    @Test("reconnectOnShutdown on engine.io: primus::server::close reaches a polling client only when false", arguments: [false, true])
    func engineIOPollingClientsAtShutdown(reconnect: Bool) async throws {
        try await withServiceGroup({
            $0.transformer = .engineIO
            $0.pingInterval = nil
        }, reconnectOnShutdown: reconnect, setup: echo) { port, primus, group in
            let polling = "/primus/?EIO=4&transport=polling"
            let open = try await httpRequest(port: port, target: polling)
            #expect(open.status == 200)
            let sid = try EngineIOHandshake(json: String(open.body.dropFirst())).sid
            try await waitUntil { primus.connected == 1 }
            // A keep-alive request first, so the poll's connection is surely accepted before the
            // listener closes. The spark's end reaches the poll whether it is parked already or
            // arrives just after (the session keeps what it was given for the next poll).
            let poll = try await RawHTTPClient.connect(port: port, sending: "GET /primus/spec HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
            try await poll.waitFor(#""transformer""#)
            try await poll.send("GET \(polling)&sid=\(sid) HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            await group.triggerGracefulShutdown()
            let all = try await poll.readToEnd()
            let answer = try #require(all.range(of: "HTTP/1.1", options: .backwards).map { String(all[$0.lowerBound...]) })
            #expect(answer.hasPrefix("HTTP/1.1 200") || (reconnect && answer.hasPrefix("HTTP/1.1 400")), "poll answered: \(answer)")
            #expect(answer.contains(#""primus::server::close""#) == !reconnect, "poll answered: \(answer)")
            try await waitUntil { primus.connected == 0 }
        }
    }

    @Test("cancelling Primus and its listener together ends sparks the listener's way", arguments: [false, true])
    func cancelledTogether(reconnect: Bool) async throws {
        let primus = Primus()
        echo(primus)
        let listening = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Int.self)
        var server = PrimusHTTPServer(primus: primus, port: 0, onListening: { listening.succeed($0.port ?? 0) })
        server.reconnectOnShutdown = reconnect
        let running = server
        let services = Task {
            await withTaskGroup(of: Void.self) { group in
                group.addTask { try? await primus.run() }
                group.addTask { try? await running.run() }
            }
        }
        let port = try await listening.futureResult.get()
        let socket = try await TestWebSocket.connect(port: port)
        try await waitUntil { primus.connected == 1 }
        services.cancel()
        let texts = try await textsUntilClose(socket)
        #expect(texts.contains(#""primus::server::close""#) == !reconnect, "received: \(texts)")
        await services.value
    }

    // MARK: - Refusal after shutdown

    @Test func afterShutdownAnUpgradeIsRefusedWith503NotUpgradedAndClosed() async throws {
        try await withPrimusServer(setup: echo) { port, primus in
            await primus.shutdown()
            let client = try await RawHTTPClient.connect(port: port, sending: webSocketHandshake())
            let text = try await client.waitFor("\r\n\r\n")
            #expect(text.hasPrefix("HTTP/1.1 503"), "answer: \(text)")
            #expect(!text.contains(" 101 "))
            client.close()
            #expect(primus.connected == 0)
            #expect(primus.admittedSparks == 0)
        }
    }

    @Test func afterShutdownAnEngineIOHandshakeIsRefused() async throws {
        try await withPrimusServer({ $0.transformer = .engineIO }, setup: echo) { port, primus in
            await primus.shutdown()
            let answer = try await httpRequest(port: port, target: "/primus/?EIO=4&transport=polling")
            #expect(answer.status == 503, "answer: \(answer.status) \(answer.body)")
            #expect(primus.connected == 0)
        }
    }

    @Test("a spark registered once shutdown began is ended the shutdown's way, not silently", arguments: [false, true])
    func lateSparkEndsTheShutdownsWay(reconnect: Bool) async throws {
        let primus = Primus()
        await primus.shutdown(reconnect: reconnect)
        let loop = MultiThreadedEventLoopGroup.singleton.any()
        let (state, sent, closeCode) = try await loop.submit {
            let request = HTTPRequestHead(version: .http1_1, method: .GET, uri: "/primus")
            let spark = Spark(id: "late", request: request, address: SparkAddress(ip: "127.0.0.1", port: 1, secure: false), eventLoop: loop, primus: primus)
            primus.register(spark)
            let transport = RecordingTransport()
            spark.attach(transport: transport)
            return (spark.readyState, transport.sent, transport.closeCode)
        }.get()
        #expect(state == .closed)
        #expect(sent == (reconnect ? [] : [#""primus::server::close""#]))
        #expect(closeCode == .some(nil), "closed, with no status code, as Primus's server closes")
        #expect(primus.connected == 0)
    }
}

/// A transport that records what the spark sends (event-loop confined, as transports are).
final class RecordingTransport: SparkTransport {
    var sent: [String] = []
    /// `nil` until closed; then the code it was closed with (`.some(nil)`: no status code).
    var closeCode: UInt16??
    func send(_ message: TransportMessage) {
        if case .text(let buffer) = message { sent.append(String(buffer: buffer)) }
    }
    func close(code: UInt16?) { closeCode = code }
    func pauseReading() {}
    func resumeReading() {}
    var isWritable: Bool { true }
    var bufferedAmount: Int { 0 }
}

@available(*, unavailable)
extension RecordingTransport: Sendable {}

import Foundation
