import NIOCore
import PrimusCore

/// A spark's events, made on first use (a spark whose application never uses events pays one
/// pointer for them): the handlers by name, and the acknowledgements it waits for. Confined to
/// the spark's event loop.
final class SparkEventState {
    typealias Handler = @Sendable (SparkEvent) -> Void
    typealias AckCallback = @Sendable (Result<[JSONValue], PrimusError>) -> Void

    struct PendingAck {
        var callback: AckCallback
        var timeout: Scheduled<Void>?
    }

    var handlers: [String: [Handler]] = [:]
    var pendingAcks: [Int: PendingAck] = [:]
    var nextAckID = 0

    /// A fresh acknowledgement id.
    func makeAckID() -> Int {
        nextAckID = nextAckID == Int.max ? 0 : nextAckID + 1
        return nextAckID
    }

    /// The spark ended: every waiting acknowledgement fails.
    func finish() {
        let pending = pendingAcks
        pendingAcks = [:]
        handlers = [:]
        for (_, entry) in pending {
            entry.timeout?.cancel()
            entry.callback(.failure(.sparkClosed))
        }
    }
}

@available(*, unavailable)
extension SparkEventState: Sendable {}
