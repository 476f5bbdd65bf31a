import Logging
import NIOCore
import NIOHTTP1
import PrimusCore

/// The `browserchannel` transformer: Google's BrowserChannel (protocol `VER=8`), as
/// node-browserchannel serves it, under the pathname:
/// - `GET <pathname>/test`: the client's test phase (`MODE=init`, then the buffering-proxy test);
/// - `POST <pathname>/bind` without `SID`: creates a session; its answer is the first chunk;
/// - `POST <pathname>/bind?SID=…`: the forward channel (the client's messages);
/// - `GET <pathname>/bind?SID=…&RID=rpc`: the back channel (the server's messages);
/// - `GET <pathname>/bind?SID=…&TYPE=terminate`: the client leaves.
///
/// The session id is the spark id. The spark's headers, query string and address (with the real
/// remote port) are the creating request's. The middleware (CORS, authorization) runs for every
/// request before it gets here. Every session asks ``Primus/admit(_:id:)`` first; a refused one
/// gets `503`.
struct BrowserChannelTransformer: PrimusServerTransformer {
    let options: BrowserChannelOptions
    let registry = PrimusSessionRegistry<BrowserChannelServerSession>()

    /// Forward-channel bodies carry whole messages: as long as ``PrimusConfiguration/maxLength``
    /// plus one (the HTTP layer's `413` starts just past it; the transformer answers `413` at it).
    func maxRequestBodyLength(primus: Primus) -> Int? {
        primus.configuration.maxLength + 1
    }

    func handle(_ exchange: PrimusHTTPExchange, primus: Primus) {
        let request = exchange.request
        let pathname = primus.configuration.pathname
        let path = request.path.hasPrefix(pathname) ? request.path.dropFirst(pathname.count) : Substring(request.path)
        let query = request.query
        switch path {
        case "/test", "/test/":
            guard request.method == .GET else { return exchange.respond(BrowserChannelResponses.error(.methodNotAllowed)) }
            guard query["VER"] == "8" else { return exchange.respond(BrowserChannelResponses.error(.versionRequired)) }
            test(exchange, query: query)
        case "/bind", "/bind/":
            guard query["VER"] == "8" else { return exchange.respond(BrowserChannelResponses.error(.versionRequired)) }
            bind(exchange, query: query, primus: primus)
        default:
            exchange.respond(BrowserChannelResponses.error(.notFound))
        }
    }

    // MARK: - /test

    /// `MODE=init` answers the host prefixes (none) and advertises JSON forward bodies; the
    /// buffering-proxy test answers `11111`, then `2` after a pause: a client that sees both at
    /// once is behind a buffering proxy and turns chunking off (`CI=1`).
    private func test(_ exchange: PrimusHTTPExchange, query: QueryParameters) {
        if query["MODE"] == "init" {
            return exchange.respond(
                BrowserChannelResponses.text("[null,null]", extra: ["x-accept": "application/json; application/x-www-form-urlencoded"])
            )
        }
        let html = query["TYPE"] == "html"
        guard let stream = exchange.startStream(headers: BrowserChannelResponses.headers(contentType: html ? "text/html" : "text/plain")) else { return }
        stream.write(Self.testPiece("11111", html: html))
        exchange.eventLoop.scheduleTask(in: TimeAmount(options.bufferingProxyTestDelay)) {
            stream.write(Self.testPiece("2", html: html))
            if html { stream.write(ByteBuffer(string: BrowserChannelResponses.htmlDone)) }
            stream.finish()
        }
    }

    private static func testPiece(_ text: String, html: Bool) -> ByteBuffer {
        ByteBuffer(string: html ? BrowserChannelResponses.htmlScript(text) : text)
    }

    // MARK: - /bind

    private func bind(_ exchange: PrimusHTTPExchange, query: QueryParameters, primus: Primus) {
        let request = exchange.request
        let aid = query["AID"].flatMap { Int($0) }
        guard let sid = query["SID"] else {
            guard request.method == .POST else { return exchange.respond(BrowserChannelResponses.error(.unknownSID)) }
            return create(exchange, query: query, primus: primus)
        }
        guard let session = registry.lookup(sid) else { return exchange.respond(BrowserChannelResponses.error(.unknownSID)) }
        switch request.method {
        case .GET where query["TYPE"] == "terminate":
            let rid = query["RID"].flatMap { Int($0) }
            session.execute { $0.terminate(rid: rid, aid: aid, exchange: exchange) }
        case .GET:
            let chunked = query["CI"] != "1"
            let html = query["TYPE"] == "html"
            let domain = query["DOMAIN"]
            session.execute { $0.openBackChannel(exchange, aid: aid, chunked: chunked, html: html, domain: domain) }
        case .POST:
            guard let rid = query["RID"].flatMap({ Int($0) }) else { return exchange.respond(BrowserChannelResponses.error(.badData)) }
            guard let data = decode(exchange, primus: primus) else {
                session.execute { $0.forwardRefused(rid: rid) }
                return
            }
            session.execute { $0.forward(rid: rid, aid: aid, data: data, exchange: exchange) }
        default:
            exchange.respond(BrowserChannelResponses.error(.methodNotAllowed))
        }
    }

