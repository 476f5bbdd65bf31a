import NIOConcurrencyHelpers
public import PrimusCore

/// Rooms of one process (the default adapter): membership in two maps under a lock, touched on
/// join, leave and room writes, never per message of a spark; writes delivered by
/// ``Primus/deliverLocally(_:to:)``. Empty rooms are forgotten, so membership costs memory only
/// while sparks are in rooms.
public final class PrimusLocalRoomsAdapter: PrimusRoomsAdapter {
    private struct Membership {
        var members: [String: Set<String>] = [:]
        var roomsOfSpark: [String: Set<String>] = [:]
    }

    private let membership = NIOLockedValueBox(Membership())

    /// An empty adapter.
    public init() {}

    public func join(_ sparkID: String, room: String) {
        membership.withLockedValue { state in
            state.members[room, default: []].insert(sparkID)
            state.roomsOfSpark[sparkID, default: []].insert(room)
        }
    }

    public func leave(_ sparkID: String, room: String) {
        membership.withLockedValue { state in
            Self.remove(sparkID, from: room, in: &state)
            if state.roomsOfSpark[sparkID]?.remove(room) != nil, state.roomsOfSpark[sparkID]?.isEmpty == true {
                state.roomsOfSpark[sparkID] = nil
            }
        }
    }

    public func leaveAll(_ sparkID: String) {
        membership.withLockedValue { state in
            guard let rooms = state.roomsOfSpark.removeValue(forKey: sparkID) else { return }
            for room in rooms { Self.remove(sparkID, from: room, in: &state) }
        }
    }

    public func rooms(of sparkID: String) -> Set<String> {
        membership.withLockedValue { $0.roomsOfSpark[sparkID] ?? [] }
    }

    public func sparkIDs(in room: String) -> Set<String> {
        membership.withLockedValue { $0.members[room] ?? [] }
    }

    public func broadcast(_ value: JSONValue, to target: PrimusRoomTarget, primus: Primus) {
        primus.deliverLocally(value, to: target)
    }

    private static func remove(_ sparkID: String, from room: String, in state: inout Membership) {
        guard state.members[room]?.remove(sparkID) != nil else { return }
        if state.members[room]?.isEmpty == true { state.members[room] = nil }
    }
}
