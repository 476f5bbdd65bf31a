import NIOCore
import PrimusCore

/// The `websocket` transport of a SockJS session: a WebSocket at `<session>/websocket` whose
/// text messages are SockJS frames, and to which the client writes JSON arrays of its messages.
/// The session lives as long as the socket. Confined to its event loop.
final class SockJSWebSocketConnection {
    /// What the socket reports.
    enum Event {
        /// A frame from the server.
        case frame(SockJSFrame)
        /// The socket closed (`nil`: in order) or failed; no more events follow.
        case closed(PrimusError?)
        /// The upgrade was answered `401`/`403`; no more events follow.
        case refused(PrimusError)
    }

    private var socket: WebSocketClientConnection?
    private var onEvent: ((Event) -> Void)?

    /// Opens the socket for the session at `sessionPath` (`<pathname>/<server>/<session>`);
    /// a message longer than `maxFrameLength` fails it.
    init(
        target: PrimusConnectionTarget,
        eventLoop: any EventLoop,
        sessionPath: String,
        maxFrameLength: Int,
        onEvent: @escaping (Event) -> Void
    ) {
        self.onEvent = onEvent
        var socketTarget = target
        socketTarget.path = sessionPath + "/websocket"
        socketTarget.maxMessageLength = maxFrameLength
        let socket = WebSocketClientConnection(target: socketTarget, eventLoop: eventLoop, delegate: Delegate(owner: self))
        self.socket = socket
        socket.start()
    }

    /// Sends messages as one JSON array.
    func send(_ messages: [String]) {
        socket?.send(.text(SockJSClientPayload.encode(messages)))
    }

    /// Closes the socket: no more events.
    func stop() {
        onEvent = nil
        socket?.close()
        socket = nil
    }

    fileprivate func received(_ message: TransportMessage) {
        guard onEvent != nil else { return }
        do {
            onEvent?(.frame(try SockJSFrame(parsing: message.string)))
        } catch {
            end(.closed(.protocolViolation("SockJS: \(error)")))
        }
    }

    fileprivate func end(_ event: Event) {
        let onEvent = self.onEvent
        self.onEvent = nil
        socket?.close()
        socket = nil
        onEvent?(event)
    }

    /// The WebSocket's delegate, holding its owner weakly.
    private final class Delegate: PrimusTransportDelegate {
        private weak var owner: SockJSWebSocketConnection?

        init(owner: SockJSWebSocketConnection) {
            self.owner = owner
        }

        func transportDidOpen() {}  // the session opens with its `o` frame
        func transportDidReceive(_ message: TransportMessage) { owner?.received(message) }
        func transportDidClose(error: PrimusError?) { owner?.end(.closed(error)) }
        func transportWasRefused(_ error: PrimusError) { owner?.end(.refused(error)) }
    }
}

@available(*, unavailable)
extension SockJSWebSocketConnection: Sendable {}
