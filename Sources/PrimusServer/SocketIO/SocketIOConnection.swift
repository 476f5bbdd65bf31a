import Logging
import NIOCore
import NIOHTTP1
import PrimusCore

/// One Socket.IO connection: the layer on an Engine.IO session that multiplexes namespaces.
/// It decodes Socket.IO packets (attachments included, within limits), answers CONNECTs
/// (opening one spark per namespace, after ``SocketIOOptions/authorize``), routes each packet to
/// its namespace's spark, and closes the session on anything the reference server closes on:
/// a malformed packet, a packet for a namespace not joined, no CONNECT within the connect
/// timeout.
///
/// Confined to the session's event loop; the session calls it as its sink.
final class SocketIOConnection: SparkTransportSink {
    private enum Namespace {
        /// A CONNECT being authorized; `attempt` tells its answer from a stale one, `deadline`
        /// refuses it if the authorization takes longer than the connect timeout.
        case authorizing(attempt: UInt64, deadline: Scheduled<Void>?)
        case open(SocketIONamespaceTransport)
    }

    private let opening: EngineIOSessionOpening
    private let options: SocketIOOptions
    let version: SocketIOProtocolVersion
    private var decoder: SocketIOPacketDecoder
    private var namespaces: [String: Namespace] = [:]
    private var connectTimer: Scheduled<Void>?
    private var attempts: UInt64 = 0
    private var closed = false
    /// The Engine.IO session.
    private(set) var session: (any SparkTransport)?

    var eventLoop: any EventLoop { opening.eventLoop }
    private var primus: Primus { opening.primus }
    private var logger: Logger { opening.primus.logger }

    init(opening: EngineIOSessionOpening, options: SocketIOOptions) {
        self.opening = opening
        self.options = options
        self.version = SocketIOProtocolVersion(engineIO: opening.version)
        self.decoder = SocketIOPacketDecoder(
            version: version,
            limits: .init(maxAttachments: options.maxAttachments, maxAttachmentBytes: opening.primus.configuration.maxLength)
        )
    }

    // MARK: - From the Engine.IO session

    func attach(transport: any SparkTransport) {
        session = transport
        armConnectTimer()
        guard version == .v4 else { return }
        // Protocol 4 joins `/` without asking, right after the open packet (which the session
        // sends once this returns).
        eventLoop.assumeIsolated().execute {
            guard !self.closed else { return }
            self.connectRequested(SocketIOPacket.mainNamespace, auth: [:])
        }
    }

    func receive(_ message: TransportMessage) {
        guard !closed else { return }
        let packet: SocketIOPacket
        do {
            guard let decoded = try decoder.decode(message) else { return }
            packet = decoded
        } catch {
            return fail("\(error)")
        }
        route(packet)
    }

    func transportPing() {}

    func transportClosed() {
        guard !closed else { return }
        closed = true
        connectTimer?.cancel()
        connectTimer = nil
        let open = namespaces
        namespaces = [:]
        session = nil
        for namespace in open.values {
            switch namespace {
            case .open(let transport): transport.connectionClosed()
            case .authorizing(_, let deadline): deadline?.cancel()
            }
        }
    }

    func transportWritabilityChanged(_ isWritable: Bool) {
        for case .open(let transport) in namespaces.values { transport.spark.transportWritabilityChanged(isWritable) }
    }

    // MARK: - Packets

    private func route(_ packet: SocketIOPacket) {
        let name = packet.namespace
        switch (namespaces[name], packet.type) {
        case (nil, .connect):
            connectRequested(name, auth: packet.connectAuth)
        case (.open, .connect) where version == .v4:
            break  // a protocol 4 client asking again for the `/` it was given
        case (.open(let transport), let type) where type != .connect && type != .connectError:
            transport.received(packet)
        default:
            // The reference server's "invalid state": a packet for a namespace not joined (or
            // still being authorized), a second CONNECT, or a CONNECT_ERROR from a client.
            fail("\(packet.type) for namespace \(name) in the wrong state")
        }
    }

    /// Closes the Engine.IO session over a protocol violation, as the reference server does.
    private func fail(_ reason: String) {
        logger.debug("socket.io connection closed", metadata: ["primus.engineio.sid": "\(opening.admission.id)", "primus.reason": "\(reason)"])
        session?.close(code: nil)
    }

