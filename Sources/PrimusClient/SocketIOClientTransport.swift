public import NIOCore
public import PrimusCore
import struct Foundation.Date

/// Primus's `socket.io` transformer, client side: a Socket.IO v5 connection to namespace `/`
/// over an Engine.IO 4 session under `<pathname>/`, so a Swift client reaches a server that
/// also serves the official Socket.IO clients.
///
/// ```swift
/// var configuration = try PrimusClientConfiguration(transformer: "socket.io")
/// configuration.transport = SocketIOClientTransport(auth: ["token": "secret"])
/// let client = try PrimusClient("https://example.com", configuration: configuration)
/// ```
///
/// The client core above is the same as on every transformer: ``SocketIOPrimusBridge`` maps its
/// messages onto Socket.IO packets (data is the `message` event, emitter events and acks are
/// native EVENT and ACK packets, the server's end is a DISCONNECT), and the Engine.IO heartbeat
/// stands in for Primus's own, so each Engine.IO ping reaches the core as a Primus ping.
///
/// Works with the `json` parser, the one Socket.IO speaks: bytes inside event arguments travel
/// as Socket.IO attachments and come back to the core as the JSON parser writes bytes.
public struct SocketIOClientTransport: PrimusClientTransport {
    /// Whether the Engine.IO session may move to a WebSocket (default `true`); `false` keeps
    /// it on long-polling.
    public var websockets: Bool

    /// How long an Engine.IO upgrade probe may take (default 10 s).
    public var upgradeTimeout: Duration

    /// The CONNECT auth payload the server's authorization sees (`socket.handshake.auth`);
    /// `nil` sends none, as the Primus browser client does.
    public var auth: JSONObject?

    /// How long the server may take to answer CONNECT once the Engine.IO session is open
    /// (default 10 s, the client's default open timeout). Without an answer the attempt fails
    /// with a timeout, and the client reconnects as after any failed attempt.
    public var connectTimeout: Duration

    /// Attachments one incoming binary packet may announce (default 10, the reference
    /// parser's); their bytes together are bounded by the client's `maxMessageLength`.
    public var maxAttachments: Int

    /// Creates the transport.
    public init(
        websockets: Bool = true,
        upgradeTimeout: Duration = .seconds(10),
        auth: JSONObject? = nil,
        connectTimeout: Duration = .seconds(10),
        maxAttachments: Int = 10
    ) {
        self.websockets = websockets
        self.upgradeTimeout = upgradeTimeout
        self.auth = auth
        self.connectTimeout = connectTimeout
        self.maxAttachments = maxAttachments
    }

    /// `"socket.io"`.
    public var name: String { "socket.io" }

    /// Starts an Engine.IO session with `target`, then joins namespace `/` on it.
    public func connect(
        to target: PrimusConnectionTarget,
        on eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) -> any PrimusTransportConnection {
        let connection = SocketIOClientConnection(
            target: target,
            engineIO: EngineIOClientStateMachine.Configuration(
                upgrade: websockets,
                maxMessageLength: target.maxMessageLength,
                upgradeTimeout: TimeAmount(upgradeTimeout)
            ),
            auth: auth,
            connectTimeout: TimeAmount(connectTimeout),
            limits: SocketIOPacketDecoder.Limits(maxAttachments: maxAttachments, maxAttachmentBytes: target.maxMessageLength),
            eventLoop: eventLoop,
            delegate: delegate
        )
        // The delegate must not hear from us inside `connect`.
        eventLoop.assumeIsolated().execute { connection.start() }
        return connection
    }
}

/// One Socket.IO connection to namespace `/`: an Engine.IO session underneath, whose callbacks
/// it intercepts and translates. Confined to its event loop.
final class SocketIOClientConnection: PrimusTransportConnection {
    private enum State {
        /// The Engine.IO session is being opened.
        case engineIOOpening
        /// CONNECT is out; waiting for the server's answer.
        case joining
        /// The namespace is joined; `socketID` is the spark id.
        case open(socketID: String)
        /// The Engine.IO session is closing or gone.
        case closing
    }

