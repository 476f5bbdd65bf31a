public import PrimusCore

/// A room write in the making (`primus.room("lobby").except(id).emit("chat", …)`): the rooms it
/// goes to and the sparks it leaves out. Writes go through the server's rooms adapter, so they
/// reach every node when the adapter spans several.
public struct PrimusRoom: Sendable {
    /// The server the write belongs to.
    public let primus: Primus
    /// Who it goes to.
    public private(set) var target: PrimusRoomTarget

    init(primus: Primus, target: PrimusRoomTarget) {
        self.primus = primus
        self.target = target
    }

    /// Also the sparks in `room`.
    public func room(_ room: String) -> PrimusRoom {
        var copy = self
        copy.target.rooms.insert(room)
        return copy
    }

    /// Without the sparks `ids`.
    public func except(_ ids: String...) -> PrimusRoom {
        except(Set(ids))
    }

    /// Without the sparks `ids`.
    public func except(_ ids: Set<String>) -> PrimusRoom {
        var copy = self
        copy.target.except.formUnion(ids)
        return copy
    }

    /// Writes `value` to every spark of the target, encoded once per node.
    public func write(_ value: JSONValue) {
        primus.adapter.broadcast(value, to: target, primus: primus)
    }

    /// Writes an `Encodable` value.
    public func write<T: Encodable>(encoding value: T) throws(PrimusError) {
        write(try JSONValueEncoder().encode(value))
    }

    /// Emits `event` with `args` to every spark of the target.
    public func emit(_ event: String, _ args: JSONValue...) {
        write(PrimusEmitterPacket.event(name: event, args: args, ackID: nil).value)
    }

    /// Emits `event` with `arguments` to every spark of the target.
    public func emit(_ event: String, arguments: [JSONValue]) {
        write(PrimusEmitterPacket.event(name: event, args: arguments, ackID: nil).value)
    }

    /// The ids of this node's sparks the target reaches.
    public var sparkIDs: Set<String> {
        primus.localSparkIDs(for: target)
    }
}
