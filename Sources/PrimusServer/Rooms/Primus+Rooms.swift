import Logging
public import PrimusCore

extension Primus {
    /// A write to the sparks in `room` (add rooms with ``PrimusRoom/room(_:)``, leave sparks out
    /// with ``PrimusRoom/except(_:)-(String...)``).
    public func room(_ room: String) -> PrimusRoom {
        PrimusRoom(primus: self, target: PrimusRoomTarget(rooms: [room]))
    }

    /// Emits `event` with `args` to every spark.
    public func emit(_ event: String, _ args: JSONValue...) {
        write(PrimusEmitterPacket.event(name: event, args: args, ackID: nil).value)
    }

    /// Emits `event` with `arguments` to every spark.
    public func emit(_ event: String, arguments: [JSONValue]) {
        write(PrimusEmitterPacket.event(name: event, args: arguments, ackID: nil).value)
    }

    /// Delivers a room write to this process's sparks: the value is encoded once and each spark
    /// gets the same bytes (sparks with outgoing transforms run them on the value). The local
    /// adapter calls this for every write; a cross-node adapter calls it for writes that arrive
    /// from other nodes.
    public func deliverLocally(_ value: JSONValue, to target: PrimusRoomTarget) {
        if target.rooms.isEmpty, target.except.isEmpty { return write(value) }
        let ids = localSparkIDs(for: target)
        guard !ids.isEmpty else { return }
        let message: TransportMessage
        do {
            message = try configuration.parser.encode(value)
        } catch {
            logger.debug("room write encoding failed", metadata: ["primus.error": "\(error)"])
            return
        }
        for id in ids {
            guard let spark = spark(id) else { continue }
            if spark.hasOutgoingTransforms { spark.write(value) } else { spark.send(message) }
        }
    }

    /// The ids of this process's sparks that `target` reaches.
    func localSparkIDs(for target: PrimusRoomTarget) -> Set<String> {
        var ids: Set<String>
        if target.rooms.isEmpty {
            ids = Set(sparks.map(\.id))
        } else {
            ids = []
            for room in target.rooms { ids.formUnion(roomsAdapter.sparkIDs(in: room)) }
        }
        ids.subtract(target.except)
        return ids
    }
}
