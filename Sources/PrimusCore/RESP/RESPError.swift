/// Why a Redis reply could not be read: the connection that produced it cannot be trusted any more
/// (the next reply would start at an unknown byte), so the caller closes it and reconnects.
public struct RESPError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The class of fault, so callers and tests can react without parsing the message.
    public enum Kind: Sendable, Hashable {
        /// The first byte of a value is not a RESP2 or RESP3 type.
        case unknownType
        /// A length or count is not a number, is negative where that is not allowed, or the
        /// bytes after a bulk value are not CRLF.
        case badLength
        /// A header line has a CR that is not followed by LF, or no CRLF within the line limit.
        case badLine
        /// An integer, double, boolean, big number or null line does not hold what its type needs.
        case badValue
        /// A length, count, line or nesting depth passes the decoder's limits.
        case limitExceeded
    }

    /// The class of fault.
    public let kind: Kind
    /// A readable explanation, for logs and for `RedisError.protocolError`.
    public let message: String

    /// Creates an error; the decoder is the only producer outside tests.
    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    /// The message, so logs read naturally.
    public var description: String { "RESP: \(message)" }
}
