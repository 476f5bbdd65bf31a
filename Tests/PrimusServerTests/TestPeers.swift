import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOWebSocket
import PrimusCore
import PrimusServer
import Testing

/// Frames received by a test client, awaited one at a time with a timeout.
final class FrameInbox: Sendable {
    private struct State {
        var frames: [WebSocketFrame] = []
        var closed = false
        var waiter: CheckedContinuation<WebSocketFrame?, Never>?
    }

    private let state = NIOLockedValueBox(State())

    func push(_ frame: WebSocketFrame) {
        let waiter = state.withLockedValue { state -> CheckedContinuation<WebSocketFrame?, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.frames.append(frame)
            return nil
        }
        waiter?.resume(returning: frame)
    }

    func finish() {
        let waiter = state.withLockedValue { state in
            state.closed = true
            defer { state.waiter = nil }
            return state.waiter
        }
        waiter?.resume(returning: nil)
    }

    /// The next frame, `nil` once closed; throws `TimedOut` after `timeout`.
    func next(timeout: Duration) async throws -> WebSocketFrame? {
        try await withTimeout(timeout) {
            await withTaskCancellationHandler {
                await withCheckedContinuation { (continuation: CheckedContinuation<WebSocketFrame?, Never>) in
                    let ready: WebSocketFrame?? = self.state.withLockedValue { state in
                        if !state.frames.isEmpty { return .some(state.frames.removeFirst()) }
                        if state.closed || Task.isCancelled { return .some(nil) }
                        state.waiter = continuation
                        return .none
                    }
                    if let ready { continuation.resume(returning: ready) }
                }
            } onCancel: {
                let waiter = self.state.withLockedValue { state in
                    defer { state.waiter = nil }
                    return state.waiter
                }
                waiter?.resume(returning: nil)
            }
        }
    }
}

/// A real WebSocket client on loopback, frame-level, so tests see exactly what the server sends.
struct TestWebSocket: Sendable {
    let channel: any Channel
    let inbox: FrameInbox

    /// Connects to `ws://127.0.0.1:port<target>` with extra `headers`. `before` makes a handler
    /// put in front of the frame collector as the connection switches protocols, so it sees
    /// every frame from the first one.
    static func connect(
        port: Int,
        target: String = "/primus",
        headers: HTTPHeaders = [:],
        before: (@Sendable () -> any ChannelHandler)? = nil
    ) async throws -> TestWebSocket {
        let inbox = FrameInbox()
        let upgradedPromise = MultiThreadedEventLoopGroup.singleton.any().makePromise(of: Void.self)
        let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .channelInitializer { channel in
                let upgrader = NIOWebSocketClientUpgrader(
                    maxFrameSize: 1 << 24,
                    automaticErrorHandling: false,
                    upgradePipelineHandler: { channel, _ in
                        channel.eventLoop.makeCompletedFuture {
                            if let before { try channel.pipeline.syncOperations.addHandler(before()) }
                            try channel.pipeline.syncOperations.addHandler(FrameCollector(inbox: inbox))
                            upgradedPromise.succeed()
                        }
                    }
                )
                return channel.eventLoop.makeCompletedFuture {
                    let requestSender = UpgradeRequestSender(target: target, port: port, headers: headers, failed: upgradedPromise)
                    // Frames may follow the 101 response in the same read: keep them.
                    try channel.pipeline.syncOperations.addHTTPClientHandlers(
                        leftOverBytesStrategy: .forwardBytes,
                        withClientUpgrade: (upgraders: [upgrader], completionHandler: { context in
                            _ = context.pipeline.removeHandler(name: "upgrade-request")
                        })
                    )
                    try channel.pipeline.syncOperations.addHandler(requestSender, name: "upgrade-request")
                }
            }
            .connect(host: "127.0.0.1", port: port).get()
        channel.closeFuture.whenComplete { _ in upgradedPromise.fail(PrimusError.sparkClosed) }
        // Futures ignore task cancellation, so the deadline is enforced on the event loop.
        let deadline = channel.eventLoop.scheduleTask(in: .seconds(10)) {
            upgradedPromise.fail(TimedOut())
            channel.close(promise: nil)
        }
        defer { deadline.cancel() }
        try await upgradedPromise.futureResult.get()
        return TestWebSocket(channel: channel, inbox: inbox)
    }

    /// The next frame, or `nil` once the connection is closed; fails after `timeout`.
    func nextFrame(timeout: Duration = .seconds(10)) async throws -> WebSocketFrame? {
        try await inbox.next(timeout: timeout)
    }

    /// Sends a text frame.
    func send(_ text: String) async throws {
        try await send(frame: WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(string: text)))
    }

    /// Sends any frame (masked by the caller).
    func send(frame: WebSocketFrame) async throws {
        try await channel.writeAndFlush(frame).get()
    }

    /// Sends raw bytes under the WebSocket codec (for malformed input).
    func sendRawText(_ bytes: [UInt8]) async throws {
        try await send(frame: WebSocketFrame(fin: true, opcode: .text, maskKey: .random(), data: ByteBuffer(bytes: bytes)))
    }

    /// The next text message's contents, skipping nothing; `nil` once closed.
    func nextText(timeout: Duration = .seconds(10)) async throws -> String? {
        while let frame = try await nextFrame(timeout: timeout) {
            switch frame.opcode {
            case .text: return String(buffer: frame.unmaskedData)
            case .connectionClose: return nil
            default: continue
            }
        }
        return nil
    }

    /// The next decoded JSON message.
    func nextJSON(timeout: Duration = .seconds(10)) async throws -> JSONValue? {
        guard let text = try await nextText(timeout: timeout) else { return nil }
        return try JSONReader.parse(text)
    }

    /// Reads until the close frame and returns its code (`nil` if the connection ended without one).
    func closeCode(timeout: Duration = .seconds(10)) async throws -> UInt16? {
        while let frame = try await nextFrame(timeout: timeout) {
            if frame.opcode == .connectionClose {
                var data = frame.unmaskedData
                return data.readInteger(as: UInt16.self) ?? 1005
            }
        }
        return nil
    }


    /// Closes the connection abruptly.
    func disconnect() async {
        try? await channel.close()
    }
}

struct TimedOut: Error {}

/// Runs `body`, failing with `TimedOut` after `timeout`.
func withTimeout<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async throws -> T) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
        group.addTask { try await body() }
        group.addTask {
            try await Task.sleep(for: timeout)
            throw TimedOut()
        }
        defer { group.cancelAll() }
        return try await group.next()!
    }
}

private final class UpgradeRequestSender: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart
    let target: String
    let port: Int
    let headers: HTTPHeaders
    let failed: EventLoopPromise<Void>

    init(target: String, port: Int, headers: HTTPHeaders, failed: EventLoopPromise<Void>) {
        self.target = target
        self.port = port
        self.headers = headers
        self.failed = failed
    }

    /// NIO's client upgrader reports a refused upgrade as an error.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        failed.fail(error)
        context.close(promise: nil)
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = self.headers
        headers.add(name: "host", value: "127.0.0.1:\(port)")
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }
}

/// Hands every frame a test connection reads to its inbox; finishes it when the connection ends.
final class FrameCollector: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    let inbox: FrameInbox

    init(inbox: FrameInbox) {
        self.inbox = inbox
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        inbox.push(unwrapInboundIn(data))
    }

    func channelInactive(context: ChannelHandlerContext) {
        inbox.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}
