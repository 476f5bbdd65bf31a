import NIOConcurrencyHelpers
import NIOCore
import NIOPosix
import PrimusCore
@testable import PrimusServer

/// A raw TCP client for the HTTP defense tests: it sends exactly the bytes it is told, collects
/// what the server sends, and reports when the server ends the connection.
final class RawHTTPClient: Sendable {
    let channel: any Channel
    private let received: NIOLockedValueBox<ByteBuffer>

    private init(channel: any Channel, received: NIOLockedValueBox<ByteBuffer>) {
        self.channel = channel
        self.received = received
    }

    /// Connects; `sending` is written by the event loop the moment the connection is up, so a
    /// loaded test runner that starves the calling task cannot make the request arrive after a
    /// short server timeout has already closed the connection.
    static func connect(port: Int, host: String = "127.0.0.1", sending first: String? = nil) async throws -> RawHTTPClient {
        let received = NIOLockedValueBox(ByteBuffer())
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(Collector(received: received, first: first))
                }
            }
            .connect(host: host, port: port).get()
        return RawHTTPClient(channel: channel, received: received)
    }

    /// Everything received so far, as bytes.
    var bytes: [UInt8] { received.withLockedValue { Array($0.readableBytesView) } }

    /// Everything received so far, as text.
    var text: String { received.withLockedValue { String(buffer: $0) } }

    /// Whether the connection is still open.
    var isOpen: Bool { channel.isActive }

    func send(_ text: String) async throws {
        try await channel.writeAndFlush(ByteBuffer(string: text)).get()
    }

    /// Waits until the server ends the connection and returns all it sent; throws `TimedOut`
    /// when the connection is still open after `timeout`.
    @discardableResult
    func readToEnd(timeout: TimeAmount = .seconds(10)) async throws -> String {
        let timedOut = NIOLockedValueBox(false)
        let channel = self.channel
        let deadline = channel.eventLoop.scheduleTask(in: timeout) {
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
        deadline.cancel()
        if timedOut.withLockedValue({ $0 }) { throw TimedOut() }
        return text
    }

    /// The server ended the connection before sending what was awaited.
    struct ClosedEarly: Error {
        var received: String
    }

    /// Waits until what was received contains `fragment`; throws `TimedOut` after `timeout`, or
    /// `ClosedEarly` if the connection ends first.
    @discardableResult
    func waitFor(_ fragment: String, timeout: Duration = .seconds(10)) async throws -> String {
        let clock = ContinuousClock()
        let end = clock.now + timeout
        while clock.now < end {
            let text = self.text
            if text.contains(fragment) { return text }
            if !isOpen { throw ClosedEarly(received: self.text) }
            try await Task.sleep(for: .milliseconds(5))
        }
        throw TimedOut()
    }

    func close() {
        channel.close(promise: nil)
    }

    private final class Collector: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer
        typealias OutboundOut = ByteBuffer
        let received: NIOLockedValueBox<ByteBuffer>
        let first: String?

        init(received: NIOLockedValueBox<ByteBuffer>, first: String?) {
            self.received = received
            self.first = first
        }

        func channelActive(context: ChannelHandlerContext) {
            if let first {
                context.writeAndFlush(wrapOutboundOut(ByteBuffer(string: first)), promise: nil)
            }
            context.fireChannelActive()
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            received.withLockedValue { _ = $0.writeBuffer(&buffer) }
        }
    }
}

/// Runs a ``PrimusHTTPServer`` with the given limits on a free loopback port for `body`.
func withDefendedServer(
    transformer: PrimusTransformer = .websockets,
    limits: (inout PrimusLimits) -> Void = { _ in },
    maxRequestBodyLength: Int = 1 << 20,
    fallback: @escaping PrimusHTTPFallback = { _ in .notFound },
    _ body: @Sendable (_ port: Int) async throws -> Void
) async throws {
    var configuration = PrimusConfiguration()
    configuration.transformer = transformer
    limits(&configuration.limits)
    let primus = Primus(configuration: configuration)
    let listening = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Int.self)
    var configured = PrimusHTTPServer(primus: primus, port: 0, onListening: { listening.succeed($0.port ?? 0) }, fallback: fallback)
    configured.maxRequestBodyLength = maxRequestBodyLength
    let server = configured
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask {
            do {
                try await server.run()
            } catch {
                listening.fail(error)
                throw error
            }
        }
        let port = try await listening.futureResult.get()
        do {
            try await body(port)
        } catch {
            group.cancelAll()
            throw error
        }
        group.cancelAll()
    }
}

/// Runs the raw WebSocket echo (`primus-testserver --raw`) with the given limits for `body`.
func withRawEchoServer(
    limits: (inout PrimusLimits) -> Void = { _ in },
    _ body: @Sendable (_ port: Int) async throws -> Void
) async throws {
    var configured = PrimusLimits()
    limits(&configured)
    let chosen = configured
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try RawWebSocketEcho.configure(channel: channel, pathname: "/", maxLength: 1 << 20, limits: chosen)
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    do {
        try await body(server.localAddress?.port ?? 0)
    } catch {
        try? await server.close()
        throw error
    }
    try await server.close()
}

/// A well-formed WebSocket handshake request, with `extra` header lines appended.
func webSocketHandshake(path: String = "/primus", method: String = "GET", version: String = "HTTP/1.1", key: String = "dGhlIHNhbXBsZSBub25jZQ==", wsVersion: String = "13", host: Bool = true) -> String {
    var text = "\(method) \(path) \(version)\r\n"
    if host { text += "Host: 127.0.0.1\r\n" }
    text += "Upgrade: websocket\r\nConnection: Upgrade\r\n"
    text += "Sec-WebSocket-Key: \(key)\r\nSec-WebSocket-Version: \(wsVersion)\r\n\r\n"
    return text
}
