/// Puts the client's forward-channel requests back in order.
///
/// Requests carry a request id (`RID`, one more per request) and their maps an offset (`ofs`,
/// counting maps across the session). A client retries a request whose answer it did not get,
/// and requests on different connections may overtake one another, so:
/// - a request ahead of the next expected `RID` waits for the ones before it (bounded: a gap of
///   more than ``maxHeldRequests``, or more than ``maxHeldBytes`` held, is
///   ``BrowserChannelError/badData``);
/// - a request behind it is a retry: only maps not delivered yet are taken;
/// - maps are delivered strictly by offset, each once.
public struct BrowserChannelForwardOrdering: Sendable {
    /// The `RID` the next request in order carries.
    public private(set) var nextRID: Int
    /// The offset of the next map to deliver.
    public private(set) var nextOffset = 0
    private var heldRequests: [Int: BrowserChannelForwardData] = [:]
    private var heldMaps: [Int: String] = [:]
    private var heldBytes = 0

    /// The most requests held for an earlier one.
    public let maxHeldRequests: Int
    /// The most message bytes held out of order.
    public let maxHeldBytes: Int

    /// Ordering that expects `nextRID` next (the session's first request's `RID` plus one).
    public init(nextRID: Int, maxHeldRequests: Int = 32, maxHeldBytes: Int) {
        self.nextRID = nextRID
        self.maxHeldRequests = maxHeldRequests
        self.maxHeldBytes = maxHeldBytes
    }

    /// A forward request arrived: returns the messages now deliverable, in order.
    public mutating func received(rid: Int, data: BrowserChannelForwardData) throws(BrowserChannelError) -> [String] {
        // Maps too far ahead of what was delivered cannot be a client's honest reordering.
        guard data.offset - nextOffset <= BrowserChannelForwardData.maxMaps * maxHeldRequests else { throw .badData }
        if rid > nextRID {
            guard rid - nextRID <= maxHeldRequests else { throw .badData }
            guard heldRequests[rid] == nil else { return [] }  // a retry of a held request
            let size = data.messages.reduce(0) { $0 + $1.utf8.count }
            guard heldBytes + size <= maxHeldBytes else { throw .badData }
            heldBytes += size
            heldRequests[rid] = data
            return []
        }
        var delivered: [String] = []
        try take(data, into: &delivered)
        if rid == nextRID {
            nextRID += 1
            while let held = heldRequests.removeValue(forKey: nextRID) {
                heldBytes -= held.messages.reduce(0) { $0 + $1.utf8.count }
                try take(held, into: &delivered)
                nextRID += 1
            }
        }
        return delivered
    }

    private mutating func take(_ data: BrowserChannelForwardData, into delivered: inout [String]) throws(BrowserChannelError) {
        for (index, message) in data.messages.enumerated() {
            let offset = data.offset + index
            if offset < nextOffset { continue }  // delivered already: a retry
            if offset > nextOffset {
                guard heldMaps[offset] == nil else { continue }
                guard heldBytes + message.utf8.count <= maxHeldBytes else { throw .badData }
                heldBytes += message.utf8.count
                heldMaps[offset] = message
                continue
            }
            delivered.append(message)
            nextOffset += 1
            while let next = heldMaps.removeValue(forKey: nextOffset) {
                heldBytes -= next.utf8.count
                delivered.append(next)
                nextOffset += 1
            }
        }
    }
}