    private let target: PrimusConnectionTarget
    private let engineIOConfiguration: EngineIOClientStateMachine.Configuration
    private let auth: JSONObject?
    private let connectTimeout: TimeAmount
    private let eventLoop: any EventLoop
    private let delegate: any PrimusTransportDelegate
    private let parser = JSONParser()
    private var decoder: SocketIOPacketDecoder

    private var engineIO: EngineIOClientConnection?
    private var state = State.engineIOOpening
    private var connectTimer: Scheduled<Void>?
    private var closeRequested = false
    private var finished = false
    /// Why this side closed the Engine.IO session, reported once it is gone.
    private var failure: PrimusError?
    /// The server's CONNECT_ERROR: reported as a refusal once the session is gone.
    private var refusal: PrimusError?

    init(
        target: PrimusConnectionTarget,
        engineIO: EngineIOClientStateMachine.Configuration,
        auth: JSONObject?,
        connectTimeout: TimeAmount,
        limits: SocketIOPacketDecoder.Limits,
        eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) {
        self.target = target
        self.engineIOConfiguration = engineIO
        self.auth = auth
        self.connectTimeout = connectTimeout
        self.eventLoop = eventLoop
        self.delegate = delegate
        self.decoder = SocketIOPacketDecoder(version: .v5, limits: limits)
    }

    func start() {
        guard !closeRequested, !finished else { return }
        let session = EngineIOClientConnection(
            target: target,
            configuration: engineIOConfiguration,
            eventLoop: eventLoop,
            delegate: SocketIOEngineIODelegate(owner: self)
        )
        session.onPing = { [weak self] in
            // Not from inside the session's own action loop.
            guard let self else { return }
            self.eventLoop.assumeIsolated().execute { self.engineIOPinged() }
        }
        engineIO = session
        session.start()
    }

    // MARK: - PrimusTransportConnection

    func send(_ message: TransportMessage) {
        guard !closeRequested, !finished, case .open(let socketID) = state else { return }
        let value: JSONValue
        do {
            value = try parser.decode(message, for: nil)
        } catch {
            // Only a non-JSON parser writes such text: it travels as a string.
            value = .string(String(buffer: message.buffer))
        }
        switch SocketIOPrimusBridge.outgoing(value) {
        case .packet(let packet):
            write(packet)
        case .ping, .pong:
            break  // Engine.IO's heartbeat does this work.
        case .idRequest:
            eventLoop.assumeIsolated().execute {
                self.deliver(PrimusProtocolMessage.id(socketID).value)
            }
        case .serverClose:
            break  // only a server says this
        }
    }

    func close() {
        guard !closeRequested else { return }
        closeRequested = true
        connectTimer?.cancel()
        connectTimer = nil
        guard !finished else { return }
        guard let engineIO else {
            // Abandoned before it started: no session will report the close.
            finished = true
            state = .closing
            eventLoop.assumeIsolated().execute { self.delegate.transportDidClose(error: nil) }
            return
        }
        if case .open = state {
            // Leave the namespace first; Engine.IO sends it before its own close packet.
            write(.disconnect())
        }
        state = .closing
        engineIO.close()
    }

    // MARK: - From the Engine.IO session

    fileprivate func engineIOOpened() {
        guard !finished, !closeRequested, case .engineIOOpening = state else { return }
        state = .joining
        write(.connect(auth: auth))
        let timeout = connectTimeout
        connectTimer = eventLoop.assumeIsolated().scheduleTask(in: timeout) { [weak self] in
            guard let self, case .joining = self.state else { return }
            self.connectTimer = nil
            self.fail(PrimusError(
                code: .timeout,
                message: "Socket.IO: no answer to CONNECT within \(timeout.nanoseconds / 1_000_000) ms"
            ))
        }
    }

