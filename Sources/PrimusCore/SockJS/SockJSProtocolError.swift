/// What can be wrong with SockJS input, with the answer the protocol gives it.
public enum SockJSProtocolError: Error, Sendable, Hashable, CustomStringConvertible {
    /// A client sent an empty body where messages were expected (`500 Payload expected.`).
    case payloadExpected
    /// A client's body is not a JSON array of strings (`500 Broken JSON encoding.`).
    case brokenJSON
    /// A server frame a client could not read.
    case malformedFrame(String)

    public var description: String {
        switch self {
        case .payloadExpected: return "Payload expected."
        case .brokenJSON: return "Broken JSON encoding."
        case .malformedFrame(let text): return "malformed SockJS frame: \(text.prefix(64))"
        }
    }
}
