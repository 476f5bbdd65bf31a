public import PrimusCore

/// Who a broadcast or room write goes to: the sparks in any of `rooms` (every spark when `rooms` is
/// empty), minus the sparks in `except`.
public struct PrimusRoomTarget: Sendable, Hashable {
    /// The rooms; empty means every spark.
    public var rooms: Set<String>
    /// Spark ids left out (Socket.IO's `except`, or the sender of `spark.to(room)`).
    public var except: Set<String>

    /// Every spark.
    public static let everyone = PrimusRoomTarget()

    /// A target.
    public init(rooms: Set<String> = [], except: Set<String> = []) {
        self.rooms = rooms
        self.except = except
    }

    /// Whether a spark `sparkID` in `sparkRooms` is reached.
    public func reaches(_ sparkID: String, in sparkRooms: Set<String>) -> Bool {
        if except.contains(sparkID) { return false }
        return rooms.isEmpty || !rooms.isDisjoint(with: sparkRooms)
    }
}

/// A broadcast kept for missed-message recovery: its place in the sequence, what it carried and
/// whom it was for.
public struct PrimusBacklogEntry: Sendable, Hashable {
    /// Its place in the cluster's sequence.
    public var sequence: PrimusSequence
    /// The message value (an emitter packet for events).
    public var value: JSONValue
    /// Whom it went to.
    public var target: PrimusRoomTarget

    /// An entry.
    public init(sequence: PrimusSequence, value: JSONValue, target: PrimusRoomTarget) {
        self.sequence = sequence
        self.value = value
        self.target = target
    }
}

/// The seam between Primus and the machines that serve it: where room membership lives, how
/// broadcasts and room writes travel, where each spark is, and what was broadcast recently.
/// Nothing above it knows how many nodes there are.
///
/// ``PrimusLocalAdapter`` (the default) serves one process: rooms in memory, writes delivered
/// straight to this process's sparks, an in-memory backlog for recovery. A cross-node adapter
/// (`PrimusRedisCluster`'s `RedisClusterAdapter`) keeps the same contract: it publishes each write once,
/// and on every node hands it to ``Primus/deliverLocally(_:to:sequence:)``; it records which node
/// holds which spark, so ``Primus/write(_:toSpark:)`` and ``Primus/end(spark:reconnect:)`` reach
/// sparks anywhere.
///
/// Called from any thread; implementations synchronise themselves.
public protocol PrimusClusterAdapter: Sendable {
    /// Called once by the ``Primus`` that made the adapter, before any spark: a cross-node adapter
    /// starts its connections here.
    func attach(to primus: Primus)
    /// Called when `primus` shuts down, after its sparks ended: leave the cluster, close connections.
    func shutdown() async

    /// Adds spark `sparkID` to `room`.
    func join(_ sparkID: String, room: String)
    /// Removes spark `sparkID` from `room`.
    func leave(_ sparkID: String, room: String)
    /// Removes spark `sparkID` from every room (it ended).
    func leaveAll(_ sparkID: String)
    /// The rooms spark `sparkID` (of this process) is in.
    func rooms(of sparkID: String) -> Set<String>
    /// The ids of the sparks (of this process) in `room`.
    func sparkIDs(in room: String) -> Set<String>

    /// Sends `value` (a Primus message value, an emitter packet for events) to `target` on every
    /// node, on `primus`'s behalf (``Primus/write(_:)`` and room writes come here).
    func broadcast(_ value: JSONValue, to target: PrimusRoomTarget, primus: Primus)

    /// A spark of this process opened (registered where the cluster can find it).
    func sparkOpened(_ sparkID: String)
    /// A spark of this process ended.
    func sparkClosed(_ sparkID: String)
    /// Writes `value` to spark `sparkID` held by another node; `false` when no node holds it.
    func write(_ value: JSONValue, toRemoteSpark sparkID: String) async -> Bool
    /// Ends spark `sparkID` held by another node; `false` when no node holds it.
    func end(remoteSpark sparkID: String, reconnect: Bool) async -> Bool

    /// The greatest sequence this node has delivered or assigned (`nil`: none yet, or recovery
    /// is off): what a newly connected recovering client starts from.
    var latestSequence: PrimusSequence? { get }
    /// The backlog after `sequence`, oldest first, at most `limit` entries: what a recovering
    /// client missed. Throws when the backlog cannot be read (then the client gets no replay).
    func backlog(after sequence: PrimusSequence, limit: Int) async throws -> [PrimusBacklogEntry]
}
