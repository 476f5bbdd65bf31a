/// What a spark does with an outgoing message when its transport is over the outbound budget
/// (``PrimusLimits/maxBufferedBytes``), and when its application hears that the budget is passed;
/// a value without I/O, owned by the spark on its event loop.
///
/// The spark asks only when the transport is not writable (or sends are already waiting), so a
/// client that keeps up costs nothing beyond the transport's stored `Bool`.
struct OutboundBudget: Sendable, Hashable {
    /// How the message was written.
    enum Write: Sendable, Hashable {
        /// ``Spark/write(_:)`` and broadcasts: the caller cannot wait.
        case immediate
        /// `await` ``Spark/send(_:)``: the caller can wait for room.
        case awaited
    }

    /// What to do with the message.
    enum Decision: Sendable, Hashable {
        /// Hand it to the transport.
        case send
        /// Drop it; the connection stays.
        case drop
        /// End the spark (`reconnect: true`): the client is too far behind.
        case end
        /// Hold it until the transport is writable again.
        case wait
    }

    /// The configured policy.
    let policy: OutboundOverflowPolicy
    /// Whether the spark is over its budget (from the transport's last word or a refused write).
    private(set) var isOverBudget = false

    init(policy: OutboundOverflowPolicy) {
        self.policy = policy
    }

    /// A message is written while the transport is `writable` (or not). Returns the decision and
    /// whether this write is the one that found the budget passed (tell the application, once).
    mutating func write(_ write: Write, writable: Bool) -> (decision: Decision, passedBudget: Bool) {
        guard !writable else { return (.send, false) }
        let passed = !isOverBudget
        isOverBudget = true
        switch (policy, write) {
        case (.end, _): return (.end, passed)
        case (.dropNewest, _), (.wait, .immediate): return (.drop, passed)
        case (.wait, .awaited): return (.wait, passed)
        }
    }

    /// The transport says it is `writable` again, or that it is not. Returns whether the budget
    /// has just been passed (tell the application, once per crossing).
    mutating func writabilityChanged(_ writable: Bool) -> Bool {
        if writable {
            isOverBudget = false
            return false
        }
        let passed = !isOverBudget
        isOverBudget = true
        return passed
    }
}
