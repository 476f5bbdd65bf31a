import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PrimusCore

/// One keep-alive HTTP/1.1 connection (TLS for `https:`) carrying one request at a time, whose
/// answer's body is handed over piece by piece as it arrives: a BrowserChannel back channel is a
/// response that streams for as long as the server keeps it open. The forward channel and the
/// back channel each get one, so neither waits behind the other. Confined to its event loop.
final class BrowserChannelHTTPConnection {
    /// How a request went: its answer's status when it ended, or the failure.
    typealias Completion = (Result<HTTPResponseStatus, PrimusError>) -> Void
    /// A piece of the answer's body, with the answer's status.
    typealias BodyPart = (HTTPResponseStatus, ByteBuffer) -> Void

    private let target: PrimusConnectionTarget
    private let eventLoop: any EventLoop
    private let tlsContext: NIOSSLContext?
    private var channel: (any Channel)?
    private var current: (channel: ObjectIdentifier?, part: BodyPart, completion: Completion)?
    private var isClosed = false
    private var attempt: UInt64 = 0

    init(target: PrimusConnectionTarget, eventLoop: any EventLoop, tlsContext: NIOSSLContext?) {
        self.target = target
        self.eventLoop = eventLoop
        self.tlsContext = tlsContext
    }

    /// Whether a request is under way.
    var isBusy: Bool { current != nil }

    /// Sends a request; `part` gets the body as it arrives, `completion` is called once at the
    /// end, on the event loop and never from inside this call, unless ``close()`` comes first.
    func send(method: HTTPMethod, uri: String, body: ByteBuffer?, part: @escaping BodyPart, completion: @escaping Completion) {
        guard !isClosed else { return }
        precondition(current == nil, "one request at a time")
        var headers = target.requestHeaders
        headers.replaceOrAdd(name: "host", value: target.hostHeader)
        if let body {
            headers.replaceOrAdd(name: "content-type", value: "application/x-www-form-urlencoded")
            headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        if let channel, channel.isActive {
            current = (ObjectIdentifier(channel), part, completion)
            write(head, body: body, on: channel)
            return
        }
        current = (nil, part, completion)
        connect(then: head, body: body)
    }

    /// Closes the connection; an outstanding request is dropped without its completion.
    func close() {
        isClosed = true
        current = nil
        attempt &+= 1
        channel?.close(promise: nil)
        channel = nil
    }

    private func connect(then head: HTTPRequestHead, body: ByteBuffer?) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let tls = tlsContext
        let serverName = target.hostIsIPAddress ? nil : target.host
        attempt &+= 1
        let thisAttempt = attempt
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(BrowserChannelResponseHandler(connection: bound.value))
                }
            }
        bootstrap.connect(host: target.host, port: target.port).assumeIsolated().whenComplete { result in
            // A connect that fails at once would otherwise answer inside `send`.
            self.eventLoop.assumeIsolated().execute {
                guard thisAttempt == self.attempt, !self.isClosed, self.current != nil, self.current?.channel == nil else {
                    if case .success(let channel) = result { channel.close(promise: nil) }
                    return
                }
                switch result {
                case .success(let channel) where !channel.isActive:
                    self.complete(.failure(PrimusError(code: .connectionFailed, message: "BrowserChannel: the connection closed at once")))
                case .success(let channel):
                    self.channel = channel
                    self.current?.channel = ObjectIdentifier(channel)
                    self.write(head, body: body, on: channel)
                case .failure(let error):
                    self.complete(.failure(PrimusError(code: .connectionFailed, message: "BrowserChannel: \(error)")))
                }
            }
        }
    }

    private func write(_ head: HTTPRequestHead, body: ByteBuffer?, on channel: any Channel) {
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    private func complete(_ result: Result<HTTPResponseStatus, PrimusError>) {
        guard let current else { return }
        self.current = nil
        current.completion(result)
    }

    // MARK: - From the handler

    /// A response's head arrived: its cookies count even when the answer is then dropped.
    fileprivate func receivedHead(_ head: HTTPResponseHead) {
        target.rememberCookies(from: head)
    }

    fileprivate func receivedPart(_ bytes: ByteBuffer, status: HTTPResponseStatus, from channel: any Channel) {
        guard let current, current.channel == ObjectIdentifier(channel) else { return }
        current.part(status, bytes)
    }

    fileprivate func ended(_ status: HTTPResponseStatus, keepAlive: Bool, from channel: any Channel) {
        guard current?.channel == ObjectIdentifier(channel) else { return }
        if !keepAlive {
            if self.channel === channel { self.channel = nil }
            complete(.success(status))
            channel.close(promise: nil)
            return
        }
        complete(.success(status))
    }

    fileprivate func failed(_ error: PrimusError, on channel: any Channel) {
        channel.close(promise: nil)
        if self.channel === channel { self.channel = nil }
        guard current?.channel == ObjectIdentifier(channel) else { return }
        complete(.failure(error))
    }
}

@available(*, unavailable)
extension BrowserChannelHTTPConnection: Sendable {}

/// Passes one response at a time to its ``BrowserChannelHTTPConnection`` as it arrives.
private final class BrowserChannelResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let connection: BrowserChannelHTTPConnection
    private var head: HTTPResponseHead?

    init(connection: BrowserChannelHTTPConnection) {
        self.connection = connection
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            connection.receivedHead(head)
        case .body(let bytes):
            guard let head else { return }
            connection.receivedPart(bytes, status: head.status, from: context.channel)
        case .end:
            guard let head else { return }
            self.head = nil
            connection.ended(head.status, keepAlive: head.isKeepAlive, from: context.channel)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.failed(
            PrimusError(code: .connectionFailed, message: "BrowserChannel: the server closed the connection before answering"),
            on: context.channel
        )
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let primusError = error as? PrimusError ?? PrimusError(code: .connectionFailed, message: "BrowserChannel: \(error)")
        connection.failed(primusError, on: context.channel)
    }
}

@available(*, unavailable)
extension BrowserChannelResponseHandler: Sendable {}
