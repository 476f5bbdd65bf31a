public import PrimusCore
import Synchronization

/// A named event a client emitted to a spark (``Spark/on(_:_:)``): its arguments and, when the
/// client waits for an answer, the acknowledgement to send it.
public struct SparkEvent: Sendable {
    /// The event's name.
    public let name: String
    /// Its arguments, as the parser decoded them.
    public let args: [JSONValue]
    /// Present when the client asked for an acknowledgement; call it once.
    public let ack: SparkAcknowledgement?

    /// The arguments decoded as `T` (the first argument), through Codable.
    public func decode<T: Decodable>(_ type: T.Type, at index: Int = 0) throws(PrimusError) -> T {
        guard args.indices.contains(index) else { throw PrimusError.decodingFailed("event \(name) has no argument \(index)") }
        return try JSONValueDecoder().decode(type, from: args[index])
    }
}

/// The answer to an event that asked for one. Only the first call sends; later calls do nothing,
/// so a handler cannot answer twice by mistake.
public final class SparkAcknowledgement: Sendable {
    private let spark: Spark
    private let id: Int
    private let sent = Atomic<Bool>(false)

    init(spark: Spark, id: Int) {
        self.spark = spark
        self.id = id
    }

    /// Sends the acknowledgement with `args`.
    public func callAsFunction(_ args: JSONValue...) {
        send(arguments: args)
    }

    /// Sends the acknowledgement with `arguments`.
    public func send(arguments: [JSONValue]) {
        guard sent.compareExchange(expected: false, desired: true, ordering: .relaxed).exchanged else { return }
        spark.sendAcknowledgement(id: id, args: arguments)
    }

    /// Sends the acknowledgement with one `Encodable` argument.
    public func send<T: Encodable>(_ value: T) throws(PrimusError) {
        send(arguments: [try JSONValueEncoder().encode(value)])
    }
}
