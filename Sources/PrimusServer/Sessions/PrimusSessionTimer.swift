public import NIOCore

/// A session's one timer, re-armed to the next deadline its state machine names: sans-I/O cores
/// say *when* (`nextDeadline`), this says it on the event loop. Re-arming to the same deadline
/// costs nothing, so a session can call ``arm(at:on:_:)`` after every input.
///
/// Confined to the session's loop.
public struct PrimusSessionTimer {
    private var scheduled: Scheduled<Void>?
    private var deadline: NIODeadline?

    /// No timer.
    public init() {}

    /// Fires `fire` at `deadline` (replacing what was armed), or disarms when `deadline` is
    /// `nil`. `fire` runs on `eventLoop`; the timer is disarmed by then.
    public mutating func arm(at deadline: NIODeadline?, on eventLoop: any EventLoop, _ fire: @escaping () -> Void) {
        guard deadline != self.deadline else { return }
        scheduled?.cancel()
        scheduled = nil
        self.deadline = deadline
        guard let deadline else { return }
        scheduled = eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { fire() }
    }

    /// The timer fired: forget it (call first thing in `fire`).
    public mutating func fired() {
        scheduled = nil
        deadline = nil
    }

    /// Disarms the timer.
    public mutating func cancel() {
        scheduled?.cancel()
        scheduled = nil
        deadline = nil
    }
}
