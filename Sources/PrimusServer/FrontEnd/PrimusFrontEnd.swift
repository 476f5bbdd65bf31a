public import NIOCore
public import NIOHTTP1

/// Serves a ``Primus`` from a web framework's own server (Hummingbird, Vapor, or any other that
/// hands over requests and WebSockets), instead of ``PrimusHTTPServer``.
///
/// The framework keeps its listener, its HTTP parsing and its own middleware; a route (or a
/// middleware) under the pathname hands each request here, and this runs Primus's middleware
/// and then the transformer, exactly as the standalone server does:
/// - a plain request: ``serve(head:body:remoteAddress:secure:on:)`` returns the answer, complete
///   or streamed (an Engine.IO poll parks here until the session has data, a SockJS
///   xhr-streaming answer streams);
/// - a WebSocket upgrade: ``decideUpgrade(head:remoteAddress:secure:on:)`` accepts or refuses
///   it; an accepted one gives the framework's WebSocket to the transformer's sink, which the
///   framework then feeds with complete messages (see ``PrimusWebSocketAcceptance``).
///
/// The heartbeat and graceful shutdown come from running the ``Primus`` itself as a service
/// (``Primus/run()``). The defenses of ``PrimusLimits`` that belong to a listener (connection
/// cap, header and keep-alive timeouts, request head limits) are the framework's here; the body
/// limit, the middleware, admission and every transformer limit are Primus's.
public struct PrimusFrontEnd: Sendable {
    /// The Primus served.
    public let primus: Primus
    /// The longest request body accepted under the pathname: the larger of the one given at
    /// creation and what the transformer needs (Engine.IO's polling bodies carry whole messages).
    /// Longer bodies are answered `413` with `Connection: close`.
    public let maxRequestBodyLength: Int

    /// Creates a front-end for `primus`.
    ///
    /// - Parameter maxRequestBodyLength: the longest body accepted (default 1 MiB, as
    ///   ``PrimusHTTPServer``); the transformer may raise it.
    public init(primus: Primus, maxRequestBodyLength: Int = 1 << 20) {
        self.primus = primus
        self.maxRequestBodyLength = max(maxRequestBodyLength, primus.transformer.maxRequestBodyLength(primus: primus) ?? 0)
    }

    /// Whether a request path belongs to Primus (a prefix match on the pathname, as Primus does,
    /// so `<pathname>/primus.js` and `<pathname>/spec` are Primus's).
    public func owns(path: String) -> Bool {
        primus.owns(path: path)
    }

