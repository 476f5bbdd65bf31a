import NIOCore
import NIOHTTP1
import PrimusCore

/// The `sockjs` transformer: the SockJS 0.3 protocol under the pathname, as sockjs-client (and
/// our browser and Swift clients) speak it. Every endpoint and transport of the protocol is
/// served: `/info`, the iframe page, `websocket` and the raw `/websocket`, `xhr` and
/// `xhr_send`, `xhr_streaming`, `eventsource`, `htmlfile`, `jsonp` and `jsonp_send`.
///
/// Primus messages are the parser's text, each one string of a SockJS `a[...]` frame. A spark's
/// headers, address and query are those of the request that opened its session. Its id is made
/// by the server (``PrimusConfiguration/idGenerator`` or random), not the session id in the URL:
/// clients choose those, and two clients may even share one on WebSocket.
///
/// Every session opens a spark through ``Primus/admit(_:id:)`` (the spark limits, fair
/// shedding), and ``SockJSOptions/maxSessions`` caps the HTTP session objects on top. A body
/// longer than twice ``PrimusConfiguration/maxLength`` (a message escaped in JSON) gets `413`;
/// each message is then held to `maxLength` by the spark.
struct SockJSTransformer: PrimusServerTransformer {
    let options: SockJSOptions
    let registry = PrimusSessionRegistry<SockJSServerSession>()
    let iframePage: SockJSPages.IframePage

    init(options: SockJSOptions) {
        self.options = options
        self.iframePage = SockJSPages.IframePage(clientScriptURL: options.clientScriptURL)
    }

    /// One SockJS service: the options its prefix runs with and what sits on its sessions.
    struct Service {
        enum Behaviour {
            /// Sparks: the Primus layer.
            case primus
            /// The test contract's echo.
            case echo
            /// The test contract's `/close`: every session is closed with 3000 "Go away!".
            case closeOnOpen
        }

        var options: SockJSOptions
        var behaviour: Behaviour
    }

    func maxRequestBodyLength(primus: Primus) -> Int? {
        let maxLength = primus.configuration.maxLength
        return maxLength > Int.max / 2 - 64 ? Int.max : maxLength * 2 + 64
    }

    // MARK: - Routing

    /// The service a path belongs to and the path after its prefix, or `nil` (`404`).
    private func route(_ path: String, primus: Primus) -> (service: Service, route: SockJSRoute)? {
        var relative = path.dropFirst(primus.configuration.pathname.count)
        if primus.configuration.pathname.hasSuffix("/") { relative = "/" + relative }
        guard options.testServices else {
            // Primus's prefix match: `/primusfoo` is under `/primus` too, but not SockJS's.
            guard relative.isEmpty || relative.hasPrefix("/") else { return nil }
            return (Service(options: options, behaviour: .primus), SockJSRoute(path: relative))
        }
        // The test contract's four services, each under its own prefix.
        let name = relative.dropFirst().prefix { $0 != "/" }
        let rest = relative.dropFirst(1 + name.count)
        var service = Service(options: options, behaviour: .echo)
        switch name {
        case "echo": break
        case "close": service.behaviour = .closeOnOpen
        case "disabled_websocket_echo": service.options.websocket = false
        case "cookie_needed_echo": service.options.cookieNeeded = true
        default: return nil
        }
        return (service, SockJSRoute(path: rest))
    }

    // MARK: - WebSocket

    func webSocketHandshake(_ context: PrimusMiddlewareContext, on eventLoop: any EventLoop, primus: Primus) -> PrimusWebSocketDecision {
        guard let (service, route) = route(context.request.path, primus: primus) else {
            return .refuse(SockJSResponses.notFound())
        }
        guard context.head.method == .GET else { return .refuse(SockJSResponses.methodNotAllowed(allow: "GET")) }
        let framed: Bool
        switch route {
        case .session(_, .websocket): framed = true
        case .rawWebSocket: framed = false
        default: return .refuse(SockJSResponses.notFound())
        }
        guard service.options.websocket else { return .refuse(SockJSResponses.notFound()) }
        var accepted: Spark?
        if service.behaviour == .primus {
            // The spark is announced before the 101 goes out, as on the websockets transformer.
            guard let spark = primus.accept(context, on: eventLoop) else {
                return .refuse(.text("Service Unavailable", status: .serviceUnavailable, contentType: SockJSResponses.plainText))
            }
            accepted = spark
        }
        let spark = accepted
        let heartbeatDelay = service.options.heartbeatDelay
        let closeOnOpen = service.behaviour == .closeOnOpen
        return .accept(
            PrimusWebSocketAcceptance(
                maxMessageLength: maxRequestBodyLength(primus: primus) ?? primus.configuration.maxLength,
                compression: primus.configuration.compression,
                connected: { eventLoop in
                    let sink: any SparkTransportSink = spark ?? TransportEchoSink(closeOnOpen: closeOnOpen)
                    return framed ? SockJSWebSocketSession(sink: sink, heartbeatDelay: heartbeatDelay, eventLoop: eventLoop) : sink
                },
                abandoned: { spark?.transportClosed() }
            )
        )
    }


