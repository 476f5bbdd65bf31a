import NIOConcurrencyHelpers
import NIOCore
import PrimusCore
import Synchronization

/// The client's named events and acknowledgements (``PrimusClient/onEvent(_:_:)``,
/// ``PrimusClient/emit(_:_:)``): handlers by name and the acknowledgements it waits for.
///
/// Handlers are added from any thread and messages arrive on the client's loop, so the state sits
/// behind a lock; a client that never uses events is checked with one atomic load per message.
final class ClientEmitter: Sendable {
    typealias Handler = @Sendable (PrimusClientEventMessage) -> Void
    typealias AckCallback = @Sendable (Result<[JSONValue], PrimusError>) -> Void

    private struct State {
        var handlers: [String: [Handler]] = [:]
        var pending: [Int: (callback: AckCallback, timeout: Scheduled<Void>?)] = [:]
        var nextID = 0
    }

    private let state = NIOLockedValueBox(State())
    private let active = Atomic<Bool>(false)

    /// Whether incoming messages must be checked for packets.
    var isActive: Bool { active.load(ordering: .relaxed) }

    func add(_ name: String, _ handler: @escaping Handler) {
        state.withLockedValue { $0.handlers[name, default: []].append(handler) }
        active.store(true, ordering: .relaxed)
    }

    /// Registers a waiter and returns its acknowledgement id.
    func expectAck(on eventLoop: any EventLoop, timeout: TimeAmount, event: String, _ callback: @escaping AckCallback) -> Int {
        active.store(true, ordering: .relaxed)
        let id = state.withLockedValue { state -> Int in
            state.nextID = state.nextID == Int.max ? 1 : state.nextID + 1
            state.pending[state.nextID] = (callback, nil)
            return state.nextID
        }
        let scheduled = eventLoop.scheduleTask(in: timeout) { [weak self] in
            guard let entry = self?.state.withLockedValue({ $0.pending.removeValue(forKey: id) }) else { return }
            entry.callback(.failure(PrimusError(code: .timeout, message: "no acknowledgement of \(event) in time")))
        }
        let keep = state.withLockedValue { state -> Bool in
            guard state.pending[id] != nil else { return false }
            state.pending[id]?.timeout = scheduled
            return true
        }
        if !keep { scheduled.cancel() }
        return id
    }

    /// An incoming value: `true` when it was a packet (handled, not data).
    func handle(_ value: JSONValue, acknowledge: @escaping @Sendable (Int, [JSONValue]) -> Void) -> Bool {
        guard let packet = PrimusEmitterPacket(value) else { return false }
        switch packet {
        case .event(let name, let args, let ackID):
            let handlers = state.withLockedValue { $0.handlers[name] ?? [] }
            let ack = ackID.map { id in PrimusClientAcknowledgement { acknowledge(id, $0) } }
            let message = PrimusClientEventMessage(name: name, args: args, ack: ack)
            for handler in handlers { handler(message) }
        case .ack(let id, let args):
            guard let entry = state.withLockedValue({ $0.pending.removeValue(forKey: id) }) else { return true }
            entry.timeout?.cancel()
            entry.callback(.success(args))
        }
        return true
    }

    /// The client ended: every waiting acknowledgement fails.
    func failPending() {
        let pending = state.withLockedValue { state in
            defer { state.pending = [:] }
            return state.pending
        }
        for (_, entry) in pending {
            entry.timeout?.cancel()
            entry.callback(.failure(.sparkClosed))
        }
    }
}