    /// The forward data of a `POST`, or `nil` once an error was answered.
    private func decode(_ exchange: PrimusHTTPExchange, primus: Primus) -> BrowserChannelForwardData? {
        let request = exchange.request
        guard request.body.readableBytes <= primus.configuration.maxLength else {
            exchange.respond(BrowserChannelResponses.error(.payloadTooLarge))
            return nil
        }
        let isJSON = request.headers.first(name: "content-type")?.lowercased().hasPrefix("application/json") ?? false
        do {
            return try BrowserChannelForwardData.decode(request.body, isJSON: isJSON)
        } catch {
            exchange.respond(BrowserChannelResponses.error(error))
            return nil
        }
    }

    /// A `POST` without `SID`: a new session on the exchange's loop. `OSID`/`OAID` name the
    /// client's previous session, which is evicted after the arrays it received are acknowledged.
    private func create(_ exchange: PrimusHTTPExchange, query: QueryParameters, primus: Primus) {
        guard let rid = query["RID"].flatMap({ Int($0) }) else { return exchange.respond(BrowserChannelResponses.error(.badData)) }
        guard let data = decode(exchange, primus: primus) else { return }
        if let old = query["OSID"], let session = registry.lookup(old) {
            let aid = query["OAID"].flatMap { Int($0) }
            session.execute { $0.evict(aid: aid) }
        }
        guard let admission = admit(exchange.context, primus: primus) else {
            return exchange.respond(BrowserChannelResponses.error(.tooManySessions))
        }
        var configuration = BrowserChannelSessionStateMachine.Configuration()
        configuration.keepAliveInterval = TimeAmount(options.keepAliveInterval)
        configuration.sessionTimeout = TimeAmount(options.sessionTimeout)
        configuration.backChannelMaxBytes = options.backChannelMaxBytes
        configuration.maxBufferedArrays = options.maxBufferedArrays
        configuration.maxHeldBytes = primus.configuration.maxLength
        let session = BrowserChannelServerSession(
            sid: admission.id,
            rid: rid,
            eventLoop: exchange.eventLoop,
            configuration: configuration,
            registry: registry,
            primus: primus
        )
        // A shed session leaves the registry when it has closed: the newcomer does not wait.
        guard registry.insert(session.makeHandle(), id: admission.id, limit: admission.shedAnother ? .max : options.maxSessions) else {
            primus.release(admission)
            return exchange.respond(BrowserChannelResponses.error(.tooManySessions))
        }
        let sink: any SparkTransportSink =
            options.rawEcho ? TransportEchoSink() : primus.openSpark(admission, request: exchange.request.head, on: exchange.eventLoop)
        session.open(sink: sink, creation: exchange, rid: rid, data: data)
    }

    /// Admits a new session, or `nil` (answer `503`); ids colliding with an open session are
    /// retried.
    private func admit(_ context: PrimusMiddlewareContext, primus: Primus) -> PrimusAdmission? {
        for _ in 0..<3 {
            guard let admission = primus.admit(context) else { return nil }
            guard registry.lookup(admission.id) == nil else {
                primus.release(admission)
                continue
            }
            guard admission.shedAnother || registry.count < options.maxSessions else {
                primus.release(admission)
                return nil
            }
            return admission
        }
        return nil
    }

    /// The HTTP layer refused a forward request's body (`413`): its `RID` is used up.
    func requestBodyTooLarge(_ head: HTTPRequestHead, primus: Primus) {
        let query = QueryParameters(requestURI: head.uri)
        guard head.method == .POST, let sid = query["SID"], let rid = query["RID"].flatMap({ Int($0) }), let session = registry.lookup(sid) else {
            return
        }
        session.execute { $0.forwardRefused(rid: rid) }
    }

    func shed(sparkID: String, primus: Primus) {
        registry.lookup(sparkID)?.execute { $0.close(code: 1000) }
    }
}

extension Primus {
    /// Open BrowserChannel sessions (tests check that none outlive their clients).
    package var browserChannelSessionCount: Int {
        (transformer as? BrowserChannelTransformer)?.registry.count ?? 0
    }
}
