/// Primus's reconnect schedule (the `recovery` module, v0.2.6), as a state machine without a clock
/// and without a random source: the caller passes `now` and a random number in `0..<1`.
///
/// The delay before attempt `n` is
///
///     n == 1:  min
///     n  > 1:  min(round((random + 1) × min × factor^(n-1)), max)        (in milliseconds)
///
/// and the client gives up when attempt `retries` has failed. With the defaults (500 ms, factor 2,
/// no maximum, 10 retries):
///
/// | attempt | delay          |
/// |--------:|----------------|
/// | 1       | 500 ms         |
/// | 2       | 1–2 s          |
/// | 3       | 2–4 s          |
/// | 10      | 256–512 s      |
///
/// The product is capped before it becomes a `Duration`, so a large `factor^(n-1)` cannot overflow.
/// A successful reconnect resets the counter: the next outage starts again at `min`.
///
/// ```swift
/// var backoff = ReconnectBackoff()
/// backoff.reconnect(now: now, random: .random(in: 0..<1))   // .schedule(attempt 1, 500 ms)
/// backoff.delayElapsed(now: later)                          // .connect(attempt 1)
/// backoff.attemptFailed(now: later2, random: …)             // .schedule(attempt 2, 1–2 s)
/// ```
public struct ReconnectBackoff: Sendable, Hashable {
    /// The recovery options, with Primus's defaults.
    public struct Configuration: Sendable, Hashable {
        /// The delay before the first attempt, and the base of the later ones (default 500 ms).
        public var minDelay: Duration
        /// The longest delay between attempts; `nil` (the default) means unlimited, as in Primus.
        public var maxDelay: Duration?
        /// How many attempts are made before giving up (default 10).
        public var retries: Int
        /// The growth factor of the delay (default 2).
        public var factor: Double
        /// How long one attempt may take before it counts as failed (default 30 s), so a server
        /// that accepts connections but never answers cannot stall the recovery.
        public var attemptTimeout: Duration

        /// Creates a configuration; every argument defaults to Primus's value.
        public init(
            minDelay: Duration = .milliseconds(500),
            maxDelay: Duration? = nil,
            retries: Int = 10,
            factor: Double = 2,
            attemptTimeout: Duration = .seconds(30)
        ) {
            self.minDelay = minDelay
            self.maxDelay = maxDelay
            self.retries = retries
            self.factor = factor
            self.attemptTimeout = attemptTimeout
        }
    }

    /// One reconnect attempt, as the `reconnect*` events report it (Primus's `opts` object).
    public struct Attempt: Sendable, Hashable {
        /// The attempt number, from 1.
        public var number: Int
        /// The delay that was scheduled before this attempt.
        public var delay: Duration
        /// The time since the recovery started (Primus's `duration`).
        public var elapsed: Duration
        /// The configured number of attempts.
        public var retries: Int

        /// Creates an attempt description.
        public init(number: Int, delay: Duration, elapsed: Duration, retries: Int) {
            self.number = number
            self.delay = delay
            self.elapsed = elapsed
            self.retries = retries
        }
    }

    /// What the caller must do.
    public enum Action: Sendable, Hashable {
        /// Nothing (a delay is already pending, or the input did not apply).
        case none
        /// Announce `reconnect scheduled` and call ``delayElapsed(now:)`` after `attempt.delay`.
        case schedule(Attempt)
        /// Announce `reconnect`, open a new connection, and call ``attemptTimedOut(now:random:)``
        /// if it has not opened within ``Configuration/attemptTimeout``.
        case connect(Attempt)
        /// The attempt succeeded: announce `reconnected`. The counter is reset.
        case reconnected(Attempt)
        /// The last attempt failed: announce `reconnect failed`. The counter is reset.
        case giveUp(Attempt)
    }

    private struct Progress: Sendable, Hashable {
        var attempt: Attempt
        var start: Duration
    }

    private enum State: Sendable, Hashable {
        case idle
        /// Waiting `attempt.delay` before the attempt.
        case waiting(Progress)
        /// The attempt's connection is being made.
        case attempting(Progress)
    }

    /// The options in force.
    public let configuration: Configuration
    private var state: State = .idle

