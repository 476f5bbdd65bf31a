import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOWebSocket
import PrimusCore
import Synchronization

/// The `engine.io` transformer: Engine.IO (protocol 4, and 3 when allowed) under the pathname,
/// as Primus runs the Engine.IO server: HTTP long-polling with an upgrade to WebSocket, or a
/// WebSocket from the start. The session id is the spark id; the spark's headers, address and
/// query are the handshake request's. Primus messages travel as Engine.IO message packets.
///
/// Options are in ``PrimusConfiguration/engineIO``. The largest polling body and the largest
/// WebSocket message are the same, ``PrimusConfiguration/maxLength``, announced as `maxPayload`:
/// a longer body gets `413` and closes the session; a longer message closes the WebSocket with
/// 1009 (as the reference server applies `maxHttpBufferSize` to both).
///
/// Every handshake, polling or WebSocket, is a spark and asks ``Primus/admit(_:key:)`` first
/// (``PrimusLimits/maxSparks``, ``PrimusLimits/maxSparksPerAddress``, with fair shedding); a
/// refused one gets the Engine.IO error with `503`. ``EngineIOOptions/maxSessions`` caps the
/// session objects on top (closing sessions included).
struct EngineIOTransformer: PrimusServerTransformer {
    /// What sits on an opened session instead of a spark: the `socket.io` transformer puts its
    /// namespace layer there (which opens a spark per namespace). Called on the session's loop,
    /// after the open packet is decided and before it is sent.
    typealias SessionLayerFactory = @Sendable (EngineIOSessionOpening) -> any WebSocketMessageSink

    let options: EngineIOOptions
    let registry = EngineIOSessionRegistry()
    /// `nil`: each session carries one spark (the `engine.io` transformer).
    var sessionLayer: SessionLayerFactory? = nil

    /// Polling bodies carry whole messages: as long as ``PrimusConfiguration/maxLength``, plus one
    /// (the HTTP layer's `413` starts just past it, and the session's own check answers at it).
    func maxRequestBodyLength(primus: Primus) -> Int? {
        primus.configuration.maxLength + 1
    }

    // MARK: - WebSocket

    /// A WebSocket handshake: it opens a session (no `sid`) or probes an upgrade of one (`sid`).
    /// A refused one gets the Engine.IO error the reference server answers.
    func webSocketHandshake(_ context: PrimusMiddlewareContext, on eventLoop: any EventLoop, primus: Primus) -> PrimusWebSocketDecision {
        let head = context.head
        let headers: HTTPHeaders = ["connection": "close"]
        let request: EngineIORequest
        do {
            request = try EngineIORequest(method: head.method == .GET ? .get : .other, query: context.query, isUpgrade: true, allowEIO3: options.allowEIO3)
        } catch {
            return .refuse(EngineIOResponses.error(error, headers: headers))
        }
        guard request.transport == .websocket else { return .refuse(EngineIOResponses.error(.badRequest, headers: headers)) }
        let version = request.version ?? .v4
        // The same limit as a polling body and the announced `maxPayload`.
        let maxMessageLength = primus.configuration.maxLength
        if let sid = request.sid {
            guard options.allowUpgrades else { return .refuse(EngineIOResponses.error(.badRequest, headers: headers)) }
            guard let session = registry.lookup(sid) else { return .refuse(EngineIOResponses.error(.unknownSession, headers: headers)) }
            return .accept(
                PrimusWebSocketAcceptance(maxMessageLength: maxMessageLength) { eventLoop in
                    let id = EngineIOTransformer.nextLinkID()
                    let link = EngineIOWebSocketLink(id: id, version: version, session: session, eventLoop: eventLoop)
                    let handle = EngineIOWebSocketLinkHandle(link, eventLoop: eventLoop)
                    // Once the link is attached to its connection (after this returns).
                    eventLoop.execute { session.execute { $0.webSocketArrived(handle) } }
                    return link
                }
            )
        }
        // A session opened on WebSocket: no upgrades to offer.
        if let allow = options.allowRequest, !allow(head) { return .refuse(EngineIOResponses.error(.forbidden, headers: headers)) }
        guard let admission = admitSession(context, primus: primus) else {
            return .refuse(EngineIOResponses.error(.tooManySessions, headers: headers))
        }
        guard
            let session = openSession(
                admission,
                transport: .websocket,
                version: version,
                encoding: EngineIOResponses.PayloadEncoding(version: version, supportsBinary: true, jsonpIndex: nil),
                eventLoop: eventLoop,
                primus: primus
            )
        else {
            return .refuse(EngineIOResponses.error(.tooManySessions, headers: headers))
        }
        let handle = session.makeHandle()
        let options = self.options
        let layer = self.sessionLayer
        let loopBound = NIOLoopBound(session, eventLoop: eventLoop)
        return .accept(
            PrimusWebSocketAcceptance(
                maxMessageLength: maxMessageLength,
                connected: { eventLoop in
                    let link = EngineIOWebSocketLink(id: EngineIOTransformer.nextLinkID(), version: version, session: handle, eventLoop: eventLoop)
                    let linkHandle = EngineIOWebSocketLinkHandle(link, eventLoop: eventLoop)
                    // Once the link is attached to its connection (after this returns), so the
                    // open packet has somewhere to go.
                    eventLoop.execute {
                        let session = loopBound.value
                        session.attachWebSocket(linkHandle)
                        EngineIOTransformer.start(session, admission: admission, head: head, upgrades: [], options: options, layer: layer, primus: primus)
                    }
                    return link
                },
                abandoned: { handle.execute { $0.close(code: 1000) } }
            )
        )
    }

