public import NIOCore
import NIOHTTP1
import NIOSSL
import PrimusCore

/// Primus's `sockjs` transformer, client side: a SockJS 0.3 session under `<pathname>`, as
/// Primus's own client runs sockjs-client. It asks `<pathname>/info` first, then tries the
/// transports in order until one opens: a WebSocket (unless the server's info or ``websockets``
/// rules it out), XHR streaming, XHR long-polling. The HTTP transports send with `xhr_send`.
///
/// ```swift
/// var configuration = try PrimusClientConfiguration(transformer: "sockjs")
/// configuration.transport = SockJSClientTransport(transports: [.xhrPolling])
/// let client = try PrimusClient("https://example.com", configuration: configuration)
/// ```
///
/// Primus messages are the parser's strings carried inside SockJS frames; SockJS carries text
/// only, so a binary message is sent as its bytes read as UTF-8. Heartbeat frames are dropped
/// (Primus has its own), and a close frame ends the connection: with an error when its code is
/// above 1000, as Primus's client has it.
public struct SockJSClientTransport: PrimusClientTransport {
    /// One way a SockJS client can carry a session.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// A WebSocket carrying frames both ways.
        case websocket
        /// `xhr_streaming`: one long response of frames, `xhr_send` for the client's messages.
        case xhrStreaming = "xhr-streaming"
        /// `xhr`: one response per frame, `xhr_send` for the client's messages.
        case xhrPolling = "xhr-polling"
    }

    /// The transports to try, in order (default: all three). A WebSocket is skipped when the
    /// server's `/info` says `"websocket": false`.
    public var transports: [Kind]

    /// Whether a WebSocket may be tried (default `true`), like Primus's `websockets: false`.
    public var websockets: Bool

    /// How long a transport may take to open (its `o` frame) before the next is tried, and how
    /// long `/info` may take (default 5 s).
    public var openTimeout: Duration

    /// How long a request may go without a byte from the server before it counts as lost
    /// (default 60 s; a server sends a heartbeat frame every 25 s).
    public var idleTimeout: Duration

    /// Creates the transport.
    public init(
        transports: [Kind] = Kind.allCases,
        websockets: Bool = true,
        openTimeout: Duration = .seconds(5),
        idleTimeout: Duration = .seconds(60)
    ) {
        self.transports = transports
        self.websockets = websockets
        self.openTimeout = openTimeout
        self.idleTimeout = idleTimeout
    }

    /// `"sockjs"`.
    public var name: String { "sockjs" }

    /// Starts a SockJS session with `target`.
    public func connect(
        to target: PrimusConnectionTarget,
        on eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) -> any PrimusTransportConnection {
        let kinds = websockets ? transports : transports.filter { $0 != .websocket }
        let connection = SockJSClientConnection(
            target: target,
            kinds: kinds,
            openTimeout: TimeAmount(openTimeout),
            idleTimeout: TimeAmount(idleTimeout),
            eventLoop: eventLoop,
            delegate: delegate
        )
        // The delegate must not hear from us inside `connect`.
        eventLoop.assumeIsolated().execute { connection.start() }
        return connection
    }
}

/// One SockJS connection, from `/info` to the close: tries the transports in turn, then
/// carries messages over the one that opened. Confined to its event loop.
final class SockJSClientConnection: PrimusTransportConnection {
    private enum Phase {
        /// Waiting for `/info`.
        case info
        /// A transport was started; waiting for its `o` frame.
        case opening(SockJSClientTransport.Kind)
        /// Messages flow.
        case open(SockJSClientTransport.Kind)
        /// Reported closed.
        case finished
    }

    private let target: PrimusConnectionTarget
    private let eventLoop: any EventLoop
    private let delegate: any PrimusTransportDelegate
    private let openTimeout: TimeAmount
    private let idleTimeout: TimeAmount
    /// The longest frame accepted: a frame may batch several messages, each escaped (up to six
    /// bytes per byte), so room for a few messages at the client's limit, and no more.
    private let maxFrameLength: Int
    /// `<pathname>` without a trailing `/`.
    private let basePath: String
    private var candidates: [SockJSClientTransport.Kind]
    private var phase = Phase.info
    private var tlsContext: NIOSSLContext?
    private var closeRequested = false
    private var lastError: PrimusError?

    private var infoRequest: SockJSHTTPRequest?
    private var infoBody = ByteBuffer()
    private var webSocket: SockJSWebSocketConnection?
    private var receiver: SockJSStreamingConnection?
    private var sender: SockJSHTTPSender?
    private var timer: Scheduled<Void>?

