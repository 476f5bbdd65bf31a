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
struct EngineIOTransformer: ServerTransformer {
    let registry = EngineIOSessionRegistry()

    // MARK: - WebSocket

    func upgraders(for primus: Primus) -> [any HTTPServerProtocolUpgrader & Sendable] {
        let registry = self.registry
        // Upgraders are made per connection: this holds the session admitted for this
        // connection's handshake between `shouldUpgrade` and the pipeline.
        let admitted = NIOLockedValueBox<Admitted?>(nil)
        let upgrader = NIOWebSocketServerUpgrader(
            // The same limit as a polling body: the packet type digit counts, as on polling.
            maxFrameSize: max(primus.configuration.maxLength, 125),
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                let accepted = Self.acceptsUpgrade(head, channel: channel, primus: primus, registry: registry, admitted: admitted)
                return channel.eventLoop.makeSucceededFuture(accepted ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, head in
                let reserved = admitted.withLockedValue { value in
                    defer { value = nil }
                    return value
                }
                return channel.eventLoop.makeCompletedFuture {
                    try Self.upgraded(channel: channel, head: head, primus: primus, registry: registry, admitted: reserved)
                }
            }
        )
        return [upgrader]
    }

    /// A session id admitted for a handshake, and whether a spark was shed for it (then the
    /// session cap gives way too: the shed session is on its way out).
    struct Admitted: Sendable {
        var sid: String
        var shed: Bool
    }

    /// Whether a WebSocket handshake may complete. A refused one reaches ``respond(to:primus:channel:)``
    /// as a plain request, which answers with the Engine.IO error. A handshake that opens a
    /// session is admitted here, before the `101`.
    private static func acceptsUpgrade(
        _ head: HTTPRequestHead,
        channel: any Channel,
        primus: Primus,
        registry: EngineIOSessionRegistry,
        admitted: NIOLockedValueBox<Admitted?>
    ) -> Bool {
        guard primus.owns(path: PrimusHTTPRequest(head: head).path) else { return false }
        let options = primus.configuration.engineIO
        guard
            let request = try? EngineIORequest(
                method: head.method == .GET ? .get : .other,
                query: QueryParameters(requestURI: head.uri),
                isUpgrade: true,
                allowEIO3: options.allowEIO3
            ),
            request.transport == .websocket
        else { return false }
        if let sid = request.sid {
            return options.allowUpgrades && registry.lookup(sid) != nil
        }
        guard options.allowRequest?(head) ?? true,
            let reserved = admitSession(key: primus.client(of: head, remote: channel.remoteAddress).key, primus: primus, registry: registry)
        else { return false }
        admitted.withLockedValue { $0 = reserved }
        // An upgrade that fails before its session opens must not hold the admission.
        channel.closeFuture.whenComplete { _ in primus.releaseAdmissionUnlessOpen(reserved.sid, registry: registry) }
        return true
    }

    private static func upgraded(
        channel: any Channel,
        head: HTTPRequestHead,
        primus: Primus,
        registry: EngineIOSessionRegistry,
        admitted: Admitted?
    ) throws {
        let configuration = primus.configuration
        let request = try EngineIORequest(
            method: .get,
            query: QueryParameters(requestURI: head.uri),
            isUpgrade: true,
            allowEIO3: configuration.engineIO.allowEIO3
        )
        // The same rule as a polling body and the announced `maxPayload`.
        let maxMessageLength = configuration.maxLength
        if let sid = request.sid {
            guard let session = registry.lookup(sid) else {
                // Closed between the check and now: complete the handshake, then close.
                let link = EngineIOWebSocketLink(id: 0, version: request.version ?? .v4, session: nil)
                try channel.pipeline.syncOperations.addHandler(WebSocketTransportHandler(sink: link, maxMessageLength: maxMessageLength, limits: configuration.limits))
                link.close(code: 1000)
                return
            }
            let id = EngineIOTransformer.nextLinkID()
            let version = request.version ?? .v4
            let link = EngineIOWebSocketLink(id: id, version: version, session: session)
            try channel.pipeline.syncOperations.addHandler(WebSocketTransportHandler(sink: link, maxMessageLength: maxMessageLength, limits: configuration.limits))
            let handle = EngineIOWebSocketLinkHandle(link, eventLoop: channel.eventLoop)
            session.execute { $0.webSocketArrived(handle) }
            return
        }
        // A session opened on WebSocket: no upgrades to offer.
        let version = request.version ?? .v4
        guard
            let admitted,
            let session = Self.openSession(
                admitted,
                transport: .websocket,
                version: version,
                encoding: EngineIOResponses.PayloadEncoding(version: version, supportsBinary: true, jsonpIndex: nil),
                eventLoop: channel.eventLoop,
                primus: primus,
                registry: registry
            )
        else {
            channel.close(promise: nil)
            return
        }
        let link = EngineIOWebSocketLink(id: EngineIOTransformer.nextLinkID(), version: version, session: session.makeHandle())
        try channel.pipeline.syncOperations.addHandler(WebSocketTransportHandler(sink: link, maxMessageLength: maxMessageLength, limits: configuration.limits))
        session.attachWebSocket(EngineIOWebSocketLinkHandle(link, eventLoop: channel.eventLoop))
        Self.start(session, head: head, address: primus.client(of: head, remote: channel.remoteAddress).address, upgrades: [], primus: primus)
    }

