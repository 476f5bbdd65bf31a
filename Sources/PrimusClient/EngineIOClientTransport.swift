public import NIOCore
import NIOHTTP1
import NIOSSL
import PrimusCore
import struct Foundation.Date

/// Primus's `engine.io` transformer, client side: an Engine.IO 4 session under `<pathname>/`,
/// as Primus's own client runs engine.io-client (`forceBase64`, `timestampRequests`). It starts
/// on HTTP long-polling, which passes proxies and firewalls that block WebSockets, and upgrades
/// to a WebSocket when the server offers one and ``websockets`` allows it.
///
/// ```swift
/// var configuration = try PrimusClientConfiguration(transformer: "engine.io")
/// configuration.transport = EngineIOClientTransport(websockets: false)  // polling only
/// let client = try PrimusClient("https://example.com", configuration: configuration)
/// ```
///
/// The protocol rules are ``EngineIOClientStateMachine``'s; this type only performs its actions
/// with HTTP requests, a WebSocket and one timer, all on the client's event loop. Primus
/// messages travel as Engine.IO message packets, so the layer above is the same as on WebSockets.
public struct EngineIOClientTransport: PrimusClientTransport {
    /// Whether the session may move to a WebSocket (default `true`). `false` keeps it on
    /// long-polling, like Primus's `websockets: false`.
    public var websockets: Bool

    /// How long an upgrade probe may take before the session gives it up and stays on polling
    /// (default 10 s).
    public var upgradeTimeout: Duration

    /// Creates the transport.
    public init(websockets: Bool = true, upgradeTimeout: Duration = .seconds(10)) {
        self.websockets = websockets
        self.upgradeTimeout = upgradeTimeout
    }

    /// `"engine.io"`.
    public var name: String { "engine.io" }

    /// Starts an Engine.IO session with `target`.
    public func connect(
        to target: PrimusConnectionTarget,
        on eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) -> any PrimusTransportConnection {
        let configuration = EngineIOClientStateMachine.Configuration(
            upgrade: websockets,
            maxMessageLength: target.maxMessageLength,
            upgradeTimeout: TimeAmount(upgradeTimeout)
        )
        let connection = EngineIOClientConnection(target: target, configuration: configuration, eventLoop: eventLoop, delegate: delegate)
        // The delegate must not hear from us inside `connect`.
        eventLoop.assumeIsolated().execute { connection.start() }
        return connection
    }
}

/// One Engine.IO session, from the handshake to the close; confined to its event loop. It
/// performs what ``EngineIOClientStateMachine`` decides.
final class EngineIOClientConnection: PrimusTransportConnection {
    private let target: PrimusConnectionTarget
    private let eventLoop: any EventLoop
    private let delegate: any PrimusTransportDelegate
    private var machine: EngineIOClientStateMachine
    /// `<pathname>/`: engine.io-client appends the slash.
    private let basePath: String
    private var timestamps = CacheBuster()

    private var polls: EngineIOPollingConnection?
    private var posts: EngineIOPollingConnection?
    private var webSocket: WebSocketClientConnection?
    /// Numbers WebSockets, so that a closed one's late callbacks are ignored.
    private var webSocketID: UInt64 = 0

    private var timer: Scheduled<Void>?
    private var timerDeadline: NIODeadline?
    private var closeRequested = false
    private var finished = false
    /// Called when the session answers a server ping (each ping is answered at once, so the
    /// pong going out marks the ping; on polling it may wait for the POST in flight). The
    /// Socket.IO transport turns it into the Primus heartbeat its client core expects.
    var onPing: (() -> Void)?
    /// The error of a request the server answered `401`/`403`: when the session closes with it,
    /// the client is told it was refused, not that the connection dropped.
    private var refusal: PrimusError?

    init(
        target: PrimusConnectionTarget,
        configuration: EngineIOClientStateMachine.Configuration,
        eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) {
        self.target = target
        self.eventLoop = eventLoop
        self.delegate = delegate
        self.machine = EngineIOClientStateMachine(configuration: configuration)
        self.basePath = target.path.hasSuffix("/") ? target.path : target.path + "/"
    }

    func start() {
        guard !finished else { return }
        var tlsContext: NIOSSLContext?
        if target.secure {
            do {
                tlsContext = try NIOSSLContext(configuration: target.tlsConfiguration)
            } catch {
                finish(WebSocketClientConnection.connectionError(error))
                return
            }
        }
        // A poll answer carries up to 16 messages by default (the server's batch), and base64
        // makes binary a third longer: room for that, and a bound on what a server can make us hold.
        let (product, overflow) = target.maxMessageLength.multipliedReportingOverflow(by: 22)
        let bodyLimit = overflow ? Int.max : product
        polls = EngineIOPollingConnection(target: target, eventLoop: eventLoop, tlsContext: tlsContext, maxBodyLength: bodyLimit)
        posts = EngineIOPollingConnection(target: target, eventLoop: eventLoop, tlsContext: tlsContext, maxBodyLength: 64 * 1024)
        perform(machine.start(now: .now()))
    }

