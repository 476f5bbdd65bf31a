public import PrimusCore
import NIOCore
import Synchronization

/// An event the server emitted to this client (``PrimusClient/onEvent(_:_:)``).
public struct PrimusClientEventMessage: Sendable {
    /// The event's name.
    public let name: String
    /// Its arguments.
    public let args: [JSONValue]
    /// Present when the server waits for an acknowledgement; call it once.
    public let ack: PrimusClientAcknowledgement?

    /// The argument at `index` decoded as `T`.
    public func decode<T: Decodable>(_ type: T.Type, at index: Int = 0) throws(PrimusError) -> T {
        guard args.indices.contains(index) else { throw PrimusError.decodingFailed("event \(name) has no argument \(index)") }
        return try JSONValueDecoder().decode(type, from: args[index])
    }
}

/// The answer to a server's event. Only the first call sends.
public final class PrimusClientAcknowledgement: Sendable {
    private let reply: @Sendable ([JSONValue]) -> Void
    private let sent = Atomic<Bool>(false)

    init(reply: @escaping @Sendable ([JSONValue]) -> Void) {
        self.reply = reply
    }

    /// Acknowledges with `args`.
    public func callAsFunction(_ args: JSONValue...) {
        send(arguments: args)
    }

    /// Acknowledges with `arguments`.
    public func send(arguments: [JSONValue]) {
        guard sent.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        reply(arguments)
    }
}

/// Named events and acknowledgements, as the server's ``Spark`` has them, in the wire format of
/// Primus's `primus-emitter` plugin (``PrimusEmitterPacket``). Events written while offline are
/// buffered like any write; an acknowledgement waited for across a reconnect still arrives if
/// the server answers before the timeout.
extension PrimusClient {
    /// Calls `handler` on the client's event loop for every `event` the server emits. Once a
    /// client has an event handler, packets never reach ``onData(_:)``.
    public func onEvent(_ event: String, _ handler: @escaping @Sendable (PrimusClientEventMessage) -> Void) {
        emitter.add(event, handler)
    }

    /// Emits `event` with `args` to the server.
    public func emit(_ event: String, _ args: JSONValue...) {
        write(PrimusEmitterPacket.event(name: event, args: args, ackID: nil).value)
    }

    /// Emits `event` with `arguments` to the server.
    public func emit(_ event: String, arguments: [JSONValue]) {
        write(PrimusEmitterPacket.event(name: event, args: arguments, ackID: nil).value)
    }

    /// Emits `event` with one `Encodable` argument.
    public func emit<T: Encodable>(_ event: String, encoding value: T) throws(PrimusError) {
        emit(event, arguments: [try JSONValueEncoder().encode(value)])
    }

    /// Emits `event` and returns the server's acknowledgement.
    ///
    /// - Throws: ``PrimusError`` with code `.timeout` when none came within `timeout`, or
    ///   `.sparkClosed` when the client ended first.
    public func emitWithAck(_ event: String, _ args: JSONValue..., timeout: Duration = .seconds(10)) async throws -> [JSONValue] {
        try await emitWithAck(event, arguments: args, timeout: timeout)
    }

    /// Emits `event` with `arguments` and returns the server's acknowledgement.
    public func emitWithAck(_ event: String, arguments: [JSONValue], timeout: Duration = .seconds(10)) async throws -> [JSONValue] {
        let nanoseconds = Int64(clamping: timeout.components.seconds) &* 1_000_000_000 &+ timeout.components.attoseconds / 1_000_000_000
        return try await withCheckedThrowingContinuation { continuation in
            let id = emitter.expectAck(on: eventLoop, timeout: .nanoseconds(nanoseconds), event: event) { continuation.resume(with: $0) }
            write(PrimusEmitterPacket.event(name: event, args: arguments, ackID: id).value)
        }
    }
}