    // MARK: - HTTP

    func handle(_ exchange: PrimusHTTPExchange, primus: Primus) {
        let request = exchange.request
        let isUpgrade = request.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        // CORS and no-cache headers come from the middleware (its `cors` and `no-cache` layers,
        // which also answer preflights), as Primus runs engine.io behind them.
        let headers: HTTPHeaders = isUpgrade ? ["connection": "close"] : [:]
        let method: EngineIORequest.Method =
            switch request.method {
            case .GET: .get
            case .POST: .post
            default: .other
            }
        let parsed: EngineIORequest
        do {
            parsed = try EngineIORequest(method: method, query: request.query, isUpgrade: isUpgrade, allowEIO3: options.allowEIO3)
        } catch {
            return exchange.respond(EngineIOResponses.error(error, headers: headers))
        }

        guard let sid = parsed.sid else {
            if let allow = options.allowRequest, !allow(request.head) { return exchange.respond(EngineIOResponses.error(.forbidden, headers: headers)) }
            // A WebSocket handshake that is not an upgrade (no `Upgrade` header the server
            // understood) cannot open a session.
            if parsed.transport == .websocket { return exchange.respond(EngineIOResponses.error(.badRequest, headers: headers)) }
            return handshake(exchange, parsed: parsed, headers: headers, primus: primus)
        }
        guard let session = registry.lookup(sid) else { return exchange.respond(EngineIOResponses.error(.unknownSession, headers: headers)) }
        // `transport=websocket` with a sid but no upgrade, or upgrades turned off.
        guard parsed.transport == .polling else { return exchange.respond(EngineIOResponses.error(.badRequest, headers: headers)) }

        switch method {
        case .get:
            session.execute { $0.poll(exchange, headers: headers) }
        case .post:
            guard request.body.readableBytes <= primus.configuration.maxLength else {
                session.execute { $0.postTooLarge(exchange, headers: headers) }
                return
            }
            let binary = request.headers.first(name: "content-type")?.lowercased().hasPrefix("application/octet-stream") ?? false
            session.execute { $0.post(exchange, headers: headers, body: request.body, binaryContent: binary) }
        case .other:
            exchange.respond(EngineIOResponses.error(.badRequest, headers: headers))
        }
    }

    /// Opens a polling session on the exchange's loop; the handshake request is its first poll.
    private func handshake(_ exchange: PrimusHTTPExchange, parsed: EngineIORequest, headers: HTTPHeaders, primus: Primus) {
        let version = parsed.version ?? .v4
        let encoding = EngineIOResponses.PayloadEncoding(
            version: version,
            supportsBinary: !parsed.base64 && parsed.jsonpIndex == nil,
            jsonpIndex: parsed.jsonpIndex
        )
        let upgrades = options.allowUpgrades ? ["websocket"] : []
        guard
            let admission = admitSession(exchange.context, primus: primus),
            let session = openSession(admission, transport: .polling, version: version, encoding: encoding, eventLoop: exchange.eventLoop, primus: primus)
        else {
            return exchange.respond(EngineIOResponses.error(.tooManySessions, headers: headers))
        }
        Self.start(session, admission: admission, head: exchange.request.head, upgrades: upgrades, options: options, layer: sessionLayer, primus: primus)
        // The handshake request is the session's first poll: it carries the open packet.
        session.poll(exchange, headers: headers)
    }

    // MARK: - Sessions

