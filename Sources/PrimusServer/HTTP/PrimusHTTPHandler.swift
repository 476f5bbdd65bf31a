import NIOCore
import NIOHTTP1
import PrimusCore

/// Answers the plain HTTP requests of one connection: `<pathname>/spec`, the transformer's own
/// HTTP endpoints, and the application's fallback for everything outside the pathname.
///
/// Bodies are collected up to a limit (larger ones get `413`, from ``PrimusHTTPRequestGuard`` in
/// front of it); responses go out in request order. A response that says `Connection: close`
/// closes the connection once written.
final class PrimusHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let primus: Primus
    private let fallback: PrimusHTTPFallback
    private let maxBodyLength: Int
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var bodyTooLarge = false
    /// The head of a request under the pathname whose body is still arriving: the transformer was
    /// told it began, and is told when it ends without reaching it.
    private var begun: HTTPRequestHead?

    init(primus: Primus, fallback: @escaping PrimusHTTPFallback, maxBodyLength: Int) {
        self.primus = primus
        self.fallback = fallback
        self.maxBodyLength = maxBodyLength
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            self.body.clear()
            self.bodyTooLarge = false
            if primus.owns(path: PrimusHTTPRequest(head: head).path) {
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
            if bodyTooLarge {
                // Engine.IO closes the session a too-large POST names, whichever layer refused it.
                if let begun { primus.transformer.requestBodyTooLarge(begun, primus: primus) }
                respond(.text("Payload Too Large", status: .payloadTooLarge, contentType: "text/plain"), to: head, context: context)
                return
            }
            let request = PrimusHTTPRequest(head: head, body: body, remoteAddress: context.channel.remoteAddress)
            route(request, context: context)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let begun {
            self.begun = nil
            primus.transformer.requestAbandoned(begun, primus: primus)
        }
        context.fireChannelInactive()
    }

    private func route(_ request: PrimusHTTPRequest, context: ChannelHandlerContext) {
        let path = request.path
        let pathname = primus.configuration.pathname
        if primus.owns(path: path) {
            if path == pathname + "/spec", request.method == .GET || request.method == .HEAD {
                var response = PrimusHTTPResponse.text(primus.spec.json, contentType: "application/json")
                response.headers.replaceOrAdd(name: "cache-control", value: "no-store, no-cache, must-revalidate, max-age=0")
                respond(response, to: request.head, context: context)
                return
            }
            if path == pathname + "/primus.js", request.method == .GET || request.method == .HEAD {
                respond(primus.libraryResponse(to: request.head), to: request.head, context: context)
                return
            }
            let transformer = primus.transformer
            let primus = self.primus
            let channel = context.channel
            respondAsync(to: request.head, context: context) {
                await transformer.respond(to: request, primus: primus, channel: channel)
            }
            return
        }
        let fallback = self.fallback
        respondAsync(to: request.head, context: context) { await fallback(request) }
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

    private func respond(_ response: PrimusHTTPResponse, to request: HTTPRequestHead, context: ChannelHandlerContext) {
        guard context.channel.isActive else { return }
        var headers = response.headers
        headers.replaceOrAdd(name: "content-length", value: String(response.body.readableBytes))
        // An answer that says `Connection: close` (an engine.io refusal, or the application's)
        // really ends the connection.
        let keepAlive = request.isKeepAlive && !headers[canonicalForm: "connection"].contains { $0.lowercased() == "close" }
        if !keepAlive { headers.replaceOrAdd(name: "connection", value: "close") }
        let head = HTTPResponseHead(version: request.version, status: response.status, headers: headers)
        context.write(wrapOutboundOut(.head(head)), promise: nil)
        if request.method != .HEAD, response.body.readableBytes > 0 {
            context.write(wrapOutboundOut(.body(.byteBuffer(response.body))), promise: nil)
        }
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let loopBound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in loopBound.value.close(promise: nil) }
        }
    }
}

@available(*, unavailable)
extension PrimusHTTPHandler: Sendable {}
