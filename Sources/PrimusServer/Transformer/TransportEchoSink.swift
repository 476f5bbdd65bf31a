import PrimusCore

/// What sits on a transport session instead of a spark in the test server's `--raw` modes
/// (Engine.IO, SockJS, BrowserChannel): every message goes back as it came, without the Primus
/// layer. With `closeOnOpen` (the SockJS test contract's `/close`) the session is closed with
/// 3000 as soon as it opens.
final class TransportEchoSink: SparkTransportSink {
    private let closeOnOpen: Bool
    private var transport: (any SparkTransport)?

    init(closeOnOpen: Bool = false) {
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
extension TransportEchoSink: Sendable {}
