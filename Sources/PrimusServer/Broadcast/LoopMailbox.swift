import NIOConcurrencyHelpers
import NIOCore
import PrimusCore

/// The sparks of one event loop, and what other threads hand that loop for them: broadcasts,
/// writes to one spark, and other work, in one first-in first-out queue.
///
/// A broadcast from another thread costs one lock and one append per loop, not one closure per
/// spark; the loop drains whatever queued meanwhile in one task, delivers consecutive broadcasts
/// to each spark as one batch (encoded once, the wire form built once per loop, one flush per
/// spark), and runs the rest in order. Because writes to a single spark from other threads take
/// the same queue, a thread that writes to a spark and then broadcasts is delivered in that order.
///
/// Broadcasts made on the loop's own thread (from a spark's message handler, typically) are
/// collected too and delivered by one task after the current read: everything broadcast from one
/// turn of the loop goes out as one batch, one flush per spark. Program order still holds on the
/// loop: anything that writes to one of its sparks directly (a write, an awaited send, an end)
/// first delivers the broadcasts collected before it (``deliverCollected()``).
///
/// The queue is not bounded: like NIO's own task queue, it holds what the application asked
/// for, and each spark's outbound budget (``PrimusLimits/maxBufferedBytes``) bounds what
/// queues for its client once drained. It drains on the loop's next turn.
final class LoopMailbox: Sendable {
    let eventLoop: any EventLoop
    private let parser: any PrimusParser
    private let members: NIOLoopBound<Members>
    private let queue = NIOLockedValueBox(Queue())

    enum Item: Sendable {
        /// A broadcast: the parser's bytes, and the value when the caller had it (sparks with
        /// outgoing transforms need a value).
        case broadcast(TransportMessage, JSONValue?, SequencedMessage?)
        /// A write to one spark.
        case send(Spark, TransportMessage)
        /// Anything else for a spark of this loop (ending it, adding a handler).
        case run(@Sendable () -> Void)
    }

    private struct Queue {
        var items: [Item] = []
        var drainScheduled = false
    }

    /// Loop-confined: the sparks a broadcast reaches, and the broadcasts made on the loop that
    /// wait for the end of its current turn.
    final class Members {
        var sparks: [Spark] = []
        var collected: BroadcastBatch?
    }

    init(eventLoop: any EventLoop, parser: any PrimusParser) {
        self.eventLoop = eventLoop
        self.parser = parser
        self.members = NIOLoopBound(Members(), eventLoop: eventLoop)
    }

    // MARK: Members (on the loop)

    /// Adds a spark that broadcasts reach; on the loop.
    func add(_ spark: Spark) {
        let members = self.members.value
        spark.state.value.broadcastSlot = members.sparks.count
        members.sparks.append(spark)
    }

    /// Removes an ended spark, in constant time; on the loop.
    func remove(_ spark: Spark) {
        let members = self.members.value
        let slot = spark.state.value.broadcastSlot
        guard slot >= 0, slot < members.sparks.count, members.sparks[slot] === spark else { return }
        spark.state.value.broadcastSlot = -1
        let last = members.sparks.removeLast()
        guard last !== spark else { return }
        members.sparks[slot] = last
        last.state.value.broadcastSlot = slot
    }

    /// Runs `body` on the loop for each spark of this loop, from any thread (the heartbeat's
    /// tick: one hand-over per loop, not one closure per spark).
    func forEachMember(_ body: @escaping @Sendable (Spark) -> Void) {
        let visit: @Sendable () -> Void = {
            // A copy: a spark that ends in `body` leaves the members.
            for spark in self.members.value.sparks { body(spark) }
        }
        if eventLoop.inEventLoop { visit() } else { enqueue(.run(visit)) }
    }

    /// The number of sparks broadcasts reach on this loop (tests); on the loop.
    var memberCount: Int { members.value.sparks.count }

    // MARK: Handing work to the loop