    /// Serves one plain HTTP request under the pathname: reads its body (up to
    /// ``maxRequestBodyLength``), runs Primus's middleware, and hands it to the transformer.
    ///
    /// Returns once the answer starts: a complete body, or a stream the caller writes out as
    /// its parts arrive (see ``PrimusFrontEndAnswer``). A request that is answered later (a parked
    /// poll) keeps the calling task waiting until then; cancelling that task tells the transformer
    /// the client went away, and it answers at once.
    ///
    /// - Parameters:
    ///   - head: the request line and headers, as the client sent them.
    ///   - body: the body's parts; an error while reading counts as the client going away.
    ///   - remoteAddress: the socket peer (the client's address behind trusted proxies comes
    ///     from the headers, as configured in ``PrimusConfiguration``).
    ///   - secure: whether the connection carries TLS.
    ///   - eventLoop: the event loop of the request's connection when the framework knows it
    ///     (a session made by this request lives there); any loop otherwise.
    public func serve<Body: AsyncSequence>(
        head: HTTPRequestHead,
        body: Body,
        remoteAddress: SocketAddress?,
        secure: Bool,
        on eventLoop: any EventLoop
    ) async -> PrimusFrontEndAnswer where Body.Element == ByteBuffer {
        let primus = self.primus
        let transformer = primus.transformer
        guard owns(path: PrimusHTTPRequest(head: head).path) else {
            return PrimusFrontEndAnswer(.notFound)
        }
        transformer.requestBegan(head, primus: primus)
        let bytes: ByteBuffer
        switch await Self.collect(body, declared: head.headers.first(name: "content-length"), limit: maxRequestBodyLength) {
        case .complete(let collected):
            bytes = collected
        case .tooLarge:
            transformer.requestBodyTooLarge(head, primus: primus)
            var answer = PrimusFrontEndAnswer(.text("Payload Too Large", status: .payloadTooLarge, contentType: "text/plain"))
            answer.headers.replaceOrAdd(name: "connection", value: "close")
            return answer
        case .failed:
            transformer.requestAbandoned(head, primus: primus)
            return PrimusFrontEndAnswer(.text("Bad Request", status: .badRequest, contentType: "text/plain"))
        }
        let request = PrimusHTTPRequest(head: head, body: bytes, remoteAddress: remoteAddress)
        let exchangeEnded = eventLoop.makePromise(of: Void.self)
        let writer = PrimusFrontEndExchangeWriter(limit: primus.configuration.limits.maxBufferedBytes, ended: exchangeEnded)
        return await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<PrimusFrontEndAnswer, Never>) in
                writer.setContinuation(continuation)
                eventLoop.execute {
                    let context = PrimusMiddlewareContext(kind: .http, request: request, secure: secure, primus: primus)
                    primus.runMiddleware(context, on: eventLoop) { result in
                        switch result {
                        case .respond(let response):
                            transformer.requestAbandoned(head, primus: primus)
                            writer.write(response)
                        case .proceed(let context):
                            let exchange = PrimusHTTPExchange(
                                context: context,
                                eventLoop: eventLoop,
                                connectionID: ObjectIdentifier(writer),
                                closeFuture: exchangeEnded.futureResult,
                                writer: writer
                            )
                            transformer.handle(exchange, primus: primus)
                        }
                    }
                }
            }
        } onCancel: {
            // The framework gave up on the request (its client went away): a parked answer is
            // released now instead of at the session's next packet.
            writer.peerGone()
        }
    }

    /// Decides a WebSocket upgrade under the pathname: Primus's middleware (upgrade kind), then
    /// the transformer. Completes on `eventLoop`.
    ///
    /// ``PrimusWebSocketDecision/refuse(_:)`` carries the plain HTTP answer to give instead
    /// (with `Connection: close` and the middleware's headers). For
    /// ``PrimusWebSocketDecision/accept(_:)``, send a `101` with the acceptance's headers; once
    /// the connection speaks WebSocket, call ``PrimusWebSocketAcceptance/connected`` on the
    /// connection's loop, attach the framework's WebSocket to the returned sink as its
    /// ``SparkTransport`` (``SparkTransportSink/attach(transport:)``), and feed the sink every
    /// complete message, ping and the close, on that loop. If the `101` is never sent, call
    /// ``PrimusWebSocketAcceptance/abandoned`` instead, on `eventLoop`. Messages longer than
    /// ``PrimusWebSocketAcceptance/maxMessageLength`` close the connection with 1009.
    public func decideUpgrade(
        head: HTTPRequestHead,
        remoteAddress: SocketAddress?,
        secure: Bool,
        on eventLoop: any EventLoop
    ) -> EventLoopFuture<PrimusWebSocketDecision> {
        let primus = self.primus
        let promise = eventLoop.makePromise(of: PrimusWebSocketDecision.self)
        let request = PrimusHTTPRequest(head: head, remoteAddress: remoteAddress)
        guard primus.owns(path: request.path) else {
            promise.succeed(.refuse(PrimusWebSocketUpgrade.closing(.notFound)))
            return promise.futureResult
        }
        eventLoop.execute {
            let context = PrimusMiddlewareContext(kind: .upgrade, request: request, secure: secure, primus: primus)
            primus.runMiddleware(context, on: eventLoop) { result in
                switch result {
                case .respond(let response):
                    promise.succeed(.refuse(PrimusWebSocketUpgrade.closing(response)))
                case .proceed(let context):
                    switch primus.transformer.webSocketHandshake(context, on: eventLoop, primus: primus) {
                    case .refuse(let response):
                        promise.succeed(.refuse(PrimusWebSocketUpgrade.closing(response.addingMiddlewareHeaders(context.responseHeaders))))
                    case .accept(let acceptance):
                        promise.succeed(.accept(acceptance))
                    }
                }
            }
        }
        return promise.futureResult
    }

    private enum Collected {
        case complete(ByteBuffer)
        case tooLarge
        case failed
    }

    /// Reads a whole body, stopping as soon as it is known to be over `limit`.
    private static func collect<Body: AsyncSequence>(_ body: Body, declared: String?, limit: Int) async -> Collected where Body.Element == ByteBuffer {
        if let declared, let length = Int(declared), length > limit { return .tooLarge }
        var bytes = ByteBuffer()
        do {
            for try await var part in body {
                guard bytes.readableBytes + part.readableBytes <= limit else { return .tooLarge }
                bytes.writeBuffer(&part)
            }
        } catch {
            return .failed
        }
        return .complete(bytes)
    }
}