    // MARK: - HTTP

    func respond(to request: PrimusHTTPRequest, primus: Primus, channel: any Channel) async -> PrimusHTTPResponse {
        let options = primus.configuration.engineIO
        if let preflight = EngineIOResponses.preflight(for: request.head, cors: options.cors) { return preflight }
        let isUpgrade = request.headers[canonicalForm: "upgrade"].contains { $0.lowercased() == "websocket" }
        var baseHeaders = EngineIOResponses.baseHeaders(for: request.head, cors: options.cors)
        if isUpgrade { baseHeaders.add(name: "connection", value: "close") }
        let headers = baseHeaders
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
            return EngineIOResponses.error(error, headers: headers)
        }

        guard let sid = parsed.sid else {
            if let allow = options.allowRequest, !allow(request.head) { return EngineIOResponses.error(.forbidden, headers: headers) }
            // A WebSocket handshake lands here only when it was refused for capacity.
            if parsed.transport == .websocket { return EngineIOResponses.error(.tooManySessions, headers: headers) }
            return await handshake(request, parsed: parsed, headers: headers, primus: primus, channel: channel)
        }
        guard let session = registry.lookup(sid) else { return EngineIOResponses.error(.unknownSession, headers: headers) }
        // `transport=websocket` with a sid but no upgrade, or upgrades turned off.
        guard parsed.transport == .polling else { return EngineIOResponses.error(.badRequest, headers: headers) }