    fileprivate func engineIOReceived(_ message: TransportMessage) {
        guard !finished, !closeRequested else { return }
        let packet: SocketIOPacket?
        do {
            packet = try decoder.decode(message)
        } catch {
            fail(PrimusError.protocolViolation("Socket.IO: \(error.detail)"))
            return
        }
        guard let packet, packet.namespace == SocketIOPacket.mainNamespace else { return }
        switch (state, packet.type) {
        case (.joining, .connect):
            connectTimer?.cancel()
            connectTimer = nil
            guard let socketID = packet.connectedSocketID, !socketID.isEmpty else {
                fail(.protocolViolation("Socket.IO: the CONNECT answer carries no socket id"))
                return
            }
            state = .open(socketID: socketID)
            delegate.transportDidOpen()
        case (.joining, .connectError):
            connectTimer?.cancel()
            connectTimer = nil
            let reason = packet.connectErrorMessage ?? "no reason given"
            refusal = PrimusError(code: .connectionFailed, message: "The server refused the connection: Socket.IO CONNECT_ERROR: \(reason)")
            state = .closing
            engineIO?.close()
        case (.open, _):
            let incoming = SocketIOPrimusBridge.incoming(packet)
            if let value = SocketIOPrimusBridge.primusValue(of: incoming) { deliver(value) }
            if incoming == .disconnect {
                // The core has `primus::server::close`: the coming close ends the client.
                state = .closing
                engineIO?.close()
            }
        case (.joining, _):
            // Nothing else may come before the CONNECT answer.
            fail(.protocolViolation("Socket.IO: \(packet.type) before the answer to CONNECT"))
        case (.engineIOOpening, _), (.closing, _):
            break
        }
    }

    fileprivate func engineIOClosed(_ error: PrimusError?) {
        guard !finished else { return }
        finished = true
        connectTimer?.cancel()
        connectTimer = nil
        engineIO = nil
        guard !closeRequested else {
            delegate.transportDidClose(error: nil)
            return
        }
        if let refusal {
            delegate.transportWasRefused(refusal)
            return
        }
        if let failure {
            delegate.transportDidClose(error: failure)
            return
        }
        if case .joining = state, error == nil {
            delegate.transportDidClose(error: PrimusError(
                code: .connectionFailed,
                message: "Socket.IO: the Engine.IO session closed before the answer to CONNECT"
            ))
            return
        }
        delegate.transportDidClose(error: error)
    }

    fileprivate func engineIORefused(_ error: PrimusError) {
        guard !finished else { return }
        finished = true
        connectTimer?.cancel()
        connectTimer = nil
        engineIO = nil
        if closeRequested {
            delegate.transportDidClose(error: nil)
        } else {
            delegate.transportWasRefused(error)
        }
    }

    private func engineIOPinged() {
        guard !finished, !closeRequested, case .open = state else { return }
        let milliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        deliver(PrimusProtocolMessage.ping(String(milliseconds)).value)
    }

    // MARK: - Private

    private func write(_ packet: SocketIOPacket) {
        for message in SocketIOPacketEncoder.encode(packet, version: .v5).messages {
            engineIO?.send(message)
        }
    }

    private func deliver(_ value: JSONValue) {
        guard !finished, !closeRequested else { return }
        do {
            delegate.transportDidReceive(try parser.encode(value, for: nil))
        } catch {
            fail(error)
        }
    }

    /// Closes the session because of `error`, which is reported once it is gone.
    private func fail(_ error: PrimusError) {
        guard !finished else { return }
        failure = failure ?? error
        state = .closing
        connectTimer?.cancel()
        connectTimer = nil
        decoder.reset()
        engineIO?.close()
    }
}

@available(*, unavailable)
extension SocketIOClientConnection: Sendable {}

/// Routes the Engine.IO session's callbacks to the Socket.IO connection without keeping it
/// alive (the session holds its delegate; the client holds the connection).
private final class SocketIOEngineIODelegate: PrimusTransportDelegate {
    private weak var owner: SocketIOClientConnection?

    init(owner: SocketIOClientConnection) { self.owner = owner }

    func transportDidOpen() { owner?.engineIOOpened() }
    func transportDidReceive(_ message: TransportMessage) { owner?.engineIOReceived(message) }
    func transportDidClose(error: PrimusError?) { owner?.engineIOClosed(error) }
    func transportWasRefused(_ error: PrimusError) { owner?.engineIORefused(error) }
}