    // MARK: - PrimusTransportConnection

    func send(_ message: TransportMessage) {
        guard !finished, !closeRequested else { return }
        perform(machine.send(message))
    }

    func close() {
        guard !closeRequested else { return }
        closeRequested = true
        guard !finished else { return }
        perform(machine.close(now: .now()))
    }

    // MARK: - Performing actions

    /// Actions still to perform, in the order the machine decided them.
    private var pendingActions: [EngineIOClientStateMachine.Action] = []
    private var isPerforming = false

    /// Performs `actions` after those already decided. A delegate call (a delivered message, the
    /// open) may send at once, and the machine's answer must wait its turn: when a poll completes
    /// the upgrade, the machine is already on the WebSocket while the poll's messages are being
    /// delivered, and a message sent from there would otherwise reach the WebSocket before the
    /// upgrade packet (the server then drops the session).
    private func perform(_ actions: [EngineIOClientStateMachine.Action]) {
        pendingActions.append(contentsOf: actions)
        guard !isPerforming else { return }
        isPerforming = true
        var index = 0
        while index < pendingActions.count {
            // A delegate call may have closed the session (the application ended it).
            guard !finished else { break }
            let action = pendingActions[index]
            index += 1
            perform(action)
        }
        pendingActions.removeAll()
        isPerforming = false
        rescheduleTimer()
    }

    private func perform(_ action: EngineIOClientStateMachine.Action) {
        switch action {
        case .handshake:
            polls?.send(method: .GET, uri: uri(transport: "polling", sid: nil), body: nil) { self.pollCompleted($0) }
        case .poll(let sid):
            polls?.send(method: .GET, uri: uri(transport: "polling", sid: sid), body: nil) { self.pollCompleted($0) }
        case .post(let sid, let packets):
            if packets.contains(where: { $0.type == .pong }) { onPing?() }
            let body = EngineIOPayloadCodec.encode(packets, format: .v4)
            posts?.send(method: .POST, uri: uri(transport: "polling", sid: sid), body: body) { self.postCompleted($0) }
        case .opened:
            if !closeRequested { delegate.transportDidOpen() }
        case .deliver(let message):
            if !closeRequested { delegate.transportDidReceive(message) }
        case .openWebSocket(let sid):
            openWebSocket(sid: sid)
        case .writeToWebSocket(let packets):
            if packets.contains(where: { $0.type == .pong }) { onPing?() }
            for packet in packets { webSocket?.send(EngineIOPacketCodec.encodeFrame(packet, version: .v4)) }
        case .closeWebSocket:
            dropWebSocket()
        case .upgraded:
            // The WebSocket carries the session: the polling connections are not needed any more.
            polls?.close()
            posts?.close()
        case .closed(let error):
            finish(error)
        }
    }

    private func finish(_ error: PrimusError?) {
        guard !finished else { return }
        finished = true
        timer?.cancel()
        timer = nil
        timerDeadline = nil
        polls?.close()
        posts?.close()
        dropWebSocket()
        let delegate = self.delegate
        let reported = closeRequested ? nil : error
        let refused = reported != nil && reported == refusal
        // Reported on the next tick: never from inside the client's own `close()` call.
        eventLoop.assumeIsolated().execute {
            if refused, let reported {
                delegate.transportWasRefused(reported)
            } else {
                delegate.transportDidClose(error: reported)
            }
        }
    }

    /// `<pathname>/?<query>&EIO=4&transport=…[&sid=…]&t=…[&b64=1]`, as engine.io-client builds it.
    private func uri(transport: String, sid: String?) -> String {
        var query = target.query
        func add(_ item: String) { query += query.isEmpty ? item : "&" + item }
        add("EIO=4")
        add("transport=" + transport)
        if let sid { add("sid=" + Self.percentEncoded(sid)) }
        let milliseconds = Int64((Date().timeIntervalSince1970 * 1000).rounded(.down))
        add("t=" + timestamps.next(milliseconds: milliseconds))
        // forceBase64: said on the handshake and the WebSocket, not on later polls.
        if sid == nil || transport == "websocket" { add("b64=1") }
        return basePath + "?" + query
    }

