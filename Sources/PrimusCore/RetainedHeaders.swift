/// Which handshake headers a long-lived connection keeps, as a pure function of the headers and a
/// byte budget (`PrimusLimits.maxRetainedHeaderBytes` on the server).
///
/// A spark lives for hours; keeping every header of its handshake would let one client park
/// hundreds of kilobytes per connection. The headers applications read (``isPriority(_:)``) are
/// kept first, then the others in their order while room remains; the kept headers keep their
/// original order, so repeated headers read the same. A header that does not fit is skipped whole,
/// never truncated.
package enum RetainedHeaders {
    /// What one header costs against the budget: its name and value in bytes, plus 4 for the
    /// `": "` and CRLF around them (the same count as the HTTP layer's `maxHeaderBytes`).
    package static func cost(name: String, value: String) -> Int {
        name.utf8.count + value.utf8.count + 4
    }

    /// Whether an application commonly reads the header named `name` (any case): cookie,
    /// authorization, user-agent, origin, host, referer, accept-language, `x-forwarded-*`,
    /// forwarded, x-real-ip and `sec-websocket-*`.
    package static func isPriority(_ name: String) -> Bool {
        let name = name.lowercased()
        switch name {
        case "cookie", "authorization", "user-agent", "origin", "host", "referer", "accept-language",
            "forwarded", "x-real-ip":
            return true
        default:
            return name.hasPrefix("x-forwarded-") || name.hasPrefix("sec-websocket-")
        }
    }

    /// The positions (offsets from the start) of the headers to keep, ascending, whose costs add up to at most `budget`;
    /// `nil` when every header fits (keep them all, no copy needed).
    package static func select<Headers: Collection>(
        _ headers: Headers,
        budget: Int
    ) -> [Int]? where Headers.Element == (name: String, value: String) {
        var total = 0
        for header in headers { total += cost(name: header.name, value: header.value) }
        guard total > budget else { return nil }

        var keep = [Bool](repeating: false, count: headers.count)
        var room = max(budget, 0)
        for priorityPass in [true, false] {
            for (index, header) in headers.enumerated() where !keep[index] && isPriority(header.name) == priorityPass {
                let size = cost(name: header.name, value: header.value)
                guard size <= room else { continue }
                keep[index] = true
                room -= size
            }
        }
        return keep.indices.filter { keep[$0] }
    }
}