    /// Queues `item` for the loop, from another thread; the first item since the last drain
    /// schedules the next one.
    func enqueue(_ item: Item) {
        let schedule = queue.withLockedValue { queue in
            queue.items.append(item)
            guard !queue.drainScheduled else { return false }
            queue.drainScheduled = true
            return true
        }
        if schedule { eventLoop.execute { self.drain() } }
    }

    /// A broadcast made on the loop: collected, and delivered with the others of this turn by one
    /// task (or earlier, by ``deliverCollected()``); on the loop.
    func broadcastOnLoop(_ message: TransportMessage, value: JSONValue?, sequenced: SequencedMessage?) {
        let members = self.members.value
        if members.collected == nil {
            members.collected = BroadcastBatch(parser: parser)
            eventLoop.execute { self.deliverCollected() }
        }
        members.collected!.append(message, value: value, sequenced: sequenced)
    }

    /// Delivers the broadcasts collected on the loop, if any; on the loop. A spark calls it before
    /// it writes anything of its own, so a handler that broadcasts and then writes to a spark
    /// reaches that spark in that order.
    @inline(__always)
    func deliverCollected() {
        let members = self.members.value
        guard let batch = members.collected else { return }
        members.collected = nil
        deliver(batch)
    }

    private func drain() {
        let items = queue.withLockedValue { queue in
            queue.drainScheduled = false
            defer { queue.items.removeAll(keepingCapacity: true) }
            return queue.items
        }
        var index = items.startIndex
        while index < items.endIndex {
            switch items[index] {
            case .broadcast:
                // Consecutive broadcasts travel together: each spark writes them all, then flushes once.
                var batch = BroadcastBatch(parser: parser)
                while index < items.endIndex, case .broadcast(let message, let value, let sequenced) = items[index] {
                    batch.append(message, value: value, sequenced: sequenced)
                    index += 1
                }
                deliver(batch)
                continue
            case .send(let spark, let message):
                spark.sendOnLoop(message)
            case .run(let body):
                body()
            }
            index += 1
        }
    }

    private func deliver(_ batch: BroadcastBatch) {
        // A copy of the list: a spark that ends while being written to leaves the members.
        let sparks = members.value.sparks
        for spark in sparks { spark.deliver(batch) }
    }
}

/// Broadcasts delivered together to the sparks of one loop. Loop-confined.
struct BroadcastBatch {
    private(set) var messages: [SharedTransportMessage] = []
    private var values: [JSONValue?] = []
    /// Per message, its sequence and envelope for sparks that recover missed messages (`nil`:
    /// not sequenced); the envelope is shared by those sparks like the plain message.
    private(set) var sequenced: [(sequence: PrimusSequence, envelope: SharedTransportMessage)?] = []
    let parser: any PrimusParser

    init(parser: any PrimusParser) {
        self.parser = parser
    }

    init(messages: [SharedTransportMessage], values: [JSONValue?], parser: any PrimusParser) {
        self.messages = messages
        self.values = values
        self.sequenced = Array(repeating: nil, count: messages.count)
        self.parser = parser
    }

    mutating func append(_ message: TransportMessage, value: JSONValue?, sequenced: SequencedMessage? = nil) {
        messages.append(SharedTransportMessage(message))
        values.append(value)
        self.sequenced.append(sequenced.map { ($0.sequence, SharedTransportMessage($0.envelope)) })
    }

    /// The value of message `index`, for a spark with outgoing transforms: as broadcast, or
    /// decoded from the bytes (an `Encodable` broadcast); `nil` if it cannot be decoded.
    func value(at index: Int, for spark: Spark) -> JSONValue? {
        if let value = values[index] { return value }
        return try? parser.decode(messages[index].message, for: spark)
    }
}

/// A broadcast's place in the recovery sequence and the envelope
/// (``RecoveryEnvelope/wrap(_:sequence:)``) that recovering sparks get instead of the plain
/// message, encoded once per broadcast.
struct SequencedMessage: Sendable {
    let sequence: PrimusSequence
    let envelope: TransportMessage
}