    /// Admits a new session (see ``Primus/admit(_:id:)``), or `nil` (answer `503`). With
    /// ``EngineIOOptions/maxSessions`` reached, only a handshake for which a spark was shed gets
    /// in (the shed session is on its way out).
    private func admitSession(_ context: PrimusMiddlewareContext, primus: Primus) -> PrimusAdmission? {
        // Ids are random; a collision with a closing session is retried rather than trusted away.
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

    /// Opens the admitted session (on `eventLoop`), or releases its admission and returns `nil`.
    private func openSession(
        _ admission: PrimusAdmission,
        transport: EngineIOSessionStateMachine.Transport,
        version: EngineIOProtocolVersion,
        encoding: EngineIOResponses.PayloadEncoding,
        eventLoop: any EventLoop,
        primus: Primus
    ) -> EngineIOServerSession? {
        let configuration = EngineIOSessionStateMachine.Configuration(
            version: version,
            pingInterval: TimeAmount(options.pingInterval),
            pingTimeout: TimeAmount(options.pingTimeout),
            upgradeTimeout: TimeAmount(options.upgradeTimeout),
            maxBufferedPackets: options.maxBufferedPackets,
            maxPacketsPerPayload: options.maxPacketsPerPayload,
            maxBufferedBytes: primus.configuration.limits.maxBufferedBytes
        )
        let session = EngineIOServerSession(
            sid: admission.id,
            eventLoop: eventLoop,
            configuration: configuration,
            transport: transport,
            encoding: encoding,
            registry: registry,
            primus: primus
        )
        // A shed session leaves the registry when it has closed: the newcomer does not wait for it.
        guard registry.insert(session.makeHandle(), id: admission.id, limit: admission.shedAnother ? .max : options.maxSessions) else {
            primus.release(admission)
            return nil
        }
        return session
    }

    /// Sends the open packet and puts a spark (or the raw echo) on top of the session.
    private static func start(
        _ session: EngineIOServerSession,
        admission: PrimusAdmission,
        head: HTTPRequestHead,
        upgrades: [String],
        options: EngineIOOptions,
        layer: SessionLayerFactory?,
        primus: Primus
    ) {
        let handshake = EngineIOHandshake(
            sid: session.sid,
            upgrades: upgrades,
            pingInterval: options.pingInterval.engineIOMilliseconds,
            pingTimeout: options.pingTimeout.engineIOMilliseconds,
            maxPayload: session.version == .v4 ? primus.configuration.maxLength : nil
        )
        if options.rawEcho {
            session.open(handshake: handshake, sink: TransportEchoSink())
            return
        }
        if let layer {
            let opening = EngineIOSessionOpening(admission: admission, head: head, eventLoop: session.eventLoop, version: session.version, primus: primus)
            session.open(handshake: handshake, sink: layer(opening))
            return
        }
        let spark = primus.openSpark(admission, request: head, on: session.eventLoop)
        session.open(handshake: handshake, sink: spark)
    }

    // MARK: - Limits

    func requestBodyTooLarge(_ head: HTTPRequestHead, primus: Primus) {
        guard head.method == .POST, let session = Self.namedSession(head, registry: registry) else { return }
        session.execute { $0.postTooLarge(nil, headers: [:]) }
    }

    func requestBegan(_ head: HTTPRequestHead, primus: Primus) {
        guard head.method == .POST, let session = Self.namedSession(head, registry: registry) else { return }
        session.execute { $0.postBegan() }
    }

    func requestAbandoned(_ head: HTTPRequestHead, primus: Primus) {
        guard head.method == .POST, let session = Self.namedSession(head, registry: registry) else { return }
        session.execute { $0.postAbandoned() }
    }

    /// The session a polling request names by its `sid`, if open.
    private static func namedSession(_ head: HTTPRequestHead, registry: EngineIOSessionRegistry) -> EngineIOSessionHandle? {
        guard let sid = QueryParameters(requestURI: head.uri)["sid"] else { return nil }
        return registry.lookup(sid)
    }

    func shed(sparkID: String, primus: Primus) {
        registry.lookup(sparkID)?.execute { $0.close(code: 1000) }
    }

    private static let linkCounter = Atomic<UInt64>(0)

    /// Link ids, unique per process.
    static func nextLinkID() -> UInt64 { linkCounter.add(1, ordering: .relaxed).newValue }
}

/// An Engine.IO session being opened, for a layer that sits on it instead of a spark.
struct EngineIOSessionOpening {
    /// The session's admission: its id is the session id; the session releases it when it ends.
    let admission: PrimusAdmission
    /// The handshake request.
    let head: HTTPRequestHead
    /// The session's loop, where the layer is called.
    let eventLoop: any EventLoop
    /// The Engine.IO protocol the client speaks (3 means Socket.IO protocol 4).
    let version: EngineIOProtocolVersion
    let primus: Primus
}

extension Primus {
    /// Open Engine.IO sessions (tests check that none outlive their clients).
    package var engineIOSessionCount: Int {
        (transformer as? EngineIOTransformer)?.registry.count ?? (transformer as? SocketIOTransformer)?.engine.registry.count ?? 0
    }
}
