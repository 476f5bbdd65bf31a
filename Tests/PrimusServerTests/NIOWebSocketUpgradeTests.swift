import NIOCore
import NIOEmbedded
import NIOHTTP1
import NIOWebSocket
import PrimusCore
import PrimusServer
import Synchronization
import Testing

/// ``PrimusNIOWebSocketUpgrade``: an accepted upgrade switched by SwiftNIO's own upgrader (as
/// Vapor does), on an embedded channel: the sink gets the connection's messages, and an upgrade
/// that never switches gives its acceptance back exactly once.
@Suite struct NIOWebSocketUpgradeTests {
    /// Counts what an acceptance's sink and abandonment see (behind a lock: the acceptance's
    /// closures are `@Sendable`).
    final class Recorder: SparkTransportSink, Sendable {
        struct Counts {
            var attached = 0
            var received: [String] = []
            var closed = 0
            var abandoned = 0
        }

        private let counts = Mutex(Counts())

        var attached: Int { counts.withLock { $0.attached } }
        var received: [String] { counts.withLock { $0.received } }
        var closed: Int { counts.withLock { $0.closed } }
        var abandoned: Int { counts.withLock { $0.abandoned } }

        func attach(transport: any SparkTransport) { counts.withLock { $0.attached += 1 } }
        func receive(_ message: TransportMessage) { counts.withLock { $0.received.append(String(buffer: message.buffer)) } }
        func transportPing() {}
        func transportClosed() { counts.withLock { $0.closed += 1 } }
        func abandon() { counts.withLock { $0.abandoned += 1 } }
    }

    static func acceptance(_ recorder: Recorder, compression: Bool = false) -> PrimusWebSocketAcceptance {
        PrimusWebSocketAcceptance(
            headers: HTTPHeaders([("x-from-acceptance", "1")]),
            maxMessageLength: 1024,
            compression: compression,
            connected: { _ in recorder },
            abandoned: { recorder.abandon() }
        )
    }

    static func head(extensions: String? = nil) -> HTTPRequestHead {
        var headers = HTTPHeaders([
            ("host", "127.0.0.1"), ("connection", "Upgrade"), ("upgrade", "websocket"),
            ("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ=="), ("sec-websocket-version", "13"),
        ])
        if let extensions { headers.add(name: "sec-websocket-extensions", value: extensions) }
        return HTTPRequestHead(version: .http1_1, method: .GET, uri: "/primus", headers: headers)
    }

    /// A masked text frame, as a client sends it.
    static func maskedText(_ text: String) -> ByteBuffer {
        let payload = Array(text.utf8)
        precondition(payload.count < 126)
        let mask: [UInt8] = [1, 2, 3, 4]
        var buffer = ByteBuffer(bytes: [0x81, 0x80 | UInt8(payload.count)] + mask)
        buffer.writeBytes(payload.enumerated().map { $0.element ^ mask[$0.offset % 4] })
        return buffer
    }

    /// A channel with a placeholder handler whose context the upgrader works from.
    final class Placeholder: ChannelInboundHandler, RemovableChannelHandler {
        typealias InboundIn = ByteBuffer
    }

    @Test func switchedConnectionDeliversMessagesToTheSinkAndGivesNothingBack() throws {
        let recorder = Recorder()
        let channel = EmbeddedChannel()
        let placeholder = Placeholder()
        try channel.pipeline.syncOperations.addHandler(placeholder)
        do {
            let upgrade = PrimusNIOWebSocketUpgrade(Self.acceptance(recorder), on: channel.eventLoop, limits: PrimusLimits())
            let upgrader = upgrade.protocolUpgrader(extraHeaders: HTTPHeaders([("x-from-framework", "1")]))
            let headers = try upgrader.buildUpgradeResponse(channel: channel, upgradeRequest: Self.head(), initialResponseHeaders: HTTPHeaders()).wait()
            #expect(headers["x-from-framework"] == ["1"])
            #expect(headers["x-from-acceptance"] == ["1"])
            #expect(headers["sec-websocket-accept"] == ["s3pPLMBiTxaQ9kYGzzhZRbK+xOo="])
            let context = try channel.pipeline.syncOperations.context(handler: placeholder)
            try upgrader.upgrade(context: context, upgradeRequest: Self.head()).wait()
        }
        #expect(recorder.attached == 1)
        try channel.writeInbound(Self.maskedText("\"hello\""))
        #expect(recorder.received == ["\"hello\""])
        _ = try channel.finish()
        #expect(recorder.closed == 1)
        #expect(recorder.abandoned == 0)
    }

    @Test func releasedWithoutSwitchingGivesTheAcceptanceBackOnce() throws {
        let recorder = Recorder()
        let loop = EmbeddedEventLoop()
        do {
            // The framework dropped the response (its middleware replaced the 101).
            let upgrade = PrimusNIOWebSocketUpgrade(Self.acceptance(recorder), on: loop, limits: PrimusLimits())
            _ = upgrade.protocolUpgrader()
        }
        loop.run()
        #expect(recorder.abandoned == 1)
        #expect(recorder.attached == 0)
        try loop.syncShutdownGracefully()
    }

    @Test func connectionClosedBeforeSwitchingGivesItBackAndNeverAttaches() throws {
        let recorder = Recorder()
        let channel = EmbeddedChannel()
        let placeholder = Placeholder()
        try channel.pipeline.syncOperations.addHandler(placeholder)
        let upgrade = PrimusNIOWebSocketUpgrade(Self.acceptance(recorder), on: channel.eventLoop, limits: PrimusLimits())
        let upgrader = upgrade.protocolUpgrader()
        _ = try upgrader.buildUpgradeResponse(channel: channel, upgradeRequest: Self.head(), initialResponseHeaders: HTTPHeaders()).wait()
        let context = try channel.pipeline.syncOperations.context(handler: placeholder)
        _ = try channel.finish()  // the 101 never went out
        #expect(recorder.abandoned == 1)
        #expect(throws: (any Error).self) { try upgrader.upgrade(context: context, upgradeRequest: Self.head()).wait() }
        #expect(recorder.attached == 0)
        #expect(recorder.abandoned == 1)
    }

    @Test func compressionIsAgreedOnlyWhenOfferedAndOn() throws {
        let recorder = Recorder()
        let channel = EmbeddedChannel()
        defer { _ = try? channel.finish() }
        let on = PrimusNIOWebSocketUpgrade(Self.acceptance(recorder, compression: true), on: channel.eventLoop, limits: PrimusLimits())
        let offered = try on.protocolUpgrader().buildUpgradeResponse(channel: channel, upgradeRequest: Self.head(extensions: "permessage-deflate; client_max_window_bits"), initialResponseHeaders: HTTPHeaders()).wait()
        #expect(offered["sec-websocket-extensions"].first?.hasPrefix("permessage-deflate") == true)
        let notOffered = try on.protocolUpgrader().buildUpgradeResponse(channel: channel, upgradeRequest: Self.head(), initialResponseHeaders: HTTPHeaders()).wait()
        #expect(notOffered["sec-websocket-extensions"].isEmpty)
        let off = PrimusNIOWebSocketUpgrade(Self.acceptance(recorder), on: channel.eventLoop, limits: PrimusLimits())
        let declined = try off.protocolUpgrader().buildUpgradeResponse(channel: channel, upgradeRequest: Self.head(extensions: "permessage-deflate"), initialResponseHeaders: HTTPHeaders()).wait()
        #expect(declined["sec-websocket-extensions"].isEmpty)
    }
}
