import Logging
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
/// Options are in ``PrimusConfiguration/engineIO``; the largest polling payload and WebSocket
/// message is ``PrimusConfiguration/maxLength`` (`413` on polling, close code 1009 on WebSocket).
struct EngineIOTransformer: ServerTransformer {
    let registry = EngineIOSessionRegistry()

    // MARK: - WebSocket

    func upgraders(for primus: Primus) -> [any HTTPServerProtocolUpgrader & Sendable] {
        let registry = self.registry
        let upgrader = NIOWebSocketServerUpgrader(
            // A text frame is the message plus its packet type digit.
            maxFrameSize: max(primus.configuration.maxLength + 1, 125),
            automaticErrorHandling: true,
            shouldUpgrade: { channel, head in
                channel.eventLoop.makeSucceededFuture(Self.acceptsUpgrade(head, primus: primus, registry: registry) ? HTTPHeaders() : nil)
            },
            upgradePipelineHandler: { channel, head in
                channel.eventLoop.makeCompletedFuture {
                    try Self.upgraded(channel: channel, head: head, primus: primus, registry: registry)
                }
            }
        )
        return [upgrader]
    }

    /// Whether a WebSocket handshake may complete. A refused one reaches ``respond(to:primus:channel:)``
    /// as a plain request, which answers with the Engine.IO error.
    private static func acceptsUpgrade(_ head: HTTPRequestHead, primus: Primus, registry: EngineIOSessionRegistry) -> Bool {
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
        return (options.allowRequest?(head) ?? true) && registry.count < options.maxSessions
    }

    private static func upgraded(channel: any Channel, head: HTTPRequestHead, primus: Primus, registry: EngineIOSessionRegistry) throws {
        let configuration = primus.configuration
        let request = try EngineIORequest(
            method: .get,
            query: QueryParameters(requestURI: head.uri),
            isUpgrade: true,
            allowEIO3: configuration.engineIO.allowEIO3
        )
        let maxMessageLength = configuration.maxLength + 1
        if let sid = request.sid {
            guard let session = registry.lookup(sid) else {
                // Closed between the check and now: complete the handshake, then close.
                let link = EngineIOWebSocketLink(id: 0, version: request.version ?? .v4, session: nil)
                try channel.pipeline.syncOperations.addHandler(WebSocketTransportHandler(sink: link, maxMessageLength: maxMessageLength))
                link.close(code: 1000)
                return
            }
            let id = EngineIOTransformer.nextLinkID()
            let version = request.version ?? .v4
            let link = EngineIOWebSocketLink(id: id, version: version, session: session)
            try channel.pipeline.syncOperations.addHandler(WebSocketTransportHandler(sink: link, maxMessageLength: maxMessageLength))
            let handle = EngineIOWebSocketLinkHandle(link, eventLoop: channel.eventLoop)
            session.execute { $0.webSocketArrived(handle) }
            return
        }
        // A session opened on WebSocket: no upgrades to offer.
        let version = request.version ?? .v4
        guard
            let session = Self.openSession(
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
        try channel.pipeline.syncOperations.addHandler(WebSocketTransportHandler(sink: link, maxMessageLength: maxMessageLength))
        session.attachWebSocket(EngineIOWebSocketLinkHandle(link, eventLoop: channel.eventLoop))
        Self.start(session, head: head, remote: channel.remoteAddress, upgrades: [], primus: primus)
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
                promise.succeed(EngineIOResponses.payloadTooLarge(headers: headers))
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
        let promise = channel.eventLoop.makePromise(of: PrimusHTTPResponse.self)
        channel.eventLoop.execute {
            guard
                let session = Self.openSession(
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
            Self.start(session, head: request.head, remote: request.remoteAddress, upgrades: upgrades, primus: primus)
            // The handshake request is the session's first poll: it carries the open packet.
            session.poll(promise: promise, headers: headers, connection: channel)
        }
        return (try? await promise.futureResult.get()) ?? EngineIOResponses.error(.unknownSession, headers: headers)
    }

    // MARK: - Sessions

    private static func openSession(
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
            maxPacketsPerPayload: options.maxPacketsPerPayload
        )
        // Ids are random; a collision is retried rather than trusted away.
        for _ in 0..<3 {
            let session = EngineIOServerSession(
                sid: primus.makeSparkID(),
                eventLoop: eventLoop,
                configuration: configuration,
                transport: transport,
                encoding: encoding,
                registry: registry,
                logger: primus.logger
            )
            if registry.insert(session.makeHandle(), limit: options.maxSessions) { return session }
            if registry.count >= options.maxSessions { return nil }
        }
        return nil
    }

    /// Sends the open packet and puts a spark (or the raw echo) on top of the session.
    private static func start(
        _ session: EngineIOServerSession,
        head: HTTPRequestHead,
        remote: SocketAddress?,
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
        let address = ForwardedAddressResolver.resolve(
            remote: remote.flatMap { address in address.ipAddress.map { SparkAddress(ip: $0, port: address.port ?? 0, secure: false) } },
            secureTransport: false,
            header: { name in
                let values = head.headers[name]
                return values.isEmpty ? nil : values.joined(separator: ",")
            },
            trusted: configuration.trustedProxies
        )
        let spark = Spark(id: session.sid, request: head, address: address, eventLoop: session.eventLoop, primus: primus)
        session.open(handshake: handshake, sink: spark)
        primus.register(spark)
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
}
