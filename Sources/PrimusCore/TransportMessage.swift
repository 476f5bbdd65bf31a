public import NIOCore

/// One message as a transport carries it: a WebSocket text or binary frame, an Engine.IO message
/// packet, a SockJS array element. Parsers turn values into these and back.
///
/// Text messages hold UTF-8 in a `ByteBuffer` so that bytes flow from the socket to the parser
/// without being copied into a `String` first.
public enum TransportMessage: Sendable, Hashable {
    /// UTF-8 text (a WebSocket text frame).
    case text(ByteBuffer)
    /// Opaque bytes (a WebSocket binary frame), for binary parsers such as MessagePack.
    case binary(ByteBuffer)

    /// Text made from a Swift string.
    public static func text(_ string: String) -> TransportMessage {
        .text(ByteBuffer(string: string))
    }

    /// The payload, whichever kind it is.
    public var buffer: ByteBuffer {
        switch self {
        case .text(let buffer), .binary(let buffer): return buffer
        }
    }

    /// The payload decoded as UTF-8 (lossy for binary payloads).
    public var string: String {
        String(buffer: buffer)
    }

    /// Whether the payload is text.
    public var isText: Bool {
        if case .text = self { return true }
        return false
    }
}
