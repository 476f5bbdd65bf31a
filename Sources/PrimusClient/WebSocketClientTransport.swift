public import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import NIOWebSocket
import PrimusCore
import PrimusWebSocket

/// Primus's `websockets` transformer, client side: one RFC 6455 connection (TLS for `wss:`), one
/// Primus message per frame, every frame masked as RFC 6455 requires of clients.
///
/// The message rules (fragments, UTF-8, size limit, close codes) are the server's
/// ``WebSocketMessageAssembler``; the handshake is NIO's client upgrader.
public struct WebSocketClientTransport: PrimusClientTransport {
    /// Creates the transport.
    public init() {}

    /// `"websockets"`.
    public var name: String { "websockets" }

    /// Starts a WebSocket connection to `target`.
    public func connect(
        to target: PrimusConnectionTarget,
        on eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) -> any PrimusTransportConnection {
        let connection = WebSocketClientConnection(target: target, eventLoop: eventLoop, delegate: delegate)
        connection.start()
        return connection
    }
}

/// One client WebSocket, from TCP connect to close; confined to its event loop.
final class WebSocketClientConnection: PrimusTransportConnection {
    private enum State {
        /// TCP, TLS and the HTTP upgrade are in progress.
        case connecting
        /// Upgraded, but the HTTP upgrade handler has not left the pipeline yet; messages that
        /// arrive meanwhile are held.
        case upgraded(held: [TransportMessage])
        /// Messages flow.
        case open
        /// Reported closed.
        case closed
    }

    private let target: PrimusConnectionTarget
    private let eventLoop: any EventLoop
    private let delegate: any PrimusTransportDelegate
    private var state = State.connecting
    private var channel: (any Channel)?
    private var frameHandler: WebSocketClientFrameHandler?
    private var closeRequested = false
    private var lastError: PrimusError?
    /// Whether the client asked us to stop reading; applied once the socket is open (the
    /// handshake's answer is always read).
    private var readingPaused = false

    static let requestHandlerName = "primus.client.upgrade-request"

    init(target: PrimusConnectionTarget, eventLoop: any EventLoop, delegate: any PrimusTransportDelegate) {
        self.target = target
        self.eventLoop = eventLoop
        self.delegate = delegate
    }