    private static func percentEncoded(_ value: String) -> String {
        var encoded = ""
        for byte in value.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "~"):
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                let hex = String(byte, radix: 16, uppercase: true)
                encoded += "%" + (hex.count == 1 ? "0" + hex : hex)
            }
        }
        return encoded
    }

    // MARK: - Polling

    private func pollCompleted(_ result: Result<EngineIOPollingConnection.Response, PrimusError>) {
        guard !finished else { return }
        switch result {
        case .success(let response) where response.status == .ok:
            perform(machine.pollSucceeded(response.body, now: .now()))
        case .success(let response) where PrimusError.isRefusal(response.status):
            // Authorization runs on every polling request, the handshake included.
            let error = PrimusError.handshakeRefused(status: response.status, body: response.body)
            refusal = error
            perform(machine.pollFailed(error, now: .now()))
        case .success(let response):
            perform(machine.pollFailed(Self.httpError(response), now: .now()))
        case .failure(let error):
            perform(machine.pollFailed(error, now: .now()))
        }
    }

    private func postCompleted(_ result: Result<EngineIOPollingConnection.Response, PrimusError>) {
        guard !finished else { return }
        switch result {
        case .success(let response) where response.status == .ok:
            perform(machine.postSucceeded(now: .now()))
        case .success(let response) where PrimusError.isRefusal(response.status):
            let error = PrimusError.handshakeRefused(status: response.status, body: response.body)
            refusal = error
            perform(machine.postFailed(error, now: .now()))
        case .success(let response):
            perform(machine.postFailed(Self.httpError(response), now: .now()))
        case .failure(let error):
            perform(machine.postFailed(error, now: .now()))
        }
    }

    /// An answer other than `200`: the server's Engine.IO error (`{"code":1,"message":"Session ID
    /// unknown"}`) when it sent one, else the status.
    static func httpError(_ response: EngineIOPollingConnection.Response) -> PrimusError {
        let status = "HTTP \(response.status.code)"
        if let value = try? JSONReader.parse(String(buffer: response.body)),
            let code = value["code"]?.numberValue,
            let message = value["message"]?.stringValue
        {
            return PrimusError(code: .connectionFailed, message: "Engine.IO error \(Int(code)): \(message) (\(status))")
        }
        if response.status == .payloadTooLarge {
            return PrimusError(code: .messageTooLarge, message: "Engine.IO: the server refused a payload as too large (\(status))")
        }
        return PrimusError(code: .connectionFailed, message: "Engine.IO: unexpected answer \(status) \(response.status.reasonPhrase)")
    }

    // MARK: - WebSocket

    private func openWebSocket(sid: String) {
        dropWebSocket()
        let uri = self.uri(transport: "websocket", sid: sid)
        let query = uri.split(separator: "?", maxSplits: 1).last.map(String.init) ?? ""
        var webSocketTarget = PrimusConnectionTarget(
            secure: target.secure,
            host: target.host,
            port: target.port,
            path: basePath,
            query: query,
            headers: target.headers,
            // A text frame is the message plus its packet type digit.
            maxMessageLength: target.maxMessageLength < Int.max ? target.maxMessageLength + 1 : Int.max,
            tlsConfiguration: target.tlsConfiguration
        )
        webSocketTarget.cookies = target.cookies
        webSocketID &+= 1
        let socket = WebSocketClientConnection(
            target: webSocketTarget,
            eventLoop: eventLoop,
            delegate: EngineIOWebSocketDelegate(owner: self, id: webSocketID)
        )
        webSocket = socket
        socket.start()
    }

    private func dropWebSocket() {
        webSocketID &+= 1
        webSocket?.close()
        webSocket = nil
    }

    fileprivate func webSocketOpened(id: UInt64) {
        guard id == webSocketID, !finished else { return }
        perform(machine.webSocketOpened(now: .now()))
    }

    fileprivate func webSocketReceived(_ message: TransportMessage, id: UInt64) {
        guard id == webSocketID, !finished else { return }
        perform(machine.webSocketReceived(message, now: .now()))
    }

    fileprivate func webSocketClosed(_ error: PrimusError?, id: UInt64) {
        guard id == webSocketID, !finished else { return }
        webSocket = nil
        perform(machine.webSocketClosed(error, now: .now()))
    }

    // MARK: - Time

    private func rescheduleTimer() {
        let deadline = finished ? nil : machine.nextDeadline
        guard deadline != timerDeadline else { return }
        timer?.cancel()
        timer = nil
        timerDeadline = deadline
        guard let deadline else { return }
        timer = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
            self.timer = nil
            self.timerDeadline = nil
            guard !self.finished else { return }
            self.perform(self.machine.timerFired(now: .now()))
        }
    }
}

@available(*, unavailable)
extension EngineIOClientConnection: Sendable {}

/// Routes one WebSocket's callbacks to the session, tagged with its number.
private final class EngineIOWebSocketDelegate: PrimusTransportDelegate {
    private weak var owner: EngineIOClientConnection?
    private let id: UInt64

    init(owner: EngineIOClientConnection, id: UInt64) {
        self.owner = owner
        self.id = id
    }

    func transportDidOpen() { owner?.webSocketOpened(id: id) }
    func transportDidReceive(_ message: TransportMessage) { owner?.webSocketReceived(message, id: id) }
    func transportDidClose(error: PrimusError?) { owner?.webSocketClosed(error, id: id) }
}