        let promise = session.eventLoop.makePromise(of: PrimusHTTPResponse.self)
        switch method {
        case .get:
            session.execute { $0.poll(promise: promise, headers: headers, connection: channel) }
        case .post:
            guard request.body.readableBytes <= primus.configuration.maxLength else {
                session.execute { $0.postTooLarge(promise: promise, headers: headers) }
                break
            }
            let binary = request.headers.first(name: "content-type")?.lowercased().hasPrefix("application/octet-stream") ?? false
            let body = request.body
            session.execute { $0.post(promise: promise, headers: headers, body: body, binaryContent: binary) }
        case .other:
            promise.succeed(EngineIOResponses.error(.badRequest, headers: headers))
        }
        return (try? await promise.futureResult.get()) ?? EngineIOResponses.error(.unknownSession, headers: headers)
    }

    private func handshake(
        _ request: PrimusHTTPRequest,
        parsed: EngineIORequest,
        headers: HTTPHeaders,
        primus: Primus,
        channel: any Channel
    ) async -> PrimusHTTPResponse {
        let version = parsed.version ?? .v4
        let encoding = EngineIOResponses.PayloadEncoding(
            version: version,
            supportsBinary: !parsed.base64 && parsed.jsonpIndex == nil,
            jsonpIndex: parsed.jsonpIndex
        )
        let registry = self.registry
        let upgrades = primus.configuration.engineIO.allowUpgrades ? ["websocket"] : []
        let client = primus.client(of: request.head, remote: request.remoteAddress)
        let promise = channel.eventLoop.makePromise(of: PrimusHTTPResponse.self)
        channel.eventLoop.execute {
            guard
                let admitted = Self.admitSession(key: client.key, primus: primus, registry: registry),
                let session = Self.openSession(
                    admitted,
                    transport: .polling,
                    version: version,
                    encoding: encoding,
                    eventLoop: channel.eventLoop,
                    primus: primus,
                    registry: registry
                )
            else {
                promise.succeed(EngineIOResponses.error(.tooManySessions, headers: headers))
                return
            }
            Self.start(session, head: request.head, address: client.address, upgrades: upgrades, primus: primus)
            // The handshake request is the session's first poll: it carries the open packet.
            session.poll(promise: promise, headers: headers, connection: channel)
        }
        return (try? await promise.futureResult.get()) ?? EngineIOResponses.error(.unknownSession, headers: headers)
    }

    // MARK: - Sessions

    /// Admits a new session from the address `key` under a fresh id (see ``Primus/admit(_:key:)``),
    /// or `nil` (answer `503`). With ``EngineIOOptions/maxSessions`` reached, only a handshake for
    /// which a spark was shed gets in.
    private static func admitSession(key: String, primus: Primus, registry: EngineIOSessionRegistry) -> Admitted? {
        // Ids are random; a collision with a closing session is retried rather than trusted away.
        for _ in 0..<3 {
            let sid = primus.makeSparkID()
            guard registry.lookup(sid) == nil else { continue }
            let (admitted, shed) = primus.admit(sid, key: key)
            guard admitted else { return nil }
            guard shed || registry.count < primus.configuration.engineIO.maxSessions else {
                primus.releaseAdmission(sid)
                return nil
            }
            return Admitted(sid: sid, shed: shed)
        }
        return nil
    }

    /// Opens the admitted session (on `eventLoop`), or releases its admission and returns `nil`.
    private static func openSession(
        _ admitted: Admitted,
        transport: EngineIOSessionStateMachine.Transport,
        version: EngineIOProtocolVersion,
        encoding: EngineIOResponses.PayloadEncoding,
        eventLoop: any EventLoop,
        primus: Primus,
        registry: EngineIOSessionRegistry
    ) -> EngineIOServerSession? {
        let options = primus.configuration.engineIO
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
            sid: admitted.sid,
            eventLoop: eventLoop,
            configuration: configuration,
            transport: transport,
            encoding: encoding,
            registry: registry,
            primus: primus
        )
        // A shed session leaves the registry when it has closed: the newcomer does not wait for it.
        guard registry.insert(session.makeHandle(), limit: admitted.shed ? .max : options.maxSessions) else {
            primus.releaseAdmission(admitted.sid)
            return nil
        }
        return session
    }

    /// Sends the open packet and puts a spark (or the raw echo) on top of the session.
    private static func start(
        _ session: EngineIOServerSession,
        head: HTTPRequestHead,
        address: SparkAddress,
        upgrades: [String],
        primus: Primus
    ) {
        let configuration = primus.configuration
        let handshake = EngineIOHandshake(
            sid: session.sid,
            upgrades: upgrades,
            pingInterval: configuration.engineIO.pingInterval.engineIOMilliseconds,
            pingTimeout: configuration.engineIO.pingTimeout.engineIOMilliseconds,
            maxPayload: session.version == .v4 ? configuration.maxLength : nil
        )
        if configuration.engineIO.rawEcho {
            session.open(handshake: handshake, sink: EngineIOEchoSink())
            return
        }
        let spark = Spark(id: session.sid, request: head, address: address, eventLoop: session.eventLoop, primus: primus)
        session.open(handshake: handshake, sink: spark)
        primus.register(spark)
    }

    // MARK: - Limits

    func requestBodyTooLarge(_ head: HTTPRequestHead, primus: Primus) {
        guard head.method == .POST, let session = Self.namedSession(head, registry: registry) else { return }
        session.execute { $0.postTooLarge(promise: nil, headers: [:]) }
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

/// The test server's `--raw` mode: every message packet goes back as it came.
final class EngineIOEchoSink: WebSocketMessageSink {
    private var transport: (any SparkTransport)?
    func attach(transport: any SparkTransport) { self.transport = transport }
    func receive(_ message: TransportMessage) { transport?.send(message) }
    func transportPing() {}
    func transportClosed() { transport = nil }
}

@available(*, unavailable)
extension EngineIOEchoSink: Sendable {}

extension Primus {
    /// Open Engine.IO sessions (tests check that none outlive their clients).
    package var engineIOSessionCount: Int {
        (transformer as? EngineIOTransformer)?.registry.count ?? 0
    }

    /// Releases the admission of a WebSocket handshake whose session never opened (the upgrade
    /// failed or the connection dropped before it); an open session releases its own.
    fileprivate func releaseAdmissionUnlessOpen(_ sid: String, registry: EngineIOSessionRegistry) {
        guard registry.lookup(sid) == nil else { return }
        releaseAdmission(sid)
    }
}
