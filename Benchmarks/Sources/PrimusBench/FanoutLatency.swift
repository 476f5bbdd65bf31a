import NIOCore
import Synchronization

/// Delivery latency of a fan-out: the time from the publisher writing a broadcast to each
/// subscriber reading it, measured in the load generator's monotonic clock (publisher and
/// subscribers live in this one process, so there is no clock skew to correct).
///
/// Every subscriber keeps its own samples and hands them over once (when it has every message,
/// or when its connection closes), so the hot path takes no lock.
final class FanoutLatency: Sendable {
    /// Microseconds from publish to receipt, one sample per delivery.
    private let samples = Mutex<[UInt32]>([])

    /// Adds one subscriber's samples.
    func add(_ batch: [UInt32]) {
        guard !batch.isEmpty else { return }
        samples.withLock { $0.append(contentsOf: batch) }
    }

    /// The 50th and 99th percentiles in milliseconds (nearest rank), or nil without samples.
    func percentiles() -> (p50: Double, p99: Double, count: Int)? {
        var sorted = samples.withLock { $0 }
        guard !sorted.isEmpty else { return nil }
        sorted.sort()
        func rank(_ fraction: Double) -> Double {
            let index = min(sorted.count - 1, max(0, Int((fraction * Double(sorted.count)).rounded(.up)) - 1))
            return Double(sorted[index]) / 1000
        }
        return (rank(0.50), rank(0.99), sorted.count)
    }

    /// Now, in the clock the samples use (CLOCK_MONOTONIC, nanoseconds).
    static func now() -> UInt64 {
        NIODeadline.now().uptimeNanoseconds
    }
}

/// The timed broadcast of the cluster fan-out: `{"seq":<n>,"t":"<ns>"}`, the publish time as a
/// string so that it survives any number representation on the way (JSON doubles, MessagePack
/// through Redis) digit for digit.
enum TimedFanoutMessage {
    static func write(seq: Int, sentAt: UInt64, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("{\"seq\":")
        buffer.writeString(String(seq))
        buffer.writeStaticString(",\"t\":\"")
        buffer.writeString(String(sentAt))
        buffer.writeStaticString("\"}")
    }

    /// The sequence number and publish time of exactly that shape, or nil for anything else.
    static func parse(_ buffer: ByteBuffer) -> (seq: Int, sentAt: UInt64)? {
        buffer.withUnsafeReadableBytes { bytes -> (Int, UInt64)? in
            var index = 0
            func expect(_ text: StaticString) -> Bool {
                let count = text.utf8CodeUnitCount
                guard index + count <= bytes.count else { return false }
                for offset in 0..<count where bytes[index + offset] != text.utf8Start[offset] { return false }
                index += count
                return true
            }
            func number() -> UInt64? {
                var value: UInt64 = 0
                let start = index
                while index < bytes.count, bytes[index] >= 0x30, bytes[index] <= 0x39, index - start < 19 {
                    value = value * 10 + UInt64(bytes[index] - 0x30)
                    index += 1
                }
                return index > start ? value : nil
            }
            guard expect("{\"seq\":"), let seq = number(), expect(",\"t\":\""), let sentAt = number(), expect("\"}"),
                index == bytes.count
            else { return nil }
            return (Int(seq), sentAt)
        }
    }
}

/// Paces a fan-out by its slowest subscriber: the publisher sends `window` broadcasts, then one
/// more each time a broadcast has reached every subscriber, so at most `window` broadcasts are
/// anywhere between the publisher and the subscribers (servers, Redis, socket buffers). Paced by
/// the publisher's own copy instead, a fast node would let the publisher run ahead of the others
/// and the latency would measure how far behind they queue, not a broadcast's way through.
final class FanoutPacer: Sendable {
    /// Per broadcast, how many subscribers have it.
    private let counts: [DeliveryCount]
    private let subscribers: Int
    private let publisher = Mutex<(any Channel)?>(nil)

    private final class DeliveryCount: Sendable {
        let value = Atomic<Int>(0)
    }

    init(messages: Int, subscribers: Int) {
        self.counts = (0..<messages).map { _ in DeliveryCount() }
        self.subscribers = subscribers
    }

    /// The channel whose ``FanoutHandler`` publishes (it gets ``BroadcastDelivered``); nil at
    /// the end (the channel's handlers hold this pacer).
    func setPublisher(_ channel: (any Channel)?) {
        publisher.withLock { $0 = channel }
    }

    /// A subscriber got broadcast `seq` (in order, the first time): the last one to get it tells
    /// the publisher.
    func delivered(_ seq: Int) {
        guard counts.indices.contains(seq),
            counts[seq].value.wrappingAdd(1, ordering: .acquiringAndReleasing).newValue == subscribers,
            let channel = publisher.withLock({ $0 })
        else { return }
        channel.pipeline.fireUserInboundEventTriggered(BroadcastDelivered())
    }
}

/// Sent to the publisher when a broadcast has reached every subscriber (``FanoutPacer``).
struct BroadcastDelivered: Sendable {}
