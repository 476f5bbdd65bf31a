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

    /// The ids of this process's sparks that `target` reaches.
    func localSparkIDs(for target: PrimusRoomTarget) -> Set<String> {
        var ids: Set<String>
        if target.rooms.isEmpty {
            ids = Set(sparks.map(\.id))
        } else {
            ids = []
            for room in target.rooms { ids.formUnion(adapter.sparkIDs(in: room)) }
        }
        ids.subtract(target.except)
        return ids
    }
}