    func start() {
        let loop = eventLoop.assumeIsolated()
        var tlsContext: NIOSSLContext?
        if target.secure {
            do {
                tlsContext = try NIOSSLContext(configuration: target.tlsConfiguration)
            } catch {
                loop.execute { self.finish(error: Self.connectionError(error)) }
                return
            }
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let tls = tlsContext
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try bound.value.configure(channel, tlsContext: tls)
                }
            }
        bootstrap.connect(host: target.host, port: target.port).assumeIsolated().whenComplete { result in
            if case .failure(let error) = result { self.finish(error: Self.connectionError(error)) }
        }
    }

    private func configure(_ channel: any Channel, tlsContext: NIOSSLContext?) throws {
        guard !closeRequested else { throw ChannelError.ioOnClosedChannel }
        self.channel = channel
        let pipeline = channel.pipeline.syncOperations
        if let tlsContext {
            try pipeline.addHandler(
                NIOSSLClientHandler(context: tlsContext, serverHostname: target.hostIsIPAddress ? nil : target.host)
            )
        }
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let maxMessageLength = target.maxMessageLength
        let target = self.target
        let upgrader = NIOWebSocketClientUpgrader(
            maxFrameSize: min(max(maxMessageLength, 125), Int(UInt32.max)),
            automaticErrorHandling: true,
            upgradePipelineHandler: { channel, response in
                channel.eventLoop.makeCompletedFuture {
                    target.rememberCookies(from: response)
                    let connection = bound.value
                    let handler = WebSocketClientFrameHandler(connection: connection, maxMessageLength: maxMessageLength)
                    channel.pipeline.syncOperations.removeHandler(name: Self.requestHandlerName, promise: nil)
                    try channel.pipeline.syncOperations.addHandler(handler)
                    connection.upgraded(frameHandler: handler)
                }
            }
        )
        // A server may send its first frames in the same TCP segment as the 101: the HTTP decoder
        // must hand what follows the response to the WebSocket decoder (NIO drops it by default).
        try pipeline.addHTTPClientHandlers(
            leftOverBytesStrategy: .forwardBytes,
            withClientUpgrade: (upgraders: [upgrader], completionHandler: { _ in })
        )
        try pipeline.addHandler(WebSocketUpgradeRequestHandler(target: target, connection: self), name: Self.requestHandlerName)
    }

    private func upgraded(frameHandler: WebSocketClientFrameHandler) {
        guard case .connecting = state else { return }
        self.frameHandler = frameHandler
        state = .upgraded(held: [])
        // NIO's upgrade handler rejects writes until it has left the pipeline, which happens when
        // this future chain completes; announce the connection on the next tick.
        eventLoop.assumeIsolated().execute { self.announceOpen() }
    }

    private func announceOpen() {
        guard case .upgraded(let held) = state else { return }
        state = .open
        if closeRequested {
            frameHandler?.sendClose(code: 1000)
            return
        }
        if readingPaused { applyReading() }
        delegate.transportDidOpen()
        for message in held {
            guard case .open = state else { return }
            delegate.transportDidReceive(message)
        }
    }

    // MARK: Called by the handlers

    func received(_ message: TransportMessage) {
        switch state {
        case .upgraded(var held):
            state = .connecting  // release the array before appending
            held.append(message)
            state = .upgraded(held: held)
        case .open:
            delegate.transportDidReceive(message)
        case .connecting, .closed:
            break
        }
    }

    func record(_ error: PrimusError) {
        if lastError == nil { lastError = error }
    }

    /// The server answered the upgrade `401` or `403`: a refusal, not an outage.
    func refused(_ error: PrimusError) {
        guard case .connecting = state else { return }
        state = .closed
        frameHandler = nil
        if closeRequested {
            delegate.transportDidClose(error: error)
        } else {
            delegate.transportWasRefused(error)
        }
        channel?.close(promise: nil)
        channel = nil
    }

    func finish(error: PrimusError?) {
        let wasOpen: Bool
        switch state {
        case .closed: return
        case .open: wasOpen = true
        case .connecting, .upgraded: wasOpen = false
        }
        state = .closed
        frameHandler = nil
        let reported = error ?? lastError
        if wasOpen {
            delegate.transportDidClose(error: closeRequested ? nil : reported)
        } else {
            delegate.transportDidClose(
                error: reported ?? PrimusError(code: .connectionFailed, message: "The connection closed during the WebSocket handshake")
            )
        }
        channel?.close(promise: nil)
        channel = nil
    }

    // MARK: PrimusTransportConnection

    func send(_ message: TransportMessage) {
        guard case .open = state, !closeRequested else { return }
        frameHandler?.send(message)
    }

    func close() {
        guard !closeRequested else { return }
        closeRequested = true
        switch state {
        case .open:
            frameHandler?.sendClose(code: 1000)
        case .connecting:
            channel?.close(promise: nil)
        case .upgraded, .closed:
            break  // announceOpen() sends the close frame
        }
    }

    func pauseReading() {
        guard !readingPaused else { return }
        readingPaused = true
        applyReading()
    }

    func resumeReading() {
        guard readingPaused else { return }
        readingPaused = false
        applyReading()
    }

    /// Turns the socket's reads off or on: with reads off, TCP's window fills and the server
    /// stops sending. Frames of a read already made still arrive.
    private func applyReading() {
        guard case .open = state, let channel else { return }
        try? channel.syncOptions?.setOption(ChannelOptions.autoRead, value: !readingPaused)
    }

    static func connectionError(_ error: any Error) -> PrimusError {
        if let error = error as? PrimusError { return error }
        return PrimusError(code: .connectionFailed, message: "\(error)")
    }
}