    // MARK: - HTTP

    func handle(_ exchange: PrimusHTTPExchange, primus: Primus) {
        let request = exchange.request
        guard let (service, route) = route(request.path, primus: primus) else {
            return exchange.respond(SockJSResponses.notFound())
        }
        let method = request.method
        switch route {
        case .welcome:
            exchange.respond(method == .GET || method == .HEAD ? SockJSResponses.welcome() : SockJSResponses.notFound())
        case .info:
            switch method {
            case .GET: exchange.respond(SockJSResponses.info(request.headers, websocket: service.options.websocket, cookieNeeded: service.options.cookieNeeded))
            case .OPTIONS: exchange.respond(SockJSResponses.preflight(request.headers, methods: "OPTIONS, GET"))
            default: exchange.respond(SockJSResponses.methodNotAllowed(allow: "OPTIONS, GET"))
            }
        case .iframe:
            exchange.respond(method == .GET ? iframePage.response(to: request.headers) : SockJSResponses.notFound())
        case .rawWebSocket:
            guard service.options.websocket else { return exchange.respond(SockJSResponses.notFound()) }
            exchange.respond(method == .GET ? SockJSResponses.upgradeOnly() : SockJSResponses.methodNotAllowed(allow: "GET"))
        case .session(let id, let transport):
            session(exchange, id: id, transport: transport, service: service, primus: primus)
        case .notFound:
            exchange.respond(SockJSResponses.notFound())
        }
    }

    private func session(_ exchange: PrimusHTTPExchange, id: String, transport: SockJSTransport, service: Service, primus: Primus) {
        let request = exchange.request
        if transport == .websocket {
            guard service.options.websocket else { return exchange.respond(SockJSResponses.notFound()) }
            return exchange.respond(request.method == .GET ? SockJSResponses.upgradeOnly() : SockJSResponses.methodNotAllowed(allow: "GET"))
        }
        if request.method == .OPTIONS, transport == .xhr || transport == .xhrSend || transport == .xhrStreaming {
            return exchange.respond(SockJSResponses.preflight(request.headers, methods: "OPTIONS, POST"))
        }
        guard request.method.rawValue == transport.method else {
            return exchange.respond(SockJSResponses.notFound())
        }
        var headers = SockJSResponses.cors(request.headers)
        headers.add(name: "Cache-Control", value: SockJSResponses.noCache)
        if service.options.cookieNeeded { headers.add(name: "Set-Cookie", value: SockJSResponses.sessionCookie(request.headers)) }
        if transport.isReceiving {
            receive(exchange, id: id, transport: transport, headers: headers, service: service, primus: primus)
        } else {
            send(exchange, id: id, transport: transport, headers: headers, primus: primus)
        }
    }

    /// `xhr_send` and `jsonp_send`: the client's messages for an open session.
    private func send(_ exchange: PrimusHTTPExchange, id: String, transport: SockJSTransport, headers: HTTPHeaders, primus: Primus) {
        let request = exchange.request
        guard let session = registry.lookup(id) else { return exchange.respond(SockJSResponses.notFound()) }
        // The front-end's limit may be higher than this transformer's own.
        if let limit = maxRequestBodyLength(primus: primus), request.body.readableBytes > limit {
            return exchange.respond(.text("Payload Too Large", status: .payloadTooLarge, contentType: SockJSResponses.plainText))
        }
        var body = request.body
        if transport == .jsonpSend,
            request.headers.first(name: "content-type")?.lowercased().hasPrefix("application/x-www-form-urlencoded") == true
        {
            // A form: the messages are its `d` field.
            let form = QueryParameters(Substring(String(buffer: body)))
            body = ByteBuffer(string: form["d"] ?? "")
        }
        let messages: [String]
        do {
            messages = try SockJSClientPayload.decodeBody(body)
        } catch {
            return exchange.respond(SockJSResponses.serverError(error.description, headers: headers))
        }
        var answerHeaders = headers
        answerHeaders.add(name: "Content-Type", value: SockJSResponses.plainText)
        let answer =
            transport == .xhrSend
            ? PrimusHTTPResponse(status: .noContent, headers: answerHeaders)
            : PrimusHTTPResponse(status: .ok, headers: answerHeaders, body: ByteBuffer(string: "ok"))
        session.execute { $0.deliver(messages, exchange: exchange, answer: answer) }
    }

