/// A parsed URL query string, as Node's `querystring.parse` reads it: `+` is a space,
/// percent-escapes are decoded (malformed ones are kept literally), repeated keys keep every
/// value in order.
public struct QueryParameters: Sendable, Hashable, Sequence {
    /// Every `key=value` pair in the order it appeared.
    public private(set) var items: [(name: String, value: String)] = []

    /// Parses `query` (without the leading `?`).
    public init(_ query: Substring) {
        guard !query.isEmpty else { return }
        // Delimiters are found among code points, not Characters: Node splits on code units, so
        // a combining mark after `&` or `=` (one Character with it) must not hide the delimiter.
        for part in query.unicodeScalars.split(separator: "&", omittingEmptySubsequences: true) {
            if let equals = part.firstIndex(of: "=") {
                items.append((Self.unescape(Substring(part[..<equals])), Self.unescape(Substring(part[part.index(after: equals)...]))))
            } else {
                items.append((Self.unescape(Substring(part)), ""))
            }
        }
    }

    /// Parses the query component of a request target such as `/primus?foo=bar`.
    public init(requestURI uri: String) {
        // Code points again: `?` or `#` followed by a combining mark still delimits.
        let scalars = uri.unicodeScalars
        if let question = scalars.firstIndex(of: "?") {
            var query = scalars[scalars.index(after: question)...]
            if let hash = query.firstIndex(of: "#") { query = query[..<hash] }
            self.init(Substring(query))
        } else {
            self.init(Substring())
        }
    }

    /// The first value of `name`, or `nil`.
    public subscript(name: String) -> String? {
        items.first(where: { $0.name == name })?.value
    }

    /// Every value of `name`, in order.
    public func values(for name: String) -> [String] {
        items.filter { $0.name == name }.map(\.value)
    }

    /// Iterates the pairs in order.
    public func makeIterator() -> IndexingIterator<[(name: String, value: String)]> {
        items.makeIterator()
    }

    public static func == (lhs: QueryParameters, rhs: QueryParameters) -> Bool {
        lhs.items.elementsEqual(rhs.items, by: { $0.name == $1.name && $0.value == $1.value })
    }

    public func hash(into hasher: inout Hasher) {
        for item in items {
            hasher.combine(item.name)
            hasher.combine(item.value)
        }
    }

    /// Decodes `+` and `%XX` escapes; a malformed escape is kept as written.
    static func unescape(_ text: Substring) -> String {
        guard text.utf8.contains(where: { $0 == UInt8(ascii: "%") || $0 == UInt8(ascii: "+") }) else {
            return String(text)
        }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count)
        let utf8 = Array(text.utf8)
        var index = 0
        while index < utf8.count {
            let byte = utf8[index]
            if byte == UInt8(ascii: "+") {
                bytes.append(0x20)
                index += 1
            } else if byte == UInt8(ascii: "%"), index + 2 < utf8.count,
                let high = HexDigit.value(utf8[index + 1]), let low = HexDigit.value(utf8[index + 2])
            {
                bytes.append(high << 4 | low)
                index += 3
            } else {
                bytes.append(byte)
                index += 1
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
