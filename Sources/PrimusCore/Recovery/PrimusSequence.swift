/// The position of a broadcast in the cluster's backlog, which missed-message recovery counts by.
///
/// It has the shape of a Redis stream id, `"<ms>-<n>"` (a millisecond time and a counter within
/// that millisecond), because the Redis backlog assigns it; the in-memory backlog of a single node
/// makes the same shape so clients need one rule. Sequences order as the pair `(ms, n)`: a client
/// keeps the greatest it has seen and treats anything not greater as a duplicate.
public struct PrimusSequence: Sendable, Hashable, Comparable, CustomStringConvertible {
    /// Milliseconds since the epoch (Redis: the time the entry was added).
    public var milliseconds: UInt64
    /// The counter within that millisecond.
    public var counter: UInt64

    /// The sequence before every other, `0-0`.
    public static let zero = PrimusSequence(milliseconds: 0, counter: 0)

    /// A sequence from its parts.
    public init(milliseconds: UInt64, counter: UInt64) {
        self.milliseconds = milliseconds
        self.counter = counter
    }

    /// Parses `"<ms>-<n>"` (both unsigned decimal, at most 20 digits each); `nil` for anything else,
    /// so a client's claimed position is checked before it reaches a Redis command.
    public init?(_ text: some StringProtocol) {
        let utf8 = text.utf8
        guard let dash = utf8.firstIndex(of: UInt8(ascii: "-")),
              let milliseconds = Self.number(utf8[utf8.startIndex..<dash]),
              let counter = Self.number(utf8[utf8.index(after: dash)...])
        else { return nil }
        self.milliseconds = milliseconds
        self.counter = counter
    }

    /// `"<ms>-<n>"`.
    public var description: String { "\(milliseconds)-\(counter)" }

    /// The sequence right after this one (an exclusive start for a backlog read).
    public var next: PrimusSequence {
        counter == .max ? PrimusSequence(milliseconds: milliseconds &+ 1, counter: 0) : PrimusSequence(milliseconds: milliseconds, counter: counter + 1)
    }

    public static func < (lhs: PrimusSequence, rhs: PrimusSequence) -> Bool {
        (lhs.milliseconds, lhs.counter) < (rhs.milliseconds, rhs.counter)
    }

    private static func number(_ digits: some Collection<UInt8>) -> UInt64? {
        guard !digits.isEmpty, digits.count <= 20 else { return nil }
        var value: UInt64 = 0
        for byte in digits {
            guard byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") else { return nil }
            let (times10, overflow1) = value.multipliedReportingOverflow(by: 10)
            let (sum, overflow2) = times10.addingReportingOverflow(UInt64(byte - UInt8(ascii: "0")))
            guard !overflow1, !overflow2 else { return nil }
            value = sum
        }
        return value
    }
}