    /// The receiving transports: attach to the session, opening it first if it is new.
    private func receive(_ exchange: PrimusHTTPExchange, id: String, transport: SockJSTransport, headers: HTTPHeaders, service: Service, primus: Primus) {
        var headers = headers
        let kind: SockJSSessionStateMachine.ReceiverKind
        let wrapping: SockJSFrameWrapping
        var prelude: ByteBuffer?
        switch transport {
        case .xhr:
            kind = .polling
            wrapping = .lines
            headers.add(name: "Content-Type", value: SockJSResponses.javascript)
        case .xhrStreaming:
            kind = .streaming(limited: true)
            wrapping = .lines
            prelude = SockJSFrameWrapping.xhrStreamingPrelude
            headers.add(name: "Content-Type", value: SockJSResponses.javascript)
        case .eventsource:
            kind = .streaming(limited: true)
            wrapping = .eventSource
            prelude = SockJSFrameWrapping.eventSourcePrelude
            headers.add(name: "Content-Type", value: "text/event-stream")
        case .htmlfile, .jsonp:
            let callback: SockJSCallbackName
            do {
                callback = try SockJSCallbackName(exchange.request.query["c"] ?? exchange.request.query["callback"])
            } catch {
                return exchange.respond(SockJSResponses.serverError(error.description, headers: headers))
            }
            if transport == .htmlfile {
                kind = .streaming(limited: true)
                wrapping = .htmlFile
                prelude = SockJSPages.htmlFileHead(callback: callback)
                headers.add(name: "Content-Type", value: "text/html; charset=UTF-8")
            } else {
                kind = .polling
                wrapping = .jsonp(callback: callback)
                headers.add(name: "Content-Type", value: SockJSResponses.javascript)
            }
        case .websocket, .xhrSend, .jsonpSend:
            return exchange.respond(SockJSResponses.notFound())
        }
        let streamPrelude = prelude
        let responseHeaders = headers
        let receive: @Sendable (SockJSServerSession) -> Void = { session in
            session.receive(exchange, kind: kind, wrapping: wrapping, prelude: streamPrelude, headers: responseHeaders)
        }
        // A new id opens a session; one opened meanwhile by a request on another loop is joined.
        for _ in 0..<2 {
            if let session = registry.lookup(id) { return session.execute(receive) }
            switch open(id: id, exchange: exchange, service: service, primus: primus) {
            case .opened(let session): return receive(session)
            case .refused: return exchange.respond(.text("Service Unavailable", status: .serviceUnavailable, contentType: SockJSResponses.plainText))
            case .idTaken: continue
            }
        }
        exchange.respond(.text("Service Unavailable", status: .serviceUnavailable, contentType: SockJSResponses.plainText))
    }

    private enum Opening {
        case opened(SockJSServerSession)
        case refused
        case idTaken
    }

    /// Opens session `id` on the exchange's loop, with its spark (or echo) on top.
    private func open(id: String, exchange: PrimusHTTPExchange, service: Service, primus: Primus) -> Opening {
        let eventLoop = exchange.eventLoop
        var admission: PrimusAdmission?
        if service.behaviour == .primus {
            guard let admitted = primus.admit(exchange.context) else { return .refused }
            admission = admitted
        }
        let configuration = SockJSSessionStateMachine.Configuration(
            heartbeatDelay: service.options.heartbeatDelay,
            disconnectDelay: service.options.disconnectDelay,
            responseLimit: service.options.responseLimit
        )
        let session = SockJSServerSession(
            sessionID: id,
            eventLoop: eventLoop,
            configuration: configuration,
            maxBufferedBytes: primus.configuration.limits.maxBufferedBytes,
            registry: registry
        )
        let limit = admission?.shedAnother == true ? Int.max : options.maxSessions
        guard registry.insert(PrimusLoopHandle(session, eventLoop: eventLoop), id: id, limit: limit) else {
            if let admission { primus.release(admission) }
            return registry.lookup(id) == nil ? .refused : .idTaken
        }
        let sink: any SparkTransportSink
        switch service.behaviour {
        case .primus:
            guard let admission else { return .refused }
            sink = primus.openSpark(admission, request: exchange.request.head, on: eventLoop)
        case .echo: sink = TransportEchoSink(closeOnOpen: false)
        case .closeOnOpen: sink = TransportEchoSink(closeOnOpen: true)
        }
        session.open(sink: sink)
        return .opened(session)
    }
}
