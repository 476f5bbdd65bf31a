import NIOCore
import NIOHTTP1
import NIOSSL
import PrimusCore

/// The receiving side of a SockJS session over HTTP: `POST <session>/xhr_streaming` (frames as
/// they come, one per line, until the server ends the response at its limit) or `POST
/// <session>/xhr` (long-polling: one frame per response). Either way a response that ended is
/// followed by the next on the same session, until the session ends.
///
/// Reports frames, then one end: `nil` when stopped, else the error (a failed or refused
/// request, a line that is not a frame or is longer than the limit). Confined to its event loop.
final class SockJSStreamingConnection {
    /// Which receiving transport.
    enum Mode {
        /// `xhr_streaming`.
        case streaming
        /// `xhr`.
        case polling

        var transport: SockJSTransport {
            switch self {
            case .streaming: return .xhrStreaming
            case .polling: return .xhr
            }
        }
    }

    /// What the receiver reports.
    enum Event {
        /// A frame from the server.
        case frame(SockJSFrame)
        /// The receiver stopped with this error; no more events follow.
        case failed(PrimusError)
        /// A request was answered `401`/`403`; no more events follow.
        case refused(PrimusError)
    }

    private let target: PrimusConnectionTarget
    private let eventLoop: any EventLoop
    private let tlsContext: NIOSSLContext?
    private let mode: Mode
    private let uri: String
    private let idleTimeout: TimeAmount
    private var splitter: SockJSLineSplitter
    private var request: SockJSHTTPRequest?
    private var onEvent: ((Event) -> Void)?

    /// A receiver for the session at `sessionPath` (`<pathname>/<server>/<session>`).
    init(
        target: PrimusConnectionTarget,
        eventLoop: any EventLoop,
        tlsContext: NIOSSLContext?,
        mode: Mode,
        sessionPath: String,
        maxLineLength: Int,
        idleTimeout: TimeAmount,
        onEvent: @escaping (Event) -> Void
    ) {
        self.target = target
        self.eventLoop = eventLoop
        self.tlsContext = tlsContext
        self.mode = mode
        let path = sessionPath + "/" + mode.transport.rawValue
        self.uri = target.query.isEmpty ? path : path + "?" + target.query
        self.idleTimeout = idleTimeout
        self.splitter = SockJSLineSplitter(maxLineLength: maxLineLength)
        self.onEvent = onEvent
    }

    /// Sends the first request.
    func start() {
        receive()
    }

    /// Stops receiving: no more events.
    func stop() {
        onEvent = nil
        request?.cancel()
        request = nil
    }

    private func receive() {
        guard onEvent != nil else { return }
        splitter.reset()
        request = SockJSHTTPRequest(
            target: target,
            eventLoop: eventLoop,
            tlsContext: tlsContext,
            method: .POST,
            uri: uri,
            body: nil,
            idleTimeout: idleTimeout
        ) { [weak self] event in
            self?.handle(event)
        }
    }

    private func handle(_ event: SockJSHTTPRequest.Event) {
        switch event {
        case .body(let chunk):
            let lines: [String]
            do {
                lines = try splitter.append(chunk)
            } catch {
                return fail(error)
            }
            for line in lines {
                guard onEvent != nil else { return }
                // The streaming prelude, 2048 `h`s, tells a browser the stream has begun.
                if !line.isEmpty, line.utf8.allSatisfy({ $0 == UInt8(ascii: "h") }) {
                    onEvent?(.frame(.heartbeat))
                    continue
                }
                do {
                    onEvent?(.frame(try SockJSFrame(parsing: line)))
                } catch {
                    return fail(.protocolViolation("SockJS: \(error)"))
                }
            }
        case .finished:
            request = nil
            guard !splitter.hasPartialLine else {
                return fail(.protocolViolation("SockJS: the \(mode.transport.rawValue) response ended inside a frame"))
            }
            receive()
        case .rejected(let status, let body):
            request = nil
            if PrimusError.isRefusal(status) {
                let error = PrimusError.handshakeRefused(status: status, body: body)
                let onEvent = self.onEvent
                self.onEvent = nil
                onEvent?(.refused(error))
                return
            }
            fail(SockJSClientConnection.httpError(status, body: body, request: mode.transport.rawValue))
        case .failed(let error):
            request = nil
            fail(error)
        }
    }

    private func fail(_ error: PrimusError) {
        request?.cancel()
        request = nil
        let onEvent = self.onEvent
        self.onEvent = nil
        onEvent?(.failed(error))
    }
}

@available(*, unavailable)
extension SockJSStreamingConnection: Sendable {}
