import NIOConcurrencyHelpers
public import PrimusCore

/// The adapter of a server that runs alone (the default): rooms in two maps under a lock, touched
/// on join, leave and room writes, never per message of a spark; writes delivered by
/// ``Primus/deliverLocally(_:to:sequence:)``; and, when ``PrimusConfiguration/recovery`` is on,
/// the recent broadcasts in a bounded in-memory backlog. Empty rooms are forgotten, so membership
/// costs memory only while sparks are in rooms.
public final class PrimusLocalAdapter: PrimusClusterAdapter {
    private struct State {
        var members: [String: Set<String>] = [:]
        var roomsOfSpark: [String: Set<String>] = [:]
        var backlog = InMemoryBacklog()
    }

    private let state = NIOLockedValueBox(State())
    private let recovery = NIOLockedValueBox<PrimusRecovery?>(nil)

    /// An empty adapter.
    public init() {}

    public func attach(to primus: Primus) {
        recovery.withLockedValue { $0 = primus.configuration.recovery }
    }

    public func shutdown() async {}

    // MARK: Rooms

    public func join(_ sparkID: String, room: String) {
        state.withLockedValue { state in
            state.members[room, default: []].insert(sparkID)
            state.roomsOfSpark[sparkID, default: []].insert(room)
        }
    }

    public func leave(_ sparkID: String, room: String) {
        state.withLockedValue { state in
            Self.remove(sparkID, from: room, in: &state)
            if state.roomsOfSpark[sparkID]?.remove(room) != nil, state.roomsOfSpark[sparkID]?.isEmpty == true {
                state.roomsOfSpark[sparkID] = nil
            }
        }
    }

    public func leaveAll(_ sparkID: String) {
        state.withLockedValue { state in
            guard let rooms = state.roomsOfSpark.removeValue(forKey: sparkID) else { return }
            for room in rooms { Self.remove(sparkID, from: room, in: &state) }
        }
    }

    public func rooms(of sparkID: String) -> Set<String> {
        state.withLockedValue { $0.roomsOfSpark[sparkID] ?? [] }
    }

    public func sparkIDs(in room: String) -> Set<String> {
        state.withLockedValue { $0.members[room] ?? [] }
    }

    // MARK: Writes

    public func broadcast(_ value: JSONValue, to target: PrimusRoomTarget, primus: Primus) {
        guard let recovery = recovery.withLockedValue({ $0 }) else {
            return primus.deliverLocally(value, to: target, sequence: nil)
        }
        let now = UInt64(max(0, Primus.millisecondsSinceEpoch()))
        let sequence = state.withLockedValue { state in
            state.backlog.append(value, to: target, now: now, recovery: recovery)
        }
        primus.deliverLocally(value, to: target, sequence: sequence)
    }

    // MARK: Sparks (one process: every spark is local)

    public func sparkOpened(_ sparkID: String) {}
    public func sparkClosed(_ sparkID: String) {}
    public func write(_ value: JSONValue, toRemoteSpark sparkID: String) async -> Bool { false }
    public func end(remoteSpark sparkID: String, reconnect: Bool) async -> Bool { false }

    // MARK: Recovery

    public var latestSequence: PrimusSequence? {
        state.withLockedValue { $0.backlog.latest }
    }

    public func backlog(after sequence: PrimusSequence, limit: Int) async throws -> [PrimusBacklogEntry] {
        state.withLockedValue { $0.backlog.entries(after: sequence, limit: limit) }
    }

    private static func remove(_ sparkID: String, from room: String, in state: inout State) {
        guard state.members[room]?.remove(sparkID) != nil else { return }
        if state.members[room]?.isEmpty == true { state.members[room] = nil }
    }
}

/// The recent broadcasts of one process, oldest first, trimmed to the recovery window on every
/// append; sequences are `<ms>-<n>` like Redis stream ids, so clients need one rule.
struct InMemoryBacklog {
    private(set) var entries: [PrimusBacklogEntry] = []
    private var start = 0
    private(set) var latest: PrimusSequence?

    /// Keeps `value`, returning its sequence.
    mutating func append(_ value: JSONValue, to target: PrimusRoomTarget, now: UInt64, recovery: PrimusRecovery) -> PrimusSequence {
        let sequence: PrimusSequence
        if let latest, latest.milliseconds >= now {
            sequence = latest.next
        } else {
            sequence = PrimusSequence(milliseconds: now, counter: 0)
        }
        latest = sequence
        entries.append(PrimusBacklogEntry(sequence: sequence, value: value, target: target))
        let oldest = now >= recovery.maxAgeMilliseconds ? now - recovery.maxAgeMilliseconds : 0
        while entries.count - start > recovery.maxMessages || (start < entries.count && entries[start].sequence.milliseconds < oldest) {
            start += 1
        }
        // Compact once the dropped prefix outweighs what is kept: appends stay amortised O(1).
        if start > 64, start * 2 > entries.count {
            entries.removeFirst(start)
            start = 0
        }
        return sequence
    }

    /// The entries after `sequence`, at most `limit`.
    func entries(after sequence: PrimusSequence, limit: Int) -> [PrimusBacklogEntry] {
        var low = start
        var high = entries.count
        while low < high {
            let middle = (low + high) / 2
            if entries[middle].sequence <= sequence { low = middle + 1 } else { high = middle }
        }
        return Array(entries[low..<min(entries.count, low + max(0, limit))])
    }
}
