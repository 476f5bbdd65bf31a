import NIOCore
import NIOHTTP1
import PrimusCore

/// Answers the plain HTTP requests of one connection: those under the pathname go through the
/// middleware and then to the transformer as a ``PrimusHTTPExchange``; everything else goes to
/// the application's fallback. A WebSocket upgrade that was refused arrives here as a plain
/// request and gets the refusal (``PrimusUpgradeState``).
///
/// Bodies are collected up to a limit (larger ones get `413`, from ``PrimusHTTPRequestGuard`` in
/// front of it); responses go out in request order (NIO's pipelining handler holds the next
/// request until this one is answered). A response that says `Connection: close` closes the
/// connection once written. Nothing here starts a task, except the fallback, which is async.
final class PrimusHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let primus: Primus
    private let fallback: PrimusHTTPFallback
    private let maxBodyLength: Int
    private let secure: Bool
    private let upgrades: NIOLoopBound<PrimusUpgradeState>?
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var bodyTooLarge = false
    /// The head of a request under the pathname whose body is still arriving: the transformer was
    /// told it began, and is told when it ends without reaching it.
    private var begun: HTTPRequestHead?
    /// The request being answered with a stream, and whether the connection stays open after it.
    private var streaming: (head: HTTPRequestHead, keepAlive: Bool)?
    private var context: ChannelHandlerContext?
    /// Whether a request was received and its answer is not complete yet.
    private var answering = false
    /// The server is shutting down: close once the answer in progress is written.
    private var draining = false
    /// Puts the upgrade handler back before a kept-alive response ends, so the connection's
    /// next request may be an upgrade too (see ``PrimusHTTPPipeline``).
    var reinstallUpgrade: ((ChannelHandlerContext) -> Void)?

    init(primus: Primus, fallback: @escaping PrimusHTTPFallback, maxBodyLength: Int, secure: Bool, upgrades: NIOLoopBound<PrimusUpgradeState>?) {
        self.primus = primus
        self.fallback = fallback
        self.maxBodyLength = maxBodyLength
        self.secure = secure
        self.upgrades = upgrades
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            answering = true
            self.body.clear()
            self.bodyTooLarge = false
            if upgrades?.value.refusal == nil, primus.owns(path: PrimusHTTPRequest(head: head).path) {
                begun = head
                primus.transformer.requestBegan(head, primus: primus)
            }
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes > maxBodyLength {
                bodyTooLarge = true
            } else if !bodyTooLarge {
                body.writeBuffer(&chunk)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            let begun = self.begun
            self.begun = nil
            if let refusal = upgrades?.value.refusal {
                upgrades?.value.refusal = nil
                respond(refusal, to: head, context: context)
                return
            }
            if bodyTooLarge {
                // Engine.IO closes the session a too-large POST names, whichever layer refused it.
                if let begun { primus.transformer.requestBodyTooLarge(begun, primus: primus) }
                respond(.text("Payload Too Large", status: .payloadTooLarge, contentType: "text/plain"), to: head, context: context)
                return
            }
            let request = PrimusHTTPRequest(head: head, body: body, remoteAddress: context.channel.remoteAddress)
            body = ByteBuffer()
            if begun != nil {
                route(request, context: context)
            } else {
                let fallback = self.fallback
                respondAsync(to: head, context: context) { await fallback(request) }
            }
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let drain = event as? PrimusServerDraining {
            draining = true
            guard !answering else { return }  // closes once this answer is written
            // An idle connection may be a polling client between two polls, coming back for
            // the last packets of its session: it gets a short grace, then closes.
            let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
            context.eventLoop.scheduleTask(in: drain.idleGrace) {
                let (handler, context) = loopBound.value
                if !handler.answering { context.close(promise: nil) }
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let begun {
            self.begun = nil
            primus.transformer.requestAbandoned(begun, primus: primus)
        }
        context.fireChannelInactive()
    }

    /// A request under the pathname: the middleware, then the transformer.
    private func route(_ request: PrimusHTTPRequest, context: ChannelHandlerContext) {
        let middlewareContext = PrimusMiddlewareContext(kind: .http, request: request, secure: secure, primus: primus)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        primus.runMiddleware(middlewareContext, on: context.eventLoop) { result in
            let (handler, context) = loopBound.value
            switch result {
            case .respond(let response):
                handler.primus.transformer.requestAbandoned(request.head, primus: handler.primus)
                handler.respond(response, to: request.head, context: context)
            case .proceed(let middlewareContext):
                let exchange = PrimusHTTPExchange(
                    context: middlewareContext,
                    eventLoop: context.eventLoop,
                    connectionID: ObjectIdentifier(context.channel),
                    closeFuture: context.channel.closeFuture,
                    writer: ConnectionWriter(handler: loopBound, request: request.head)
                )
                handler.primus.transformer.handle(exchange, primus: handler.primus)
            }
        }
    }

    private func respondAsync(
        to head: HTTPRequestHead,
        context: ChannelHandlerContext,
        _ produce: @escaping @Sendable () async -> PrimusHTTPResponse
    ) {
        let promise = context.eventLoop.makePromise(of: PrimusHTTPResponse.self)
        promise.completeWithTask(produce)
        let loopBound = NIOLoopBound((self, context), eventLoop: context.eventLoop)
        promise.futureResult.whenSuccess { response in
            let (handler, context) = loopBound.value
            handler.respond(response, to: head, context: context)
        }
    }

    /// Writes a complete response.
    fileprivate func respond(_ response: PrimusHTTPResponse, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = response.headers
        // The length is set unless the answer already states it rightly (then its header order,
        // Primus's for its raw answers, is kept).
        let length = String(response.body.readableBytes)
        if headers[canonicalForm: "content-length"] != [Substring(length)] {
            headers.replaceOrAdd(name: "content-length", value: length)
        }
        // An answer that says `Connection: close` (a refused upgrade, an engine.io refusal, or
        // the application's) really ends the connection.
        let keepAlive = Self.keepsAlive(request, headers)
        if !keepAlive, !headers[canonicalForm: "connection"].contains(where: { $0.lowercased() == "close" }) {
            headers.replaceOrAdd(name: "connection", value: "close")
        }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD, response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        end(keepAlive: keepAlive, context: context)
    }

    /// Writes the head of a streamed response: no length, so chunked over HTTP/1.1 and ended by
    /// closing over HTTP/1.0.
    fileprivate func startStream(status: HTTPResponseStatus, headers: HTTPHeaders, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = headers
        headers.remove(name: "content-length")
        let keepAlive = request.version.major == 1 && request.version.minor >= 1 && Self.keepsAlive(request, headers)
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        streaming = (request, keepAlive)
        let head = HTTPResponseHead(version: request.version, status: status, headers: headers)
        context.writeAndFlush(wrapOutboundOut(.head(head)), promise: nil)
    }

    fileprivate func writeStreamPart(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        guard streaming != nil, context.channel.isActive, bytes.readableBytes > 0 else { return }
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(bytes))), promise: nil)
    }

    fileprivate func finishStream(context: ChannelHandlerContext) {
        guard let (_, keepAlive) = streaming, context.channel.isActive else { return }
        streaming = nil
        end(keepAlive: keepAlive, context: context)
    }

    private func end(keepAlive: Bool, context: ChannelHandlerContext) {
        answering = false
        if keepAlive, !draining { reinstallUpgrade?(context) }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive || draining {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }

    private static func keepsAlive(_ request: HTTPRequestHead, _ headers: HTTPHeaders) -> Bool {
        request.isKeepAlive && !headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
    }

    /// How exchanges write on this connection (always on its event loop).
    private struct ConnectionWriter: PrimusHTTPExchangeWriter {
        let handler: NIOLoopBound<(PrimusHTTPHandler, ChannelHandlerContext)>
        /// The request being answered (its version, method and keep-alive decide the framing).
        let request: HTTPRequestHead

        func write(_ response: PrimusHTTPResponse) {
            let (handler, context) = self.handler.value
            handler.respond(response, to: request, context: context)
        }

        func startStream(status: HTTPResponseStatus, headers: HTTPHeaders) {
            let (handler, context) = self.handler.value
            handler.startStream(status: status, headers: headers, to: request, context: context)
        }

        func writeStreamPart(_ bytes: ByteBuffer) {
            let (handler, context) = self.handler.value
            handler.writeStreamPart(bytes, context: context)
        }

        func finishStream() {
            let (handler, context) = self.handler.value
            handler.finishStream(context: context)
        }
    }
}

@available(*, unavailable)
extension PrimusHTTPHandler: Sendable {}

/// Sent down every open connection when the standalone server shuts down (after the sparks
/// ended): HTTP connections close once their answer in progress is written, idle ones after
/// `idleGrace` unless a request arrives (then after its answer).
struct PrimusServerDraining: Sendable {
    var idleGrace: TimeAmount
}