/// Sends the upgrade request and reports a handshake the server refused. Removed on upgrade.
final class WebSocketUpgradeRequestHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundOut = HTTPClientRequestPart

    private let target: PrimusConnectionTarget
    private let connection: WebSocketClientConnection
    /// A `401`/`403` answer being read: its body names the reason (kept up to `maxRefusalBody`).
    private var refusal: (status: HTTPResponseStatus, body: ByteBuffer)?
    private static let maxRefusalBody = 4096

    init(target: PrimusConnectionTarget, connection: WebSocketClientConnection) {
        self.target = target
        self.connection = connection
    }

    func channelActive(context: ChannelHandlerContext) {
        var headers = target.requestHeaders
        headers.replaceOrAdd(name: "host", value: target.hostHeader)
        let head = HTTPRequestHead(version: .http1_1, method: .GET, uri: target.requestURI, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        context.writeAndFlush(wrapOutboundOut(.end(nil)), promise: nil)
        context.fireChannelActive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        // Only a response that is not an upgrade reaches this handler.
        let part = unwrapInboundIn(data)
        if case .head(let response) = part { target.rememberCookies(from: response) }
        switch part {
        case .head(let response) where PrimusError.isRefusal(response.status):
            // Read Primus's `{"error": …}` body before reporting (the server closes after it).
            refusal = (response.status, context.channel.allocator.buffer(capacity: 0))
        case .head(let response):
            connection.finish(
                error: PrimusError(code: .connectionFailed, message: "Unexpected server response: \(response.status.code)")
            )
            context.close(promise: nil)
        case .body(var chunk):
            guard var answer = refusal else { return }
            refusal = nil  // release the buffer before appending
            let room = Self.maxRefusalBody - answer.body.readableBytes
            if room > 0, let bytes = chunk.readSlice(length: min(room, chunk.readableBytes)) {
                var slice = bytes
                answer.body.writeBuffer(&slice)
            }
            refusal = answer
        case .end:
            reportRefusal(context: context)
        }
    }

    private func reportRefusal(context: ChannelHandlerContext) {
        guard let answer = refusal else { return }
        refusal = nil
        connection.refused(.handshakeRefused(status: answer.status, body: answer.body))
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // NIO reports a refused upgrade as an error, then passes the response on: wait for it.
        if error is NIOHTTPClientUpgradeError { return }
        connection.finish(error: WebSocketClientConnection.connectionError(error))
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        reportRefusal(context: context)  // a refusal whose body was cut short is still one
        connection.finish(error: nil)
        context.fireChannelInactive()
    }
}

@available(*, unavailable)
extension WebSocketUpgradeRequestHandler: Sendable {}

/// Frames in, through the RFC 6455 message rules, to the connection; messages out as masked frames.
final class WebSocketClientFrameHandler: ChannelInboundHandler {
    typealias InboundIn = WebSocketFrame
    typealias OutboundOut = WebSocketFrame

    private let connection: WebSocketClientConnection
    private var assembler: WebSocketMessageAssembler
    private var context: ChannelHandlerContext?

    init(connection: WebSocketClientConnection, maxMessageLength: Int) {
        self.connection = connection
        self.assembler = WebSocketMessageAssembler(maxMessageLength: maxMessageLength)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let frame = unwrapInboundIn(data)
        // Servers must not mask; tolerate it rather than deliver garbage.
        let unmasked = frame.maskKey == nil ? frame : WebSocketFrame(
            fin: frame.fin, rsv1: frame.rsv1, rsv2: frame.rsv2, rsv3: frame.rsv3,
            opcode: frame.opcode, maskKey: nil, data: frame.unmaskedData
        )
        switch assembler.receive(unmasked) {
        case .none, .receivedPong:
            break
        case .deliver(let message):
            connection.received(message)
        case .sendPong(let payload):
            write(opcode: .pong, payload: payload, context: context)
        case .replyToClose(let code):
            closeAfterWriting(code: code, context: context)
        case .fail(let code, let error):
            connection.record(error)
            closeAfterWriting(code: code, context: context)
        case .closeHandshakeComplete:
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.finish(error: nil)
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        connection.record(WebSocketClientConnection.connectionError(error))
        context.close(promise: nil)
    }

    /// Sends one message as one masked frame.
    func send(_ message: TransportMessage) {
        guard let context, !assembler.isClosed else { return }
        switch message {
        case .text(let buffer): write(opcode: .text, payload: buffer, context: context)
        case .binary(let buffer): write(opcode: .binary, payload: buffer, context: context)
        }
    }

    /// Starts the close handshake and closes the connection without waiting for the answer.
    func sendClose(code: UInt16) {
        guard let context else { return }
        guard !assembler.isClosed else {
            context.close(promise: nil)
            return
        }
        closeAfterWriting(code: code, context: context)
    }

    private func write(opcode: WebSocketOpcode, payload: ByteBuffer, context: ChannelHandlerContext) {
        let frame = WebSocketFrame(fin: true, opcode: opcode, maskKey: .random(), data: payload)
        context.writeAndFlush(wrapOutboundOut(frame), promise: nil)
    }

    private func closeAfterWriting(code: UInt16?, context: ChannelHandlerContext) {
        assembler.closeSent()
        var payload = context.channel.allocator.buffer(capacity: 2)
        if let code { payload.writeInteger(code) }
        let frame = WebSocketFrame(fin: true, opcode: .connectionClose, maskKey: .random(), data: payload)
        let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.writeAndFlush(wrapOutboundOut(frame)).whenComplete { _ in
            loopBound.value.close(promise: nil)
        }
    }
}

@available(*, unavailable)
extension WebSocketClientFrameHandler: Sendable {}
