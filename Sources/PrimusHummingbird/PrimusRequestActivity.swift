#if Hummingbird
import NIOCore
import Synchronization

/// Counts the plain requests Primus is serving through the router, and when the last one
/// ended, so that a shutdown can let polling clients fetch their sessions' last packets before
/// Hummingbird stops serving (``HummingbirdPrimus/run()``). Two atomics per request; nothing
/// per WebSocket message.
final class PrimusRequestActivity: Sendable {
    private let inFlight = Atomic<Int>(0)
    private let lastEnded = Atomic<Int64>(0)

    func began() {
        inFlight.add(1, ordering: .relaxed)
    }

    func ended() {
        lastEnded.store(NIODeadline.now().uptimeNanoseconds.clampedToInt64, ordering: .relaxed)
        inFlight.subtract(1, ordering: .relaxed)
    }

    /// Whether no request is being served and none ended within `quiet`.
    func isQuiet(for quiet: TimeAmount) -> Bool {
        guard inFlight.load(ordering: .relaxed) == 0 else { return false }
        let now = NIODeadline.now().uptimeNanoseconds.clampedToInt64
        return now - lastEnded.load(ordering: .relaxed) >= quiet.nanoseconds
    }
}

extension UInt64 {
    fileprivate var clampedToInt64: Int64 { Int64(clamping: self) }
}
#endif