    /// Creates an idle schedule.
    public init(configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    /// Whether a recovery is in progress (Primus's `recovery.reconnecting()`).
    public var isReconnecting: Bool { state != .idle }

    /// The attempt in progress or scheduled, if any.
    public var currentAttempt: Attempt? {
        switch state {
        case .idle: return nil
        case .waiting(let progress), .attempting(let progress): return progress.attempt
        }
    }

    /// The connection was lost: start a recovery, or do nothing if one is already waiting.
    ///
    /// - Parameters:
    ///   - now: the current time on any monotonic clock (only differences matter).
    ///   - random: a number in `0..<1` (JavaScript's `Math.random()`).
    public mutating func reconnect(now: Duration, random: Double) -> Action {
        switch state {
        case .idle:
            return schedule(after: nil, start: now, now: now, random: random)
        case .waiting, .attempting:
            return .none
        }
    }

    /// The scheduled delay has passed: make the attempt.
    public mutating func delayElapsed(now: Duration) -> Action {
        guard case .waiting(var progress) = state else { return .none }
        progress.attempt.elapsed = now - progress.start
        state = .attempting(progress)
        return .connect(progress.attempt)
    }

    /// The attempt's connection failed: schedule the next one, or give up.
    public mutating func attemptFailed(now: Duration, random: Double) -> Action {
        guard case .attempting(let progress) = state else { return .none }
        return schedule(after: progress.attempt, start: progress.start, now: now, random: random)
    }

    /// The attempt did not open in time: the same as a failure (announce `reconnect timeout` first).
    public mutating func attemptTimedOut(now: Duration, random: Double) -> Action {
        attemptFailed(now: now, random: random)
    }

    /// The attempt's connection opened: the recovery is over.
    public mutating func attemptSucceeded(now: Duration) -> Action {
        guard case .attempting(var progress) = state else { return .none }
        progress.attempt.elapsed = now - progress.start
        state = .idle
        return .reconnected(progress.attempt)
    }

    /// Abandons any recovery (the client was ended).
    public mutating func reset() {
        state = .idle
    }

    private mutating func schedule(after previous: Attempt?, start: Duration, now: Duration, random: Double) -> Action {
        let made = previous?.number ?? 0
        if made >= configuration.retries {
            state = .idle
            let last = previous ?? Attempt(number: 0, delay: .zero, elapsed: .zero, retries: configuration.retries)
            return .giveUp(Attempt(number: last.number, delay: last.delay, elapsed: now - start, retries: configuration.retries))
        }
        let number = made + 1
        let attempt = Attempt(
            number: number,
            delay: Self.delay(forAttempt: number, random: random, configuration: configuration),
            elapsed: now - start,
            retries: configuration.retries
        )
        state = .waiting(Progress(attempt: attempt, start: start))
        return .schedule(attempt)
    }

    /// The delay before attempt `number` (from 1), exactly as recovery 0.2.6 computes it.
    public static func delay(forAttempt number: Int, random: Double, configuration: Configuration) -> Duration {
        let minimum = configuration.minDelay
        guard number > 1 else { return minimum }
        let minimumMilliseconds = milliseconds(minimum)
        var value = ((random + 1) * minimumMilliseconds * pow(configuration.factor, Double(number - 1)))
            .rounded(.toNearestOrAwayFromZero)
        // Cap before converting: factor^(n-1) grows without bound, Duration does not.
        if let maximum = configuration.maxDelay { value = Swift.min(value, milliseconds(maximum)) }
        value = Swift.min(value, largestDelayMilliseconds)
        if !value.isFinite || value < 0 { value = largestDelayMilliseconds }
        return .milliseconds(value)
    }

    /// About 31,700 years: far beyond any useful delay, far below `Duration`'s range.
    private static let largestDelayMilliseconds: Double = 1e15

    private static func milliseconds(_ duration: Duration) -> Double {
        let (seconds, attoseconds) = duration.components
        return Double(seconds) * 1000 + Double(attoseconds) / 1e15
    }

    /// `x^y` without Foundation.
    private static func pow(_ base: Double, _ exponent: Double) -> Double {
        var result = 1.0
        var remaining = Int(exponent)
        var factor = base
        while remaining > 0 {
            if remaining & 1 == 1 { result *= factor }
            factor *= factor
            remaining >>= 1
            if !result.isFinite { return .infinity }
        }
        return result
    }
}
