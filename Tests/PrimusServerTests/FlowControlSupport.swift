import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PrimusCore
@testable import PrimusServer

/// A loopback Primus server (the real HTTP pipeline and transformer, through the public
/// ``PrimusHTTPServer/configure(channel:primus:fallback:maxBodyLength:)`` that frameworks use) with
/// a small fixed send buffer per connection. Heartbeats are driven by the test
/// (``Primus/heartbeat()``), never by a clock.
func withFlowServer(
    _ configure: (inout PrimusConfiguration) -> Void,
    setup: (Primus) -> Void = { _ in },
    _ body: @Sendable (_ port: Int, _ primus: Primus) async throws -> Void
) async throws {
    var configuration = PrimusConfiguration()
    configuration.pingInterval = nil
    configure(&configuration)
    let primus = Primus(configuration: configuration)
    setup(primus)
    let server = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
        .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
        // A fixed send buffer: without it the kernel's autotuning keeps absorbing a few more
        // megabytes for a peer that does not read, and the tests would only take longer.
        .childChannelOption(.socketOption(.so_sndbuf), value: 16 * 1024)
        .childChannelInitializer { channel in
            channel.eventLoop.makeCompletedFuture {
                try PrimusHTTPServer.configure(channel: channel, primus: primus)
            }
        }
        .bind(host: "127.0.0.1", port: 0).get()
    let port = server.localAddress?.port ?? 0
    do {
        try await body(port, primus)
    } catch {
        await primus.shutdown(reconnect: true, timeout: .seconds(2))
        try? await server.close()
        throw error
    }
    await primus.shutdown(reconnect: true, timeout: .seconds(2))
    try? await server.close()
}

/// A WebSocket client over a plain TCP socket that reads only when told to (`autoRead` off, a
/// 4 KiB receive buffer): the peer that does not read. Frames are masked by hand, so it can
/// also flood them without NIO's client machinery in the way.
struct SlowReader: Sendable {
    let channel: any Channel
    let inbox: FrameInbox

    /// Connects and sends the upgrade request; the `101` is read, like everything else, only
    /// once ``startReading()`` is called (frames may follow the request at once, as a browser's
    /// would not, but the server must cope).
    static func connect(port: Int, headers: [(String, String)] = []) async throws -> SlowReader {
        let inbox = FrameInbox()
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelOption(.autoRead, value: false)
            .channelOption(.socketOption(.so_rcvbuf), value: 4096)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpgradeResponseSkipper())
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(WebSocketFrameDecoder(maxFrameSize: 1 << 24)))
                    try channel.pipeline.syncOperations.addHandler(FrameCollector(inbox: inbox))
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        var request = "GET /primus HTTP/1.1\r\nHost: 127.0.0.1:\(port)\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        request += "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
        for (name, value) in headers { request += "\(name): \(value)\r\n" }
        request += "\r\n"
        try await channel.writeAndFlush(ByteBuffer(string: request)).get()
        return SlowReader(channel: channel, inbox: inbox)
    }

    /// One client frame on the wire: FIN, `opcode`, masked `payload`.
    static func maskedFrame(_ opcode: WebSocketOpcode, _ payload: ByteBuffer) -> ByteBuffer {
        let key: WebSocketMaskingKey = .random()
        var frame = ByteBuffer()
        frame.writeInteger(0x80 | UInt8(webSocketOpcode: opcode))
        let length = payload.readableBytes
        switch length {
        case ..<126:
            frame.writeInteger(0x80 | UInt8(length))
        case ..<65536:
            frame.writeInteger(UInt8(0x80 | 126))
            frame.writeInteger(UInt16(length))
        default:
            frame.writeInteger(UInt8(0x80 | 127))
            frame.writeInteger(UInt64(length))
        }
        frame.writeBytes(key)
        var masked = payload
        masked.webSocketMask(key)
        frame.writeBuffer(&masked)
        return frame
    }

    /// A masked text frame carrying `text`.
    static func textFrame(_ text: String) -> ByteBuffer {
        maskedFrame(.text, ByteBuffer(string: text))
    }

    /// Writes `bytes` again and again, each write awaited (so it blocks once TCP does), until the
    /// connection fails or the task is cancelled. Returns how many writes completed.
    func flood(_ bytes: ByteBuffer) async -> Int {
        let channel = self.channel
        return await withTaskCancellationHandler {
            var written = 0
            while !Task.isCancelled {
                do {
                    try await channel.writeAndFlush(bytes).get()
                    written += 1
                } catch {
                    return written
                }
            }
            return written
        } onCancel: {
            channel.close(promise: nil)  // a blocked write ends only with the connection
        }
    }

    /// Reads from now on (and everything that waited in the socket).
    func startReading() {
        channel.setOption(ChannelOptions.autoRead, value: true).whenSuccess { _ in self.channel.read() }
    }

    /// Waits until the connection is closed (by the server: a reset, since the server stops
    /// reading with our requests unread, or an end of stream).
    func closed(timeout: Duration) async throws {
        // Futures ignore task cancellation, so the deadline is enforced on the event loop.
        let timedOut = NIOLockedValueBox(false)
        let deadline = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) { [channel] in
            timedOut.withLockedValue { $0 = true }
            channel.close(promise: nil)
        }
        try? await channel.closeFuture.get()
        deadline.cancel()
        if timedOut.withLockedValue({ $0 }) { throw TimedOut() }
    }
}

/// Drops the bytes of the `101` response head, then passes the rest (frames) on.
private final class UpgradeResponseSkipper: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    private var head: [UInt8] = []
    private var done = false

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var buffer = unwrapInboundIn(data)
        if done { return context.fireChannelRead(data) }
        while let byte = buffer.readInteger(as: UInt8.self) {
            head.append(byte)
            if head.suffix(4) == Array("\r\n\r\n".utf8) {
                done = true
                break
            }
        }
        if done, buffer.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(buffer)) }
    }
}

/// Events reported by server-side callbacks, awaited by the test with a deadline.
final class Signal: Sendable {
    private let stream: AsyncStream<Void>
    private let continuation: AsyncStream<Void>.Continuation
    private let count = NIOLockedValueBox(0)

    init() {
        (stream, continuation) = AsyncStream<Void>.makeStream()
    }

    /// Records one occurrence.
    func fire() {
        count.withLockedValue { $0 += 1 }
        continuation.yield()
    }

    /// How many times it fired.
    var occurrences: Int { count.withLockedValue { $0 } }

    /// Waits for the next occurrence not yet waited for; throws `TimedOut` after `timeout`.
    func wait(timeout: Duration = .seconds(10)) async throws {
        let stream = self.stream
        try await withTimeout(timeout) {
            var iterator = stream.makeAsyncIterator()
            guard await iterator.next() != nil else { throw TimedOut() }
        }
    }
}