    // MARK: - Joining

    private func connectRequested(_ name: String, auth: JSONObject) {
        guard options.namespaces.contains(name) || options.acceptsNamespace?(name) == true else {
            return send(.connectRefused(namespace: name, message: SocketIOPacket.invalidNamespaceMessage, version: version))
        }
        guard namespaces.count < options.maxNamespacesPerConnection else {
            return send(.connectRefused(namespace: name, message: "Too many namespaces", version: version))
        }
        guard let authorize = options.authorize else { return join(name, auth: auth) }
        attempts &+= 1
        let attempt = attempts
        namespaces[name] = .authorizing(attempt: attempt, deadline: nil)
        let request = SocketIOConnectRequest(namespace: name, auth: auth, request: opening.head, address: opening.admission.address)
        let this = NIOLoopBound(self, eventLoop: eventLoop)
        let eventLoop = self.eventLoop
        let task = Task {
            let refusal: SocketIOConnectRefusal?
            do {
                try await authorize(request)
                refusal = nil
            } catch let error as SocketIOConnectRefusal {
                refusal = error
            } catch {
                refusal = SocketIOConnectRefusal("\(error)")
            }
            eventLoop.execute { this.value.authorized(name, attempt: attempt, auth: auth, refusal: refusal) }
        }
        // Every wait has a bound: an authorization still running after the connect timeout is
        // refused (and its late answer ignored).
        let deadline = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(options.connectTimeout)) {
            task.cancel()
            this.value.authorized(name, attempt: attempt, auth: auth, refusal: SocketIOConnectRefusal("Authorization timed out"))
        }
        if case .authorizing(attempt, nil)? = namespaces[name] {
            namespaces[name] = .authorizing(attempt: attempt, deadline: deadline)
        } else {
            deadline.cancel()  // already answered
        }
    }

    private func authorized(_ name: String, attempt: UInt64, auth: JSONObject, refusal: SocketIOConnectRefusal?) {
        guard !closed, case .authorizing(attempt, let deadline)? = namespaces[name] else { return }
        deadline?.cancel()
        namespaces[name] = nil
        if let refusal {
            return send(.connectRefused(namespace: name, message: refusal.message, data: refusal.data, version: version))
        }
        join(name, auth: auth)
    }

    /// Opens the namespace's spark: the CONNECT answer goes first, then what the application
    /// wrote while it heard of the spark.
    private func join(_ name: String, auth: JSONObject) {
        let id = primus.configuration.idGenerator?() ?? SparkIdentifier.random()
        // The connection holds the admission; its sparks ride on it.
        let admission = PrimusAdmission(id: id, address: opening.admission.address, shedAnother: false)
        let spark = primus.openSpark(admission, request: opening.head, on: eventLoop, namespace: SparkNamespaceHandshake(namespace: name, auth: auth))
        let transport = SocketIONamespaceTransport(namespace: name, spark: spark, connection: self)
        namespaces[name] = .open(transport)
        connectTimer?.cancel()
        connectTimer = nil
        send(.connectAccepted(namespace: name, socketID: id, version: version))
        spark.attach(transport: transport)
    }

    /// The namespace's spark ended or the client left it. The connection stays (as the
    /// reference's does) until the client closes it, or the connect timeout passes with no
    /// namespace joined.
    func left(_ name: String) {
        guard case .open? = namespaces[name] else { return }
        namespaces[name] = nil
        if namespaces.isEmpty { armConnectTimer() }
    }

    private func armConnectTimer() {
        connectTimer?.cancel()
        connectTimer = eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(options.connectTimeout)) {
            self.connectTimer = nil
            guard !self.closed, self.namespaces.isEmpty else { return }
            self.fail("no namespace joined within the connect timeout")
        }
    }

    // MARK: - Sending

    /// Sends a packet, its attachments after it.
    func send(_ packet: SocketIOPacket) {
        guard let session else { return }
        let encoded = SocketIOPacketEncoder.encode(packet, version: version)
        session.send(.text(encoded.text))
        for attachment in encoded.attachments { session.send(.binary(attachment)) }
    }

    /// Closes the whole connection: its Engine.IO session and every namespace on it.
    func close() {
        session?.close(code: nil)
    }
}

@available(*, unavailable)
extension SocketIOConnection: Sendable {}
