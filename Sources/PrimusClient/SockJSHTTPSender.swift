import NIOCore
import NIOHTTP1
import NIOSSL
import PrimusCore

/// The sending side of a SockJS session over HTTP: `POST <session>/xhr_send` with a JSON array
/// of the client's messages, one request at a time; messages that come meanwhile wait and go
/// together in the next request, as sockjs-client batches them.
///
/// What waits is bounded: more than `maxPendingBytes` of unsent messages (the server takes them
/// slower than the application writes) fails the session rather than growing memory. Confined to
/// its event loop.
final class SockJSHTTPSender {
    private let target: PrimusConnectionTarget
    private let eventLoop: any EventLoop
    private let tlsContext: NIOSSLContext?
    private let uri: String
    private let maxPendingBytes: Int
    private let idleTimeout: TimeAmount
    private var pending: [String] = []
    private var pendingBytes = 0
    private var request: SockJSHTTPRequest?
    /// Called once with the error that stopped the sender, and whether it was a refusal.
    private var onFailure: ((PrimusError, Bool) -> Void)?

    init(
        target: PrimusConnectionTarget,
        eventLoop: any EventLoop,
        tlsContext: NIOSSLContext?,
        sessionPath: String,
        maxPendingBytes: Int,
        idleTimeout: TimeAmount,
        onFailure: @escaping (PrimusError, Bool) -> Void
    ) {
        self.target = target
        self.eventLoop = eventLoop
        self.tlsContext = tlsContext
        let path = sessionPath + "/" + SockJSTransport.xhrSend.rawValue
        self.uri = target.query.isEmpty ? path : path + "?" + target.query
        self.maxPendingBytes = maxPendingBytes
        self.idleTimeout = idleTimeout
        self.onFailure = onFailure
    }

    /// Queues `message` and sends it as soon as no other request is out.
    func send(_ message: String) {
        guard onFailure != nil else { return }
        pending.append(message)
        pendingBytes += message.utf8.count
        guard pendingBytes <= maxPendingBytes else {
            return fail(PrimusError(code: .messageTooLarge, message: "SockJS: more than \(maxPendingBytes) bytes wait to be sent"), refused: false)
        }
        flush()
    }

    /// Stops: nothing more is sent or reported.
    func stop() {
        onFailure = nil
        pending = []
        pendingBytes = 0
        request?.cancel()
        request = nil
    }

    private func flush() {
        guard request == nil, !pending.isEmpty, onFailure != nil else { return }
        let body = SockJSClientPayload.encode(pending)
        pending = []
        pendingBytes = 0
        request = SockJSHTTPRequest(
            target: target,
            eventLoop: eventLoop,
            tlsContext: tlsContext,
            method: .POST,
            uri: uri,
            body: body,
            idleTimeout: idleTimeout
        ) { [weak self] event in
            self?.handle(event)
        }
    }

    private func handle(_ event: SockJSHTTPRequest.Event) {
        switch event {
        case .body:
            break
        case .finished:
            request = nil
            flush()
        case .rejected(let status, let body):
            request = nil
            if PrimusError.isRefusal(status) {
                fail(PrimusError.handshakeRefused(status: status, body: body), refused: true)
            } else {
                fail(SockJSClientConnection.httpError(status, body: body, request: "xhr_send"), refused: false)
            }
        case .failed(let error):
            request = nil
            fail(error, refused: false)
        }
    }

    private func fail(_ error: PrimusError, refused: Bool) {
        let onFailure = self.onFailure
        stop()
        onFailure?(error, refused)
    }
}

@available(*, unavailable)
extension SockJSHTTPSender: Sendable {}
