#if Hummingbird
import Synchronization

/// Lets a spark stop the reading of its WebSocket while the application falls behind.
///
/// Hummingbird hands a WebSocket's frames to a task, not to the event loop, so the spark (on
/// the loop) and the reading task meet here: the task checks one atomic flag per message, and
/// only while paused waits on a continuation behind a mutex.
final class PrimusReadGate: Sendable {
    private let paused = Atomic<Bool>(false)
    private let waiter = Mutex<CheckedContinuation<Void, Never>?>(nil)

    /// Stops reading after the message being delivered.
    func pause() {
        paused.store(true, ordering: .releasing)
    }

    /// Reads again; also called when the connection closes, so a paused task never waits forever.
    func resume() {
        paused.store(false, ordering: .releasing)
        waiter.withLock { $0.take() }?.resume()
    }

    /// Returns at once unless paused; otherwise when ``resume()`` is called.
    func waitWhilePaused() async {
        guard paused.load(ordering: .acquiring) else { return }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let resumeNow = waiter.withLock { waiter -> Bool in
                // Checked again under the lock: a resume in between would otherwise be missed.
                guard paused.load(ordering: .acquiring) else { return true }
                waiter = continuation
                return false
            }
            if resumeNow { continuation.resume() }
        }
    }
}
#endif
