/// The `primus::` control messages that share the data channel with user messages.
///
/// Primus 8 sends them through the parser like any data, so with JSON they travel as quoted
/// strings. Parsing follows Primus exactly: a string starting `primus::`, the type up to the next
/// `:`, the value after the `::` that follows. Types a side does not handle are not protocol
/// messages there and reach the application as data.
public enum PrimusProtocolMessage: Hashable, Sendable {
    /// Server → client heartbeat, carrying the server's clock in ms since the epoch.
    case ping(String)
    /// Client → server answer to a ping, echoing its value.
    case pong(String)
    /// Server → client: the server ends this connection deliberately; do not reconnect.
    case serverClose
    /// Client → server: "what is my spark id?" (empty value); server → client: the answer.
    case id(String)

    /// The prefix shared by every protocol message.
    public static let prefix = "primus::"

    /// The wire string of this message (before the parser encodes it).
    public var text: String {
        switch self {
        case .ping(let value): return "primus::ping::\(value)"
        case .pong(let value): return "primus::pong::\(value)"
        case .serverClose: return "primus::server::close"
        case .id(let value): return "primus::id::\(value)"
        }
    }

    /// The message as the JSON value the parser encodes.
    public var value: JSONValue { .string(text) }

    /// Splits a decoded message into Primus's `type` and `value`, or `nil` when it is not shaped
    /// like a protocol message.
    public static func split(_ message: JSONValue) -> (type: Substring, value: Substring)? {
        guard case .string(let string) = message, string.hasPrefix(prefix) else { return nil }
        let afterPrefix = string.index(string.startIndex, offsetBy: prefix.count)
        guard let colon = string[afterPrefix...].firstIndex(of: ":") else { return nil }
        let type = string[afterPrefix..<colon]
        // The value starts two characters after the colon (after "::").
        let valueStart = string.index(colon, offsetBy: 2, limitedBy: string.endIndex) ?? string.endIndex
        return (type, string[valueStart...])
    }

    /// The message as the server understands it: `pong` and `id`; anything else is data.
    public static func parseOnServer(_ message: JSONValue) -> PrimusProtocolMessage? {
        guard let (type, value) = split(message) else { return nil }
        switch type {
        case "pong": return .pong(String(value))
        case "id": return .id(String(value))
        default: return nil
        }
    }

    /// The message as a client understands it: `ping`, `server` and `id`; anything else is data.
    /// A `primus::server::<other>` is swallowed by Primus clients, reported here as `nil` type.
    public static func parseOnClient(_ message: JSONValue) -> ClientSide? {
        guard let (type, value) = split(message) else { return nil }
        switch type {
        case "ping": return .message(.ping(String(value)))
        case "id": return .message(.id(String(value)))
        case "server": return value == "close" ? .message(.serverClose) : .ignored
        default: return nil
        }
    }

    /// What a client does with a protocol-shaped message.
    public enum ClientSide: Hashable, Sendable {
        /// A protocol message to act on.
        case message(PrimusProtocolMessage)
        /// A `primus::server::` message with an unknown value: swallowed, as Primus does.
        case ignored
    }
}
