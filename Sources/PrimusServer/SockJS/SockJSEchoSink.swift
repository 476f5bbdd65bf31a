import PrimusCore

/// What sits on a session of the SockJS test services (the test server's `--raw` mode) instead
/// of a spark: `/echo` and its variants send every message back; `/close` closes every session
/// with 3000 "Go away!" as soon as it opens.
final class SockJSEchoSink: SparkTransportSink {
    private let closeOnOpen: Bool
    private var transport: (any SparkTransport)?

    init(closeOnOpen: Bool) {
        self.closeOnOpen = closeOnOpen
    }

    func attach(transport: any SparkTransport) {
        if closeOnOpen {
            transport.close(code: 3000)
            return
        }
        self.transport = transport
    }

    /// Echoes; a client that sends but never receives fills the session's outbound budget, and
    /// its session is closed rather than allowed to grow.
    func receive(_ message: TransportMessage) {
        guard let transport else { return }
        guard transport.isWritable else {
            self.transport = nil
            transport.close(code: nil)
            return
        }
        transport.send(message)
    }
    func transportPing() {}
    func transportClosed() { transport = nil }
}

@available(*, unavailable)
extension SockJSEchoSink: Sendable {}
