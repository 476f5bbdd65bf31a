import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PrimusCore

/// One keep-alive HTTP/1.1 connection (TLS for `https:`) carrying one request at a time: the
/// long-polling `GET`s of an Engine.IO session go over one of these, its `POST`s over another,
/// so neither waits behind the other. The TCP connection is made on the first request and again
/// after the server closes it. Confined to its event loop.
final class EngineIOPollingConnection {
    /// A complete answer.
    struct Response {
        var status: HTTPResponseStatus
        var body: ByteBuffer
    }

    typealias Completion = (Result<Response, PrimusError>) -> Void

    private let target: PrimusConnectionTarget
    private let eventLoop: any EventLoop
    private let tlsContext: NIOSSLContext?
    private let maxBodyLength: Int
    private var channel: (any Channel)?
    /// The request being answered, with the channel it went out on.
    private var current: (channel: ObjectIdentifier?, completion: Completion)?
    private var isClosed = false
    /// Numbers TCP connection attempts, so a late answer to an abandoned one is ignored.
    private var attempt: UInt64 = 0

    init(target: PrimusConnectionTarget, eventLoop: any EventLoop, tlsContext: NIOSSLContext?, maxBodyLength: Int) {
        self.target = target
        self.eventLoop = eventLoop
        self.tlsContext = tlsContext
        self.maxBodyLength = maxBodyLength
    }

    /// Sends a request; `completion` is called once, on the event loop and never from inside this
    /// call, unless ``close()`` comes first. One request at a time.
    func send(method: HTTPMethod, uri: String, body: ByteBuffer?, completion: @escaping Completion) {
        guard !isClosed else { return }
        precondition(current == nil, "one request at a time")
        var headers = target.requestHeaders
        headers.replaceOrAdd(name: "host", value: target.hostHeader)
        if let body {
            headers.replaceOrAdd(name: "content-type", value: "text/plain;charset=UTF-8")
            headers.replaceOrAdd(name: "content-length", value: String(body.readableBytes))
        }
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        if let channel, channel.isActive {
            current = (ObjectIdentifier(channel), completion)
            write(head, body: body, on: channel)
            return
        }
        current = (nil, completion)
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

    // MARK: - Private

    private func connect(then head: HTTPRequestHead, body: ByteBuffer?) {
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let tls = tlsContext
        let serverName = target.hostIsIPAddress ? nil : target.host
        let limit = maxBodyLength
        attempt &+= 1
        let thisAttempt = attempt
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tls { try pipeline.addHandler(NIOSSLClientHandler(context: tls, serverHostname: serverName)) }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(EngineIOPollingResponseHandler(connection: bound.value, maxBodyLength: limit))
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
                    self.complete(.failure(PrimusError(code: .connectionFailed, message: "Engine.IO polling: the connection closed at once")))
                case .success(let channel):
                    self.channel = channel
                    self.current?.channel = ObjectIdentifier(channel)
                    self.write(head, body: body, on: channel)
                case .failure(let error):
                    self.complete(.failure(PrimusError(code: .connectionFailed, message: "Engine.IO polling: \(error)")))
                }
            }
        }
    }

    private func write(_ head: HTTPRequestHead, body: ByteBuffer?, on channel: any Channel) {
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
    }

    private func complete(_ result: Result<Response, PrimusError>) {
        guard let current else { return }
        self.current = nil
        current.completion(result)
    }

    // MARK: - From the handler

    /// A response's head arrived: its cookies count even when the answer is then dropped.
    fileprivate func receivedHead(_ head: HTTPResponseHead) {
        target.rememberCookies(from: head)
    }

    fileprivate func received(_ response: Response, keepAlive: Bool, from channel: any Channel) {
        guard current?.channel == ObjectIdentifier(channel) else { return }
        if !keepAlive {
            if self.channel === channel { self.channel = nil }
            // Answered first: closing on the event loop reports the channel inactive at once,
            // which would fail the request that was just answered.
            complete(.success(response))
            channel.close(promise: nil)
            return
        }
        complete(.success(response))
    }

    fileprivate func failed(_ error: PrimusError, on channel: any Channel) {
        channel.close(promise: nil)
        if self.channel === channel { self.channel = nil }
        guard current?.channel == ObjectIdentifier(channel) else { return }
        complete(.failure(error))
    }
}

@available(*, unavailable)
extension EngineIOPollingConnection: Sendable {}

/// Collects one response at a time for its ``EngineIOPollingConnection``; a dropped connection
/// or an oversized body fails the request.
private final class EngineIOPollingResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let connection: EngineIOPollingConnection
    private let maxBodyLength: Int
    private var head: HTTPResponseHead?
    private var body = ByteBuffer()

    init(connection: EngineIOPollingConnection, maxBodyLength: Int) {
        self.connection = connection
        self.maxBodyLength = maxBodyLength
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            connection.receivedHead(head)
        case .body(var chunk):
            guard head != nil else { return }
            guard body.readableBytes + chunk.readableBytes <= maxBodyLength else {
                head = nil
                body = ByteBuffer()
                connection.failed(.messageTooLarge(limit: maxBodyLength), on: context.channel)
                return
            }
            body.writeBuffer(&chunk)
        case .end:
            guard let head else { return }
            self.head = nil
            let response = EngineIOPollingConnection.Response(status: head.status, body: body)
            body = ByteBuffer()
            connection.received(response, keepAlive: head.isKeepAlive, from: context.channel)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        connection.failed(
            PrimusError(code: .connectionFailed, message: "Engine.IO polling: the server closed the connection before answering"),
            on: context.channel
        )
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let primusError = error as? PrimusError ?? PrimusError(code: .connectionFailed, message: "Engine.IO polling: \(error)")
        connection.failed(primusError, on: context.channel)
    }
}

@available(*, unavailable)
extension EngineIOPollingResponseHandler: Sendable {}
