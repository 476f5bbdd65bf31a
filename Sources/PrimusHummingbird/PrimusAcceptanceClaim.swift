#if Hummingbird
import Synchronization

/// Decides, once, what becomes of an accepted upgrade: the WebSocket handler claims it to
/// connect the spark, or the connection's close claims it to give the spark back
/// (``PrimusServer/PrimusWebSocketAcceptance/abandoned``), when Hummingbird never sent the `101`.
final class PrimusAcceptanceClaim: Sendable {
    private let claimed = Atomic<Bool>(false)

    /// `true` for the first caller only.
    func claim() -> Bool {
        claimed.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing).exchanged
    }
}
#endif
