public import NIOCore

/// One SockJS frame from server to client (protocol 0.3, section 3.2 of the protocol notes):
/// the whole vocabulary a SockJS server speaks on every transport. Transports differ only in how
/// a frame is wrapped (``SockJSFrameWrapping``).
public enum SockJSFrame: Sendable, Hashable {
    /// `o`: the session is open.
    case open
    /// `h`: a heartbeat, so proxies and the client know the session lives.
    case heartbeat
    /// `a[...]`: messages, each a string the application sent (a Primus message as its parser
    /// encoded it).
    case messages([String])
    /// `c[code,"reason"]`: the session is closed, with a WebSocket-style code.
    case close(code: Int, reason: String)

    /// The close frame of an application's ordinary close (a spark that ends), as sockjs-node's
    /// `conn.close()` sends it; clients do not take it for an error.
    public static let normalClosure = SockJSFrame.close(code: 1000, reason: "Normal closure")
    /// The close frame of the test contract's `/close` service (and of closes with a code of
    /// 3000 or more).
    public static let goAway = SockJSFrame.close(code: 3000, reason: "Go away!")
    /// The close frame a second receiving connection gets.
    public static let anotherConnectionOpen = SockJSFrame.close(code: 2010, reason: "Another connection still open")
    /// The close frame of a session whose receiving connection the network cut.
    public static let interrupted = SockJSFrame.close(code: 1002, reason: "Connection interrupted")

    /// The frame as the text a transport carries, escaped for browsers (``SockJSJSONEscaping``).
    public func encoded() -> String {
        var buffer = ByteBuffer()
        write(to: &buffer)
        return String(buffer: buffer)
    }

    /// Appends the frame's text to `buffer`.
    public func write(to buffer: inout ByteBuffer) {
        switch self {
        case .open:
            buffer.writeInteger(UInt8(ascii: "o"))
        case .heartbeat:
            buffer.writeInteger(UInt8(ascii: "h"))
        case .messages(let messages):
            buffer.writeStaticString("a[")
            for (index, message) in messages.enumerated() {
                if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
                SockJSJSONEscaping.writeString(message, to: &buffer)
            }
            buffer.writeInteger(UInt8(ascii: "]"))
        case .close(let code, let reason):
            buffer.writeStaticString("c[")
            buffer.writeString(String(code))
            buffer.writeInteger(UInt8(ascii: ","))
            SockJSJSONEscaping.writeString(reason, to: &buffer)
            buffer.writeInteger(UInt8(ascii: "]"))
        }
    }

    /// Parses a frame as a client receives it. Throws ``SockJSProtocolError/malformedFrame(_:)``
    /// for anything that is not one of the four frames.
    public init(parsing text: String) throws(SockJSProtocolError) {
        guard let first = text.utf8.first else { throw .malformedFrame(text) }
        let rest = String(text.dropFirst())
        switch first {
        case UInt8(ascii: "o") where rest.isEmpty:
            self = .open
        case UInt8(ascii: "h") where rest.isEmpty:
            self = .heartbeat
        case UInt8(ascii: "a"):
            guard case .array(let items)? = try? JSONReader.parse(rest) else { throw .malformedFrame(text) }
            var messages: [String] = []
            messages.reserveCapacity(items.count)
            for item in items {
                guard case .string(let message) = item else { throw .malformedFrame(text) }
                messages.append(message)
            }
            self = .messages(messages)
        case UInt8(ascii: "c"):
            guard case .array(let items)? = try? JSONReader.parse(rest), items.count == 2,
                case .number(let code) = items[0], case .string(let reason) = items[1],
                let integer = Int(exactly: code)
            else { throw .malformedFrame(text) }
            self = .close(code: integer, reason: reason)
        default:
            throw .malformedFrame(text)
        }
    }
}

extension SockJSFrame {
    /// The close frame of a session whose application sent binary data: SockJS frames carry
    /// text, so SockJS needs a text parser (`json`, `ejson`).
    public static let binaryRefused = SockJSFrame.close(code: 3003, reason: "SockJS carries text only: use a text parser")
}
