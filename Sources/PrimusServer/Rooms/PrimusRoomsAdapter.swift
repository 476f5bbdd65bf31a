public import PrimusCore

/// Who a room write goes to: the sparks in any of `rooms` (every spark when `rooms` is empty),
/// minus the sparks in `except`.
public struct PrimusRoomTarget: Sendable, Hashable {
    /// The rooms; empty means every spark.
    public var rooms: Set<String>
    /// Spark ids left out (Socket.IO's `except`, or the sender of `spark.to(room)`).
    public var except: Set<String>

    /// A target.
    public init(rooms: Set<String> = [], except: Set<String> = []) {
        self.rooms = rooms
        self.except = except
    }
}

/// Where room membership lives and how room writes travel: the seam between rooms and the
/// machines that serve them. ``PrimusLocalRoomsAdapter`` (the default) keeps membership in
/// memory and delivers to this process's sparks; a cross-node adapter (Redis, say) keeps the
/// same contract, publishes each write once, and on every node hands it to
/// ``Primus/deliverLocally(_:to:)``.
///
/// Called from any thread; implementations synchronise themselves.
public protocol PrimusRoomsAdapter: Sendable {
    /// Adds spark `sparkID` to `room`.
    func join(_ sparkID: String, room: String)
    /// Removes spark `sparkID` from `room`.
    func leave(_ sparkID: String, room: String)
    /// Removes spark `sparkID` from every room (it ended).
    func leaveAll(_ sparkID: String)
    /// The rooms spark `sparkID` is in.
    func rooms(of sparkID: String) -> Set<String>
    /// The ids of the sparks (of this process) in `room`.
    func sparkIDs(in room: String) -> Set<String>
    /// Sends `value` (a Primus message value, an emitter packet for events) to `target`, on
    /// `primus`'s behalf.
    func broadcast(_ value: JSONValue, to target: PrimusRoomTarget, primus: Primus)
}
