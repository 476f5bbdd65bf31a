public import NIOCore
public import NIOWebSocket

/// A whole server-to-client WebSocket frame (RFC 6455 section 5.2) as one buffer: header and
/// payload together, unmasked, as a server sends. A broadcast builds it once per event loop and
/// hands the same bytes to every connection of that loop, where NIO's frame encoder would build
/// a header for each connection and write it as a second piece.
public enum WebSocketServerFrame {
    /// The header's length for a payload of `length` bytes: 2, 4 or 10.
    public static func headerLength(payload length: Int) -> Int {
        length < 126 ? 2 : length <= Int(UInt16.max) ? 4 : 10
    }

    /// One final frame of `opcode` carrying `payload`; `rsv1` marks a compressed message.
    public static func encode(opcode: WebSocketOpcode, rsv1: Bool = false, payload: ByteBuffer, allocator: ByteBufferAllocator) -> ByteBuffer {
        let length = payload.readableBytes
        var frame = allocator.buffer(capacity: headerLength(payload: length) + length)
        frame.writeInteger(0x80 | (rsv1 ? 0x40 : 0) | UInt8(webSocketOpcode: opcode))
        switch length {
        case ..<126:
            frame.writeInteger(UInt8(length))
        case ...Int(UInt16.max):
            frame.writeInteger(UInt8(126))
            frame.writeInteger(UInt16(length))
        default:
            frame.writeInteger(UInt8(127))
            frame.writeInteger(UInt64(length))
        }
        frame.writeImmutableBuffer(payload)
        return frame
    }
}
