import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import PrimusCore

/// One HTTP request of a SockJS session on its own connection (TLS for `https:`), its answer
/// handed over as it arrives: a streaming response (`xhr_streaming`) is read chunk by chunk, so
/// frames reach the client before the response ends. A new TCP connection per request keeps the
/// session's receiving and sending requests independent, as a browser's would be.
///
/// Bounded in time and size: no byte for ``idleTimeout`` fails the request (a server sends a
/// heartbeat frame every 25 s), and the body of an error answer is kept only up to 64 KiB, for
/// the message. Confined to its event loop.
final class SockJSHTTPRequest {
    /// What happens to the request, in order: `body` chunks (of a `2xx` answer only), then one
    /// of the others.
    enum Event {
        /// A chunk of a `2xx` answer's body.
        case body(ByteBuffer)
        /// The `2xx` answer is complete.
        case finished(HTTPResponseStatus)
        /// The server answered with another status; `body` is its first 64 KiB.
        case rejected(HTTPResponseStatus, body: ByteBuffer)
        /// The connection failed, or went quiet for longer than the idle timeout.
        case failed(PrimusError)
    }

    static let maxErrorBodyLength = 64 * 1024

    private let eventLoop: any EventLoop
    private var onEvent: ((Event) -> Void)?
    private var channel: (any Channel)?
    private var isDone = false

    /// Sends `method uri` with `body` to `target`; `onEvent` is called on the event loop, never
    /// from inside this call, until the final event or ``cancel()``.
    init(
        target: PrimusConnectionTarget,
        eventLoop: any EventLoop,
        tlsContext: NIOSSLContext?,
        method: HTTPMethod,
        uri: String,
        body: ByteBuffer?,
        idleTimeout: TimeAmount,
        onEvent: @escaping (Event) -> Void
    ) {
        self.eventLoop = eventLoop
        self.onEvent = onEvent
        var headers = target.requestHeaders
        headers.replaceOrAdd(name: "host", value: target.hostHeader)
        headers.replaceOrAdd(name: "connection", value: "close")
        if body != nil {
            headers.replaceOrAdd(name: "content-type", value: "text/plain;charset=UTF-8")
        }
        headers.replaceOrAdd(name: "content-length", value: String(body?.readableBytes ?? 0))
        let head = HTTPRequestHead(version: .http1_1, method: method, uri: uri, headers: headers)
        let bound = NIOLoopBound(self, eventLoop: eventLoop)
        let serverName = target.hostIsIPAddress ? nil : target.host
        let bootstrap = ClientBootstrap(group: eventLoop)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .connectTimeout(idleTimeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let pipeline = channel.pipeline.syncOperations
                    if let tlsContext { try pipeline.addHandler(NIOSSLClientHandler(context: tlsContext, serverHostname: serverName)) }
                    try pipeline.addHTTPClientHandlers()
                    try pipeline.addHandler(IdleStateHandler(readTimeout: idleTimeout))
                    try pipeline.addHandler(SockJSHTTPResponseHandler(request: bound.value, cookies: target.cookies, idleTimeout: idleTimeout))
                }
            }
        bootstrap.connect(host: target.host, port: target.port).assumeIsolated().whenComplete { result in
            // A connect that fails at once would otherwise answer inside `init`.
            eventLoop.assumeIsolated().execute {
                switch result {
                case .success(let channel):
                    guard !self.isDone else {
                        channel.close(promise: nil)
                        return
                    }
                    self.channel = channel
                    channel.write(HTTPClientRequestPart.head(head), promise: nil)
                    if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
                    channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                case .failure(let error):
                    self.deliver(.failed(PrimusError(code: .connectionFailed, message: "SockJS \(method) \(uri): \(error)")))
                }
            }
        }
    }

    /// Stops the request: no more events, and the connection closes.
    func cancel() {
        isDone = true
        onEvent = nil
        channel?.close(promise: nil)
        channel = nil
    }

    fileprivate func deliver(_ event: Event) {
        guard !isDone, let onEvent else { return }
        switch event {
        case .body:
            onEvent(event)
        case .finished, .rejected, .failed:
            isDone = true
            self.onEvent = nil
            channel?.close(promise: nil)
            channel = nil
            onEvent(event)
        }
    }
}

@available(*, unavailable)
extension SockJSHTTPRequest: Sendable {}

/// Hands one response's parts to its ``SockJSHTTPRequest``.
private final class SockJSHTTPResponseHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let request: SockJSHTTPRequest
    private let cookies: ClientCookies?
    private let idleTimeout: TimeAmount
    private var status: HTTPResponseStatus?
    private var errorBody = ByteBuffer()

    init(request: SockJSHTTPRequest, cookies: ClientCookies?, idleTimeout: TimeAmount) {
        self.request = request
        self.cookies = cookies
        self.idleTimeout = idleTimeout
    }

    private var isSuccess: Bool {
        guard let status else { return false }
        return (200..<300).contains(status.code)
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = head.status
            cookies?.remember(head)
        case .body(var chunk):
            if isSuccess {
                request.deliver(.body(chunk))
            } else {
                let room = SockJSHTTPRequest.maxErrorBodyLength - errorBody.readableBytes
                if room > 0, let part = chunk.readSlice(length: min(room, chunk.readableBytes)) {
                    errorBody.writeImmutableBuffer(part)
                }
            }
        case .end:
            guard let status else { return }
            request.deliver(isSuccess ? .finished(status) : .rejected(status, body: errorBody))
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if event is IdleStateHandler.IdleStateEvent {
            request.deliver(.failed(PrimusError(code: .timeout, message: "SockJS: no answer from the server for \(idleTimeout.nanoseconds / 1_000_000_000) s")))
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        request.deliver(.failed(PrimusError(code: .connectionFailed, message: "SockJS: the server closed the connection before the answer ended")))
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        request.deliver(.failed(PrimusError(code: .connectionFailed, message: "SockJS: \(error)")))
    }
}

@available(*, unavailable)
extension SockJSHTTPResponseHandler: Sendable {}