    init(
        target: PrimusConnectionTarget,
        kinds: [SockJSClientTransport.Kind],
        openTimeout: TimeAmount,
        idleTimeout: TimeAmount,
        eventLoop: any EventLoop,
        delegate: any PrimusTransportDelegate
    ) {
        self.target = target
        self.candidates = kinds
        self.openTimeout = openTimeout
        self.idleTimeout = idleTimeout
        self.eventLoop = eventLoop
        self.delegate = delegate
        let (product, overflow) = target.maxMessageLength.multipliedReportingOverflow(by: 16)
        self.maxFrameLength = overflow ? Int.max : max(product, 64 * 1024)
        var path = target.path.isEmpty ? "/" : target.path
        while path.count > 1, path.hasSuffix("/") { path.removeLast() }
        self.basePath = path == "/" ? "" : path
    }

    func start() {
        guard case .info = phase, !closeRequested else { return }
        if target.secure {
            do {
                tlsContext = try NIOSSLContext(configuration: target.tlsConfiguration)
            } catch {
                return finish(WebSocketClientConnection.connectionError(error))
            }
        }
        schedule(after: openTimeout) { [weak self] in
            self?.finish(PrimusError(code: .timeout, message: "SockJS: no answer to \(self?.basePath ?? "")/info"))
        }
        infoRequest = SockJSHTTPRequest(
            target: target,
            eventLoop: eventLoop,
            tlsContext: tlsContext,
            method: .GET,
            uri: uri(basePath + "/info"),
            body: nil,
            idleTimeout: idleTimeout
        ) { [weak self] event in
            self?.infoEvent(event)
        }
    }

    // MARK: - PrimusTransportConnection

    func send(_ message: TransportMessage) {
        guard case .open(let kind) = phase, !closeRequested else { return }
        let text = message.string
        if kind == .websocket {
            webSocket?.send([text])
        } else {
            sender?.send(text)
        }
    }

    func close() {
        guard !closeRequested else { return }
        closeRequested = true
        finish(nil)
    }

    // MARK: - Info

    private func infoEvent(_ event: SockJSHTTPRequest.Event) {
        guard case .info = phase else { return }
        switch event {
        case .body(var chunk):
            guard infoBody.readableBytes + chunk.readableBytes <= SockJSHTTPRequest.maxErrorBodyLength else {
                return finish(.protocolViolation("SockJS: /info is longer than \(SockJSHTTPRequest.maxErrorBodyLength) bytes"))
            }
            infoBody.writeBuffer(&chunk)
        case .finished:
            infoRequest = nil
            guard let info = try? JSONReader.parse(String(buffer: infoBody)), case .object = info else {
                return finish(.protocolViolation("SockJS: /info is not a JSON object: \(String(buffer: infoBody).prefix(100))"))
            }
            if info["websocket"]?.boolValue == false {
                candidates.removeAll { $0 == .websocket }
            }
            tryNext(after: nil)
        case .rejected(let status, let body):
            infoRequest = nil
            let error: PrimusError
            if PrimusError.isRefusal(status) {
                error = PrimusError.handshakeRefused(status: status, body: body)
                refuse(error)
                return
            }
            error = Self.httpError(status, body: body, request: "info")
            finish(error)
        case .failed(let error):
            infoRequest = nil
            finish(error)
        }
    }

    // MARK: - Transports

    /// Starts the next candidate on a fresh session, or gives up with `error`.
    private func tryNext(after error: PrimusError?) {
        stopTransport()
        guard !candidates.isEmpty else {
            return finish(error ?? PrimusError(code: .connectionFailed, message: "SockJS: no transport to try"))
        }
        let kind = candidates.removeFirst()
        phase = .opening(kind)
        let sessionPath = basePath + "/" + Self.randomString(length: 3, alphabet: "0123456789") + "/"
            + Self.randomString(length: 8, alphabet: "abcdefghijklmnopqrstuvwxyz012345")
        schedule(after: openTimeout) { [weak self] in
            self?.transportFailed(PrimusError(code: .timeout, message: "SockJS: \(kind.rawValue) did not open in time"))
        }
        switch kind {
        case .websocket:
            webSocket = SockJSWebSocketConnection(
                target: target,
                eventLoop: eventLoop,
                sessionPath: sessionPath,
                maxFrameLength: maxFrameLength
            ) { [weak self] event in
                guard let self else { return }
                switch event {
                case .frame(let frame): self.received(frame)
                case .closed(let error): self.transportFailed(error)
                case .refused(let error): self.refuse(error)
                }
            }
        case .xhrStreaming, .xhrPolling:
            let receiver = SockJSStreamingConnection(
                target: target,
                eventLoop: eventLoop,
                tlsContext: tlsContext,
                mode: kind == .xhrStreaming ? .streaming : .polling,
                sessionPath: sessionPath,
                maxLineLength: maxFrameLength,
                idleTimeout: idleTimeout
            ) { [weak self] event in
                guard let self else { return }
                switch event {
                case .frame(let frame): self.received(frame)
                case .failed(let error): self.transportFailed(error)
                case .refused(let error): self.refuse(error)
                }
            }
            self.receiver = receiver
            sender = SockJSHTTPSender(
                target: target,
                eventLoop: eventLoop,
                tlsContext: tlsContext,
                sessionPath: sessionPath,
                maxPendingBytes: maxFrameLength,
                idleTimeout: idleTimeout
            ) { [weak self] error, refused in
                if refused { self?.refuse(error) } else { self?.transportFailed(error) }
            }
            receiver.start()
        }
    }

