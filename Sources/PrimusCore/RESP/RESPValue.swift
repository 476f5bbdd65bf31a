public import NIOCore

/// One reply from a Redis server, in any RESP2 or RESP3 shape, so one type serves both protocol
/// versions and callers match on shape rather than on the wire version.
///
/// Bulk strings are slices of the read buffer: they share its storage, no bytes are copied.
/// RESP2's null bulk string (`$-1`) and null array (`*-1`) both read as ``null``; RESP3
/// attributes (`|`) are read and dropped, since nothing in this client uses them.
public enum RESPValue: Sendable, Hashable {
    /// `+OK`: a short status line.
    case simpleString(String)
    /// `-ERR ...`: an error reply (RESP2, and RESP3's simple error).
    case error(String)
    /// `:1`: a signed 64-bit integer.
    case integer(Int64)
    /// `$3\r\nfoo`: binary-safe bytes, a slice of the read buffer.
    case bulkString(ByteBuffer)
    /// `*N`: an ordered list of values.
    case array([RESPValue])
    /// `_`, and RESP2's `$-1` and `*-1`: no value.
    case null
    /// `,1.5`: a double, including `inf`, `-inf` and `nan`.
    case double(Double)
    /// `#t` / `#f`.
    case boolean(Bool)
    /// `!N`: an error with a binary-safe message.
    case blobError(String)
    /// `=N\r\ntxt:...`: text with a three-letter format (`txt`, `mkd`).
    case verbatimString(format: String, text: String)
    /// `(123...`: an integer too large for 64 bits, as its decimal text.
    case bigNumber(String)
    /// `%N`: key/value pairs. A dictionary, since callers look values up by key (a repeated key
    /// keeps its last value).
    case map([RESPValue: RESPValue])
    /// `~N`: an unordered collection, kept in wire order.
    case set([RESPValue])
    /// `>N`: an out-of-band message (pub/sub deliveries in RESP3), never a command's reply.
    case push([RESPValue])

    /// The value as text when it is textual (simple, bulk or verbatim string), so callers need
    /// not care which of them the server chose.
    public var string: String? {
        switch self {
        case .simpleString(let text): return text
        case .bulkString(let bytes): return String(buffer: bytes)
        case .verbatimString(_, let text): return text
        default: return nil
        }
    }

    /// The value as an integer when it is one, or a string holding one (RESP2 servers answer
    /// some numeric commands with bulk strings).
    public var int: Int64? {
        switch self {
        case .integer(let value): return value
        case .simpleString, .bulkString: return string.flatMap { Int64($0) }
        default: return nil
        }
    }

    /// The elements of an array, set or push, so callers handle RESP2 and RESP3 shapes alike.
    public var elements: [RESPValue]? {
        switch self {
        case .array(let values), .set(let values), .push(let values): return values
        default: return nil
        }
    }

    /// The message of an error or blob error reply, so callers need not match both.
    public var errorMessage: String? {
        switch self {
        case .error(let message), .blobError(let message): return message
        default: return nil
        }
    }
}
