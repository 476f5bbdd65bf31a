import NIOConcurrencyHelpers
import NIOCore
import PrimusCore

/// Keeps one connection alive until shutdown, for both ``RedisClient`` and ``RedisSubscriber``:
/// connect, report the state, and after every loss or failed attempt wait a randomized,
/// exponentially growing, capped delay (PrimusCore's ``ReconnectBackoff`` schedule) and try again.
final class RedisReconnectLoop: Sendable {
    /// Makes one connection, handshake (and resubscription) included.
    typealias Attempt = @Sendable (any EventLoop) -> EventLoopFuture<RedisConnection>

    private struct State {
        var started = false
        var isShutdown = false
        var connection: RedisConnection?
        var attemptInFlight: EventLoopFuture<RedisConnection>?
        var failedAttempts = 0
        var scheduled: Scheduled<Void>?
        var handlers: [@Sendable (RedisConnectionState) -> Void] = []
    }

    let eventLoop: any EventLoop
    private let state = NIOLockedValueBox(State())
    private let backoff: ReconnectBackoff.Configuration
    private let attempt: Attempt

    init(eventLoop: any EventLoop, reconnect: (initial: TimeAmount, max: TimeAmount), attempt: @escaping Attempt) {
        self.eventLoop = eventLoop
        self.attempt = attempt
        self.backoff = ReconnectBackoff.Configuration(
            minDelay: .nanoseconds(reconnect.initial.nanoseconds),
            maxDelay: .nanoseconds(Swift.max(reconnect.initial.nanoseconds, reconnect.max.nanoseconds)),
            retries: .max,
            factor: 2
        )
    }

    /// The connection when one is ready.
    var connection: RedisConnection? { state.withLockedValue { $0.connection } }

    func onStateChange(_ handler: @escaping @Sendable (RedisConnectionState) -> Void) {
        state.withLockedValue { $0.handlers.append(handler) }
    }

    func start() {
        let first = state.withLockedValue { state -> Bool in
            guard !state.started, !state.isShutdown else { return false }
            state.started = true
            return true
        }
        if first { eventLoop.execute { self.runAttempt() } }
    }

    func shutdown() async {
        let (connection, inFlight) = state.withLockedValue { state -> (RedisConnection?, EventLoopFuture<RedisConnection>?) in
            state.isShutdown = true
            state.scheduled?.cancel()
            state.scheduled = nil
            defer { state.connection = nil }
            return (state.connection, state.attemptInFlight)
        }
        if let inFlight, let late = try? await inFlight.get() {
            late.close(RedisError.shutdown)
            _ = try? await late.closed.get()
        }
        if let connection {
            connection.close(RedisError.shutdown)
            _ = try? await connection.closed.get()
        }
    }

    private func runAttempt() {
        let future: EventLoopFuture<RedisConnection>? = state.withLockedValue { state in
            guard !state.isShutdown else { return nil }
            let future = attempt(eventLoop)
            state.attemptInFlight = future
            return future
        }
        guard let future else { return }
        future.whenComplete { result in
            switch result {
            case .success(let connection):
                let accepted = self.state.withLockedValue { state -> Bool in
                    state.attemptInFlight = nil
                    guard !state.isShutdown else { return false }
                    state.connection = connection
                    state.failedAttempts = 0
                    return true
                }
                guard accepted else {
                    connection.close(RedisError.shutdown)
                    return
                }
                self.report(.connected)
                connection.closed.whenSuccess { reason in
                    let current = self.state.withLockedValue { state -> Bool in
                        guard state.connection === connection else { return false }
                        state.connection = nil
                        return !state.isShutdown
                    }
                    if current {
                        self.report(.disconnected(reason))
                        self.scheduleNextAttempt()
                    }
                }
            case .failure(let error):
                let running = self.state.withLockedValue { state -> Bool in
                    state.attemptInFlight = nil
                    return !state.isShutdown
                }
                if running {
                    self.report(.disconnected(error))
                    self.scheduleNextAttempt()
                }
            }
        }
    }

    private func scheduleNextAttempt() {
        state.withLockedValue { state in
            guard !state.isShutdown else { return }
            state.failedAttempts += 1
            let delay = ReconnectBackoff.delay(forAttempt: state.failedAttempts, random: .random(in: 0..<1), configuration: backoff)
            let (seconds, attoseconds) = delay.components
            let nanoseconds = seconds * 1_000_000_000 + attoseconds / 1_000_000_000
            state.scheduled = eventLoop.scheduleTask(in: .nanoseconds(nanoseconds)) { self.runAttempt() }
        }
    }

    private func report(_ change: RedisConnectionState) {
        let handlers = state.withLockedValue { $0.handlers }
        for handler in handlers { handler(change) }
    }
}
