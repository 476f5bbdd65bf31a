import NIOConcurrencyHelpers
import PrimusCore
import Synchronization

/// What the outside world sees of a client: its events (fanned out to every subscriber and
/// handler) and its ready state. Events are emitted only from the client's event loop; the lock
/// is taken once per event and per subscription, so contention is not a concern.
///
/// Nothing is lost silently: a subscriber that falls `limit` events behind gets an
/// ``PrimusClientEvent/error(_:)`` saying so, then ``PrimusClientEvent/end``, and its sequence
/// finishes (two slots of its buffer are kept for them); the first subscriber is told when the
/// backlog held for it overflowed, and an `end` emitted meanwhile is always kept.
final class ClientEventHub: Sendable {
    private struct State {
        var subscribers: [UInt64: AsyncStream<PrimusClientEvent>.Continuation] = [:]
        var handlers: [@Sendable (PrimusClientEvent) -> Void] = []
        /// Events emitted before the first subscription, held for it (then `nil` for good).
        var backlog: [PrimusClientEvent]? = []
        /// Events the backlog could not hold for the first subscriber.
        var backlogDropped = 0
        var backlogEnded = false
        var nextID: UInt64 = 0
        var finished = false
    }

    private let state = NIOLockedValueBox(State())
    private let readyStateStorage = Atomic<UInt8>(PrimusClient.ReadyState.closed.rawValue)
    private let limit: Int

    init(limit: Int) {
        self.limit = max(limit, 1)
    }

    var readyState: PrimusClient.ReadyState {
        get { PrimusClient.ReadyState(rawValue: readyStateStorage.load(ordering: .acquiring)) ?? .closed }
        set { readyStateStorage.store(newValue.rawValue, ordering: .releasing) }
    }

    /// A new subscriber; the first one also receives what was emitted before it.
    func subscribe() -> AsyncStream<PrimusClientEvent> {
        let (stream, continuation) = AsyncStream.makeStream(
            of: PrimusClientEvent.self,
            // Two slots beyond the limit: room for the overflow error and the end.
            bufferingPolicy: .bufferingOldest(limit + 2)
        )
        let id: UInt64? = state.withLockedValue { state in
            guard !state.finished else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            if let backlog = state.backlog {
                // The replay takes at most `limit - 1` slots (after an overflow, its error takes the
                // last of them), so the next event still leaves the two reserved slots free for a
                // later overflow of this subscriber: its error and the end.
                let replayed = state.backlogDropped > 0 ? backlog.prefix(max(limit - 2, 0)) : backlog[...]
                for event in replayed { continuation.yield(event) }
                if state.backlogDropped > 0 {
                    let dropped = state.backlogDropped + backlog.count - replayed.count
                    continuation.yield(.error(Self.backlogOverflow(dropped: dropped, limit: limit)))
                }
                if state.backlogEnded { continuation.yield(.end) }
                state.backlog = nil
            }
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Calls `handler` for every event from now on, on the client's event loop.
    func addHandler(_ handler: @escaping @Sendable (PrimusClientEvent) -> Void) {
        state.withLockedValue { state in
            guard !state.finished else { return }
            state.handlers.append(handler)
        }
    }

    func emit(_ event: PrimusClientEvent) {
        let (subscribers, handlers) = state.withLockedValue { state in
            if state.subscribers.isEmpty, let count = state.backlog?.count {
                if case .end = event {
                    state.backlogEnded = true
                } else if count < limit - 1 {
                    state.backlog?.append(event)
                } else {
                    state.backlogDropped += 1
                }
            }
            return (Array(state.subscribers), state.handlers)
        }
        for (id, subscriber) in subscribers {
            guard case .enqueued(let remaining) = subscriber.yield(event), remaining <= 2, event != .end else { continue }
            // `limit` events behind: say so and end this subscriber rather than drop what follows.
            subscriber.yield(.error(Self.subscriberOverflow(limit: limit)))
            subscriber.yield(.end)
            subscriber.finish()
            _ = state.withLockedValue { $0.subscribers.removeValue(forKey: id) }
        }
        for handler in handlers { handler(event) }
    }

    static func subscriberOverflow(limit: Int) -> PrimusError {
        PrimusError(
            code: .timeout,
            message: "This events subscriber fell \(limit) events behind (eventBufferSize) and was ended; later events were not delivered to it"
        )
    }

    static func backlogOverflow(dropped: Int, limit: Int) -> PrimusError {
        PrimusError(
            code: .timeout,
            message: "\(dropped) events emitted before the first subscription did not fit the backlog of \(limit) (eventBufferSize) and were not delivered"
        )
    }

    /// The client is gone: end every sequence, drop every handler.
    func finish() {
        let subscribers = state.withLockedValue { state in
            state.finished = true
            state.handlers = []
            state.backlog = nil
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}
