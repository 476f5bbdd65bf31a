import NIOCore

/// The server's outgoing arrays of one session, numbered from 0 and kept until the client
/// acknowledges them (`AID`, the last array id it received, on any request). A new back channel
/// gets every array not acknowledged yet, so nothing a dropped back channel carried is lost.
///
/// Appending and acknowledging cost no copy of the log (a ring buffer).
public struct BrowserChannelOutgoingLog: Sendable {
    private var arrays = CircularBuffer<BrowserChannelArray>()
    /// The id the next array gets.
    public private(set) var nextID = 0
    /// The id of the last array written to the current back channel, or `nil` before any.
    private var lastWrittenID: Int?
    /// The highest array id ever written, `-1` before any (a forward answer reports it).
    public private(set) var highestWrittenID = -1
    /// The UTF-16 length of the arrays not acknowledged (the outbound budget and the forward
    /// answer's outstanding bytes).
    public private(set) var bytes = 0

    /// An empty log.
    public init() {}

    /// How many arrays wait for an acknowledgement.
    public var count: Int { arrays.count }

    /// Queues `data` as the next array.
    @discardableResult
    public mutating func append(_ data: JSONValue) -> BrowserChannelArray {
        let array = BrowserChannelArray(id: nextID, data: data)
        nextID += 1
        arrays.append(array)
        bytes += array.length
        return array
    }

    /// The client received every array up to `aid`: they are forgotten. An `AID` beyond what was
    /// sent acknowledges only what was sent.
    public mutating func acknowledge(through aid: Int) {
        while let first = arrays.first, first.id <= aid, first.id <= highestWrittenID {
            bytes -= first.length
            arrays.removeFirst()
        }
    }

    /// A new back channel: every array not acknowledged is written again.
    public mutating func rewind() {
        lastWrittenID = nil
    }

    /// Whether arrays wait to be written to the back channel.
    public var hasUnwritten: Bool {
        guard let last = arrays.last else { return false }
        return lastWrittenID.map { last.id > $0 } ?? true
    }

    /// The arrays not yet written to the current back channel, now counted as written.
    public mutating func takeUnwritten() -> [BrowserChannelArray] {
        guard let first = arrays.first else { return [] }
        // Ids are consecutive: the first unwritten array's place follows from its id.
        let skip = max(0, lastWrittenID.map { $0 + 1 - first.id } ?? 0)
        guard skip < arrays.count else { return [] }
        let unwritten = Array(arrays[arrays.index(arrays.startIndex, offsetBy: skip)...])
        if let last = unwritten.last {
            lastWrittenID = last.id
            highestWrittenID = max(highestWrittenID, last.id)
        }
        return unwritten
    }
}
