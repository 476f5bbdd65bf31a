import NIOCore

/// The packets a polling session holds for its client's next poll, and what they weigh.
///
/// A ring buffer (NIOCore's `CircularBuffer`), stored beside the session's state rather than in
/// an enum payload, so appending never copies it: append, taking a poll's batch from the front and
/// putting a control packet ahead of the backlog are all O(1) amortized, and a `POST` of 10,000
/// packets costs linear time.
///
/// It counts bytes for the outbound budget (``EngineIOSessionStateMachine/Configuration/maxBufferedBytes``):
/// it stops being writable once more than the budget waits, and is writable again at half of it,
/// the same hysteresis as a WebSocket channel's write-buffer watermarks.
struct EngineIOOutbox: Sendable {
    /// Starts as a copy of one shared empty buffer: a session that upgrades to a WebSocket, or
    /// idles, never allocates ring storage of its own (`CircularBuffer(initialCapacity: 16)`
    /// reserved 16 packets, about 550 bytes, per session).
    private var packets = Self.empty
    private static let empty = CircularBuffer<EngineIOPacket>(initialCapacity: 1)
    /// The bytes waiting: each packet's data plus its type digit.
    private(set) var bytes = 0
    /// Pongs waiting (at most one: a pong that waits answers every ping that arrives meanwhile).
    private(set) var pongs = 0
    /// `false` from the moment more than `budget` bytes wait until no more than half of it does.
    private(set) var isWritable = true
    /// The outbound budget in bytes.
    let budget: Int

    init(budget: Int) {
        self.budget = max(budget, 0)
    }

    var count: Int { packets.count }
    var isEmpty: Bool { packets.isEmpty }

    /// Queues `packet` behind the others.
    mutating func append(_ packet: EngineIOPacket) {
        packets.append(packet)
        added(packet)
    }

    /// Queues `packet` ahead of the others (a control packet jumping a backlog).
    mutating func prepend(_ packet: EngineIOPacket) {
        packets.prepend(packet)
        added(packet)
    }

    /// Takes up to `limit` packets from the front.
    mutating func take(upTo limit: Int) -> [EngineIOPacket] {
        let taken = Swift.min(limit, packets.count)
        var batch: [EngineIOPacket] = []
        batch.reserveCapacity(taken)
        for _ in 0..<taken {
            let packet = packets.removeFirst()
            removed(packet)
            batch.append(packet)
        }
        settle()
        return batch
    }

    /// Takes every packet.
    mutating func takeAll() -> [EngineIOPacket] {
        let all = Array(packets)
        removeAll()
        return all
    }

    /// Forgets every packet (the session ended or moved to a WebSocket).
    mutating func removeAll() {
        packets.removeAll(keepingCapacity: false)
        bytes = 0
        pongs = 0
        isWritable = true
    }

    /// What one packet weighs against the budget.
    static func size(of packet: EngineIOPacket) -> Int {
        packet.data.buffer.readableBytes + 1
    }

    private mutating func added(_ packet: EngineIOPacket) {
        bytes += Self.size(of: packet)
        if packet.type == .pong { pongs += 1 }
        if bytes > budget { isWritable = false }
    }

    private mutating func removed(_ packet: EngineIOPacket) {
        bytes -= Self.size(of: packet)
        if packet.type == .pong { pongs -= 1 }
    }

    private mutating func settle() {
        if !isWritable, bytes <= budget / 2 { isWritable = true }
    }
}
