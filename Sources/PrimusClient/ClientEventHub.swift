import Synchronization

/// What the outside world sees of a client: its events (fanned out to every subscriber and
/// handler) and its ready state. Events are emitted only from the client's event loop; the lock
/// is taken once per event and per subscription, so contention is not a concern.
final class ClientEventHub: Sendable {
    private struct State {
        var subscribers: [UInt64: AsyncStream<PrimusClientEvent>.Continuation] = [:]
        var handlers: [@Sendable (PrimusClientEvent) -> Void] = []
        /// Events emitted before the first subscription, held for it (then `nil` for good).
        var backlog: [PrimusClientEvent]? = []
        var nextID: UInt64 = 0
        var finished = false
    }

    private let state = Mutex(State())
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
            bufferingPolicy: .bufferingOldest(limit)
        )
        let id: UInt64? = state.withLock { state in
            guard !state.finished else { return nil }
            let id = state.nextID
            state.nextID += 1
            state.subscribers[id] = continuation
            if let backlog = state.backlog {
                for event in backlog { continuation.yield(event) }
                state.backlog = nil
            }
            return id
        }
        guard let id else {
            continuation.finish()
            return stream
        }
        continuation.onTermination = { [weak self] _ in
            _ = self?.state.withLock { $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    /// Calls `handler` for every event from now on, on the client's event loop.
    func addHandler(_ handler: @escaping @Sendable (PrimusClientEvent) -> Void) {
        state.withLock { state in
            guard !state.finished else { return }
            state.handlers.append(handler)
        }
    }

    func emit(_ event: PrimusClientEvent) {
        let (subscribers, handlers) = state.withLock { state in
            if state.subscribers.isEmpty, let count = state.backlog?.count, count < limit {
                state.backlog?.append(event)
            }
            return (Array(state.subscribers.values), state.handlers)
        }
        for subscriber in subscribers { subscriber.yield(event) }
        for handler in handlers { handler(event) }
    }

    /// The client is gone: end every sequence, drop every handler.
    func finish() {
        let subscribers = state.withLock { state in
            state.finished = true
            state.handlers = []
            state.backlog = nil
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }
}
