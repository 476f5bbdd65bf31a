import NIOCore

/// The waits of one HTTP connection, and which deadline applies to each (behaviour of
/// ``PrimusLimits/headersTimeout``, ``PrimusLimits/bodyTimeout`` and ``PrimusLimits/keepAliveTimeout``):
///
/// | state | deadline | when it passes |
/// |---|---|---|
/// | fresh, nothing received | accept + headers | close |
/// | idle after a response | response end + keep-alive | close |
/// | head arriving | accept, or previous response end, + headers | `408`, close |
/// | body arriving | head + body | `408`, close |
/// | request complete, answer pending | none: a parked long-poll is work, not idleness | |
/// | upgraded or closing | none: the WebSocket layer has its own timers | |
///
/// Sans-I/O: every input carries `now`; ``PrimusHTTPRequestGuard`` reads the clock and runs the timer.
struct HTTPConnectionTimeline: Sendable {
    /// The three HTTP timeouts.
    struct Timeouts: Hashable, Sendable {
        var headers: TimeAmount
        var body: TimeAmount
        var keepAlive: TimeAmount

        init(headers: TimeAmount, body: TimeAmount, keepAlive: TimeAmount) {
            self.headers = headers
            self.body = body
            self.keepAlive = keepAlive
        }

        init(limits: PrimusLimits) {
            self.init(
                headers: TimeAmount(limits.headersTimeout),
                body: TimeAmount(limits.bodyTimeout),
                keepAlive: TimeAmount(limits.keepAliveTimeout)
            )
        }
    }

    private enum State: Hashable, Sendable {
        /// No byte of a request yet: since accept (`fresh`) or since the previous response ended.
        case idle(since: NIODeadline, fresh: Bool)
        /// Bytes of a head have arrived; it must be complete by the deadline.
        case readingHead(deadline: NIODeadline)
        /// The head is in; the body must be complete by the deadline. `answered`: the response
        /// already went out (an early answer), so the connection idles once the request ends.
        case readingBody(deadline: NIODeadline, answered: Bool)
        /// The request is complete and its answer not: no deadline.
        case responding
        /// Upgraded or closing: this timeline is over.
        case finished
    }

    /// What a timer that fires at `now` finds.
    enum Expiry: Hashable, Sendable {
        /// Nothing is late; wait for the current deadline, if any.
        case notYet
        /// An idle connection outlived its timeout: close it, with nothing to say.
        case closeIdle
        /// A request took too long to arrive: answer `408` and close.
        case requestTimedOut
    }

    let timeouts: Timeouts
    private var state: State

    /// A timeline for a connection accepted at `now`.
    init(timeouts: Timeouts, acceptedAt now: NIODeadline) {
        self.timeouts = timeouts
        self.state = .idle(since: now, fresh: true)
    }

    /// When the connection became idle (no byte of a request received, no answer pending), for
    /// choosing whom to evict; `nil` while a request is in progress.
    var idleSince: NIODeadline? {
        if case .idle(let since, _) = state { return since }
        return nil
    }

    /// Whether the first bytes of the next request are awaited (so the reader should say when they come).
    var awaitsRequestStart: Bool {
        if case .idle = state { return true }
        return false
    }

    /// Whether the timeline is over (upgraded or closing).
    var isFinished: Bool { state == .finished }

    /// The next deadline, if one applies.
    var deadline: NIODeadline? {
        switch state {
        case .idle(let since, let fresh): return since + (fresh ? timeouts.headers : timeouts.keepAlive)
        case .readingHead(let deadline), .readingBody(let deadline, _): return deadline
        case .responding, .finished: return nil
        }
    }

    /// Bytes arrived: an idle connection starts a request, whose head is due `headers` after the
    /// connection's idle period began (accept, or the previous response's end).
    mutating func bytesReceived(now: NIODeadline) {
        guard case .idle(let since, _) = state else { return }
        state = .readingHead(deadline: since + timeouts.headers)
    }

    /// A complete head arrived: the body is due `body` from now.
    mutating func requestHeadReceived(now: NIODeadline) {
        guard state != .finished else { return }
        state = .readingBody(deadline: now + timeouts.body, answered: false)
    }

    /// The request is complete.
    mutating func requestEnded(now: NIODeadline) {
        switch state {
        case .readingBody(_, answered: true): state = .idle(since: now, fresh: false)
        case .readingBody(_, answered: false): state = .responding
        case .idle, .readingHead, .responding, .finished: break
        }
    }

    /// A response ended: the connection idles, unless its request is still arriving.
    mutating func responseEnded(now: NIODeadline) {
        switch state {
        case .responding: state = .idle(since: now, fresh: false)
        case .readingBody(let deadline, _): state = .readingBody(deadline: deadline, answered: true)
        case .idle, .readingHead, .finished: break
        }
    }

    /// The connection was upgraded or is closing: no more HTTP deadlines.
    mutating func finish() {
        state = .finished
    }

    /// A timer fired at `now`.
    func expiry(now: NIODeadline) -> Expiry {
        guard let deadline, deadline <= now else { return .notYet }
        switch state {
        case .idle, .readingBody(_, answered: true): return .closeIdle
        case .readingHead, .readingBody(_, answered: false): return .requestTimedOut
        case .responding, .finished: return .notYet
        }
    }
}
