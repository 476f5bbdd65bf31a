public import NIOCore
import Synchronization

/// Counts the plain requests a framework front-end is serving for Primus, and when the last one
/// ended, so that its shutdown can let polling clients fetch their sessions' last packets
/// (`primus::server::close`) before the framework stops serving, as ``PrimusHTTPServer`` does
/// with its short drain. Two atomics per request; nothing per WebSocket message.
public final class PrimusRequestActivity: Sendable {
    private let inFlight = Atomic<Int>(0)
    private let lastEnded = Atomic<Int64>(0)

    /// Creates an idle counter.
    public init() {}

    /// A request began (before ``PrimusFrontEnd/serve(head:body:remoteAddress:secure:on:)``).
    public func began() {
        inFlight.add(1, ordering: .relaxed)
    }

    /// Its answer was written (for a streamed one, once the stream ended).
    public func ended() {
        lastEnded.store(Int64(clamping: NIODeadline.now().uptimeNanoseconds), ordering: .relaxed)
        inFlight.subtract(1, ordering: .relaxed)
    }

    /// Whether no request is being served and none ended within `quiet`.
    public func isQuiet(for quiet: TimeAmount) -> Bool {
        guard inFlight.load(ordering: .relaxed) == 0 else { return false }
        let now = Int64(clamping: NIODeadline.now().uptimeNanoseconds)
        return now - lastEnded.load(ordering: .relaxed) >= quiet.nanoseconds
    }

    /// Returns once requests have been quiet for `quiet` (250 ms by default), or after `timeout`.
    /// A shutdown calls it after the sparks ended, while the framework still serves.
    public func waitUntilQuiet(quiet: TimeAmount = .milliseconds(250), timeout: Duration) async {
        let deadline = NIODeadline.now() + TimeAmount.nanoseconds(Int64(timeout / .nanoseconds(1)))
        while NIODeadline.now() < deadline, !isQuiet(for: quiet) {
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
