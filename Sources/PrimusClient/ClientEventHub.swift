import NIOCore
import PrimusCore
import Synchronization

/// What the outside world sees of a client: its events (fanned out to every subscriber and
/// handler) and its ready state. Events are emitted only from the client's event loop; the lock
/// is taken once per event and per subscription change, so contention is not a concern.
///
/// Subscribers are never dropped from: each is a `NIOAsyncSequenceProducer` with high and low
/// watermarks, and while any subscriber is at its high watermark ``isBehind`` is `true` and the
/// client stops reading from its connection (the hub calls the pressure handler whenever that
/// flips). Handlers run on the loop as events happen and need no buffer.
final class ClientEventHub: Sendable {
    typealias Producer = PrimusClientEvents.Producer

    /// Tells the hub that one subscriber caught up or went away; called on the consumer's thread.
    struct SubscriberDelegate: NIOAsyncSequenceProducerDelegate {
        weak var hub: ClientEventHub?
        let id: UInt64

        func produceMore() { hub?.caughtUp(id) }
        func didTerminate() { hub?.unsubscribe(id) }
    }

    /// Events announced before the first subscription, held for it. It is not a subscriber (a
    /// client used only through handlers, or only to write, must not stall), so it is bounded
    /// instead: past the limit it counts what it could not keep, and the first subscriber reads
    /// an error saying so, then `end` if the client was ended when it subscribed.
    private struct Backlog {
        var events: [PrimusClientEvent] = []
        var dropped = 0
        var endedAfterDrop = false

        mutating func append(_ event: PrimusClientEvent, limit: Int) {
            if dropped == 0, events.count < limit {
                events.append(event)
                return
            }
            dropped += 1
            switch event {
            case .end: endedAfterDrop = true
            case .readyStateChange(.opening): endedAfterDrop = false
            default: break
            }
        }

        func replay(limit: Int) -> [PrimusClientEvent] {
            guard dropped > 0 else { return events }
            let error = PrimusError(
                code: .timeout,
                message: "\(dropped) events were announced before the first subscription, past the \(limit) kept for it (eventBufferSize); they are lost"
            )
            return events + [.error(error)] + (endedAfterDrop ? [.end] : [])
        }
    }

    private struct State {
        var subscribers: [UInt64: Producer.Source] = [:]
        /// Subscribers at their high watermark.
        var behind: Set<UInt64> = []
        var handlers: [@Sendable (PrimusClientEvent) -> Void] = []
        /// `nil` from the first subscription on.
        var backlog: Backlog? = Backlog()
        var nextID: UInt64 = 0
        var finished = false
        var pressureChanged: (@Sendable () -> Void)?
    }

    private let state = Mutex(State())
    private let readyStateStorage = Atomic<UInt8>(PrimusClient.ReadyState.closed.rawValue)
    private let limit: Int

    init(limit: Int) {
        self.limit = max(limit, 2)
    }

    var readyState: PrimusClient.ReadyState {
        get { PrimusClient.ReadyState(rawValue: readyStateStorage.load(ordering: .acquiring)) ?? .closed }
        set { readyStateStorage.store(newValue.rawValue, ordering: .releasing) }
    }

    /// Whether some subscriber is at its high watermark: the client should not read.
    var isBehind: Bool {
        state.withLock { !$0.behind.isEmpty }
    }

    /// Calls `handler` (from any thread) whenever ``isBehind`` may have flipped.
    func onPressureChange(_ handler: @escaping @Sendable () -> Void) {
        state.withLock { $0.pressureChanged = handler }
    }

    /// A new subscriber; the first one also receives what was emitted before it.
    func subscribe() -> PrimusClientEvents {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        let made = Producer.makeSequence(
            elementType: PrimusClientEvent.self,
            backPressureStrategy: .init(lowWatermark: limit / 2, highWatermark: limit),
            finishOnDeinit: false,
            delegate: SubscriberDelegate(hub: self, id: id)
        )
        let source = made.source
        let (accepted, notify) = state.withLock { state -> (Bool, (@Sendable () -> Void)?) in
            guard !state.finished else { return (false, nil) }
            let wasBehind = !state.behind.isEmpty
            state.subscribers[id] = source
            if let backlog = state.backlog {
                state.backlog = nil
                // Yielded under the lock, like every event, so that a `produceMore` from the
                // consumer can never overtake the `stopProducing` it answers.
                for event in backlog.replay(limit: limit) where source.yield(event) == .stopProducing {
                    state.behind.insert(id)
                }
            }
            return (true, wasBehind != !state.behind.isEmpty ? state.pressureChanged : nil)
        }
        if !accepted { source.finish() }
        notify?()
        return PrimusClientEvents(base: made.sequence)
    }

    /// Calls `handler` for every event from now on, on the client's event loop.
    func addHandler(_ handler: @escaping @Sendable (PrimusClientEvent) -> Void) {
        state.withLock { state in
            guard !state.finished else { return }
            state.handlers.append(handler)
        }
    }

    func emit(_ event: PrimusClientEvent) {
        let (handlers, notify) = state.withLock { state -> ([@Sendable (PrimusClientEvent) -> Void], (@Sendable () -> Void)?) in
            state.backlog?.append(event, limit: limit)
            let wasBehind = !state.behind.isEmpty
            var gone: [UInt64] = []
            for (id, source) in state.subscribers {
                switch source.yield(event) {
                case .produceMore: break
                case .stopProducing: state.behind.insert(id)
                case .dropped: gone.append(id)  // its consumer stopped; `didTerminate` follows
                }
            }
            for id in gone {
                state.subscribers[id] = nil
                state.behind.remove(id)
            }
            return (state.handlers, wasBehind != !state.behind.isEmpty ? state.pressureChanged : nil)
        }
        notify?()
        for handler in handlers { handler(event) }
    }

    /// The client is gone: end every sequence, drop every handler.
    func finish() {
        let subscribers = state.withLock { state in
            state.finished = true
            state.handlers = []
            state.backlog = nil
            state.behind = []
            state.pressureChanged = nil
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        // Outside the lock: finishing may call `didTerminate` at once.
        for subscriber in subscribers { subscriber.finish() }
    }

    // MARK: - From subscribers

    private func caughtUp(_ id: UInt64) {
        let notify = state.withLock { state -> (@Sendable () -> Void)? in
            guard state.behind.remove(id) != nil, state.behind.isEmpty else { return nil }
            return state.pressureChanged
        }
        notify?()
    }

    private func unsubscribe(_ id: UInt64) {
        let notify = state.withLock { state -> (@Sendable () -> Void)? in
            state.subscribers[id] = nil
            guard state.behind.remove(id) != nil, state.behind.isEmpty else { return nil }
            return state.pressureChanged
        }
        notify?()
    }
}
