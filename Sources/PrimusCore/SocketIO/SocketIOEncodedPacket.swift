public import NIOCore

/// A packet as it goes out: the text part, then each attachment as its own Engine.IO binary
/// message, in order (WebSocket binary frames, or `b<base64>` records when polling).
public struct SocketIOEncodedPacket: Sendable, Hashable {
    /// `<type>[<n>-][<nsp>,][<id>][<json>]`, with `{"_placeholder":true,"num":i}` for bytes.
    public var text: ByteBuffer
    /// The bytes the placeholders stand for, attachment `i` at index `i`.
    public var attachments: [ByteBuffer]

    /// Creates an encoded packet.
    public init(text: ByteBuffer, attachments: [ByteBuffer] = []) {
        self.text = text
        self.attachments = attachments
    }

    /// The Engine.IO message payloads to send, text first; the peer needs them in this order.
    public var messages: [TransportMessage] {
        [.text(text)] + attachments.map { .binary($0) }
    }
}