    /// The transport ended: before it opened, the next is tried; after, the connection is over.
    /// `nil` is an orderly close.
    private func transportFailed(_ error: PrimusError?) {
        switch phase {
        case .opening:
            if let error { lastError = error }
            tryNext(after: error ?? lastError)
        case .open:
            finish(error)
        case .info, .finished:
            break
        }
    }

    private func received(_ frame: SockJSFrame) {
        switch (phase, frame) {
        case (.opening(let kind), .open):
            cancelTimer()
            phase = .open(kind)
            if !closeRequested { delegate.transportDidOpen() }
        case (.opening, .close(let code, let reason)):
            transportFailed(PrimusError(code: .connectionFailed, message: "SockJS: closed before it opened: \(code) \(reason)"))
        case (.opening, _):
            break  // heartbeats before the open frame
        case (.open, .messages(let messages)):
            for message in messages {
                guard case .open = phase, !closeRequested else { return }
                guard message.utf8.count <= target.maxMessageLength else {
                    return finish(.messageTooLarge(limit: target.maxMessageLength))
                }
                delegate.transportDidReceive(.text(message))
            }
        case (.open, .close(let code, let reason)):
            finish(code > 1000 ? PrimusError(code: .serverClosed, message: "SockJS closed the connection: \(code) \(reason)") : nil)
        case (.open, .heartbeat), (.open, .open), (.info, _), (.finished, _):
            break
        }
    }

    private func stopTransport() {
        cancelTimer()
        webSocket?.stop()
        webSocket = nil
        receiver?.stop()
        receiver = nil
        sender?.stop()
        sender = nil
    }

    // MARK: - Ending

    private func refuse(_ error: PrimusError) {
        guard !isFinished else { return }
        end(error, refused: true)
    }

    private func finish(_ error: PrimusError?) {
        guard !isFinished else { return }
        end(error, refused: false)
    }

    private var isFinished: Bool {
        if case .finished = phase { return true }
        return false
    }

    private func end(_ error: PrimusError?, refused: Bool) {
        phase = .finished
        infoRequest?.cancel()
        infoRequest = nil
        stopTransport()
        let delegate = self.delegate
        let reported = closeRequested ? nil : error
        // Reported on the next tick: never from inside the client's own `close()` call.
        eventLoop.assumeIsolated().execute {
            if refused, let reported {
                delegate.transportWasRefused(reported)
            } else {
                delegate.transportDidClose(error: reported)
            }
        }
    }

    // MARK: - Helpers

    private func schedule(after delay: TimeAmount, _ body: @escaping () -> Void) {
        cancelTimer()
        timer = eventLoop.assumeIsolated().scheduleTask(in: delay, body)
    }

    private func cancelTimer() {
        timer?.cancel()
        timer = nil
    }

    private func uri(_ path: String) -> String {
        target.query.isEmpty ? path : path + "?" + target.query
    }

    private static func randomString(length: Int, alphabet: String) -> String {
        let characters = Array(alphabet)
        return String((0..<length).map { _ in characters.randomElement()! })
    }

    /// An answer other than `2xx`: the status and the first line of the server's reason.
    static func httpError(_ status: HTTPResponseStatus, body: ByteBuffer, request: String) -> PrimusError {
        let reason = String(buffer: body).prefix(200).split(separator: "\n").first.map { ": " + $0 } ?? ""
        return PrimusError(code: .connectionFailed, message: "SockJS \(request): HTTP \(status.code) \(status.reasonPhrase)\(reason)")
    }
}

@available(*, unavailable)
extension SockJSClientConnection: Sendable {}
