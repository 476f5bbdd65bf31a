public import PrimusCore
import NIOCore

/// Named events and acknowledgements on every transformer: `spark.emit("chat", …)` on the
/// server, `spark.on("chat") { event in … }` for what the client emits. On the wire they are
/// `primus-emitter` packets (``PrimusEmitterPacket``), Primus messages like any other, so they
/// pass through the parser, the outbound budget and the broadcast path unchanged.
///
/// Once a spark has an event handler or waits for an acknowledgement, its incoming messages are
/// checked for the packet shape: an event goes to its handlers (an event nobody handles is
/// dropped, as Socket.IO drops it) and an acknowledgement to its waiter; every other message is
/// delivered as data. A spark that never uses events sees every message as data.
extension Spark {
    /// Calls `handler` on the spark's event loop for every `event` the client emits.
    public func on(_ event: String, _ handler: @escaping @Sendable (SparkEvent) -> Void) {
        onLoop { spark in
            guard spark.readyState == .open else { return }
            spark.eventState.handlers[event, default: []].append(handler)
        }
    }

    /// Calls `handler` with the first argument of every `event` decoded as `T`; events whose
    /// argument does not decode are reported to ``onError(_:)`` handlers.
    public func on<T: Decodable & Sendable>(_ event: String, as type: T.Type, _ handler: @escaping @Sendable (T, SparkAcknowledgement?) -> Void) {
        on(event) { [weak self] received in
            do throws(PrimusError) {
                handler(try received.decode(T.self), received.ack)
            } catch {
                self?.reportError(error)
            }
        }
    }

    /// Emits `event` with `args` to the client.
    public func emit(_ event: String, _ args: JSONValue...) {
        write(PrimusEmitterPacket.event(name: event, args: args, ackID: nil).value)
    }

    /// Emits `event` with `arguments` to the client.
    public func emit(_ event: String, arguments: [JSONValue]) {
        write(PrimusEmitterPacket.event(name: event, args: arguments, ackID: nil).value)
    }

    /// Emits `event` with one `Encodable` argument.
    public func emit<T: Encodable>(_ event: String, encoding value: T) throws(PrimusError) {
        emit(event, arguments: [try JSONValueEncoder().encode(value)])
    }

    /// Emits `event` and calls `completion` with the client's acknowledgement, or with
    /// ``PrimusError/timeout`` after `timeout`, or ``PrimusError/sparkClosed`` if the spark ends
    /// first. Called on the spark's event loop.
    public func emit(
        _ event: String,
        arguments: [JSONValue],
        timeout: Duration,
        completion: @escaping @Sendable (Result<[JSONValue], PrimusError>) -> Void
    ) {
        onLoop { spark in
            guard spark.readyState == .open else { return completion(.failure(.sparkClosed)) }
            let state = spark.eventState
            let id = state.makeAckID()
            let nanoseconds = Int64(clamping: timeout.components.seconds) &* 1_000_000_000 &+ timeout.components.attoseconds / 1_000_000_000
            let scheduled = spark.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(nanoseconds)) {
                guard let entry = spark.state.value.events?.pendingAcks.removeValue(forKey: id) else { return }
                entry.callback(.failure(PrimusError(code: .timeout, message: "no acknowledgement of \(event) within \(timeout)")))
            }
            state.pendingAcks[id] = SparkEventState.PendingAck(callback: completion, timeout: scheduled)
            spark.write(PrimusEmitterPacket.event(name: event, args: arguments, ackID: id).value)
        }
    }

    /// Emits `event` and returns the client's acknowledgement.
    ///
    /// - Throws: ``PrimusError/timeout`` (code `.timeout`) when no acknowledgement came within
    ///   `timeout`, ``PrimusError/sparkClosed`` when the spark ended first.
    public func emitWithAck(_ event: String, _ args: JSONValue..., timeout: Duration = .seconds(10)) async throws -> [JSONValue] {
        try await emitWithAck(event, arguments: args, timeout: timeout)
    }

    /// Emits `event` with `arguments` and returns the client's acknowledgement.
    public func emitWithAck(_ event: String, arguments: [JSONValue], timeout: Duration = .seconds(10)) async throws -> [JSONValue] {
        try await withCheckedThrowingContinuation { continuation in
            emit(event, arguments: arguments, timeout: timeout) { continuation.resume(with: $0) }
        }
    }

    // MARK: - Internals

    /// The event state, made on first use. On the loop.
    var eventState: SparkEventState {
        if let state = state.value.events { return state }
        let made = SparkEventState()
        state.value.events = made
        return made
    }

    /// Sends the acknowledgement `id` (from any thread).
    func sendAcknowledgement(id: Int, args: [JSONValue]) {
        write(PrimusEmitterPacket.ack(id: id, args: args).value)
    }

    /// An incoming value that is an emitter packet, handled: `true`. On the loop, only for sparks
    /// that use events.
    func handleEventPacket(_ value: JSONValue) -> Bool {
        guard let packet = PrimusEmitterPacket(value) else { return false }
        switch packet {
        case .event(let name, let args, let ackID):
            receiveEvent(name: name, args: args, ackID: ackID)
        case .ack(let id, let args):
            receiveAcknowledgement(id: id, args: args)
        }
        return true
    }

    /// A client's event, however its transformer carried it: handed to its handlers. On the loop.
    public func receiveEvent(name: String, args: [JSONValue], ackID: Int?) {
        guard readyState == .open, let handlers = state.value.events?.handlers[name], !handlers.isEmpty else { return }
        let event = SparkEvent(name: name, args: args, ack: ackID.map { SparkAcknowledgement(spark: self, id: $0) })
        for handler in handlers { handler(event) }
    }

    /// A client's acknowledgement of an event the server emitted. Unknown ids (late, repeated,
    /// made up) are ignored. On the loop.
    public func receiveAcknowledgement(id: Int, args: [JSONValue]) {
        guard let entry = state.value.events?.pendingAcks.removeValue(forKey: id) else { return }
        entry.timeout?.cancel()
        entry.callback(.success(args))
    }
}
