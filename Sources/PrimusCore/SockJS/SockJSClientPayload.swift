public import NIOCore

/// What a SockJS client sends: a JSON array of strings (`["a","b"]`) on every transport, or a
/// bare JSON string on WebSocket. Empty arrays and empty WebSocket messages carry nothing.
public enum SockJSClientPayload {
    /// The messages of an HTTP body (`xhr_send`, `jsonp_send`). An empty body is
    /// ``SockJSProtocolError/payloadExpected``; anything but an array of strings is
    /// ``SockJSProtocolError/brokenJSON``.
    public static func decodeBody(_ body: ByteBuffer) throws(SockJSProtocolError) -> [String] {
        guard body.readableBytes > 0 else { throw .payloadExpected }
        return try decode(body, allowBareString: false)
    }

    /// The messages of one WebSocket text message: an array of strings or one bare string; an
    /// empty message is none.
    public static func decodeWebSocketMessage(_ message: ByteBuffer) throws(SockJSProtocolError) -> [String] {
        guard message.readableBytes > 0 else { return [] }
        return try decode(message, allowBareString: true)
    }

    /// A client's messages as the text it sends (`["a","b"]`), escaped as SockJS escapes.
    public static func encode(_ messages: [String]) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.writeInteger(UInt8(ascii: "["))
        for (index, message) in messages.enumerated() {
            if index > 0 { buffer.writeInteger(UInt8(ascii: ",")) }
            SockJSJSONEscaping.writeString(message, to: &buffer)
        }
        buffer.writeInteger(UInt8(ascii: "]"))
        return buffer
    }

    private static func decode(_ bytes: ByteBuffer, allowBareString: Bool) throws(SockJSProtocolError) -> [String] {
        let value: JSONValue
        do {
            value = try bytes.withUnsafeReadableBytes { raw throws(JSONReader.Failure) in try JSONReader.parse(raw) }
        } catch {
            throw .brokenJSON
        }
        switch value {
        case .string(let message) where allowBareString:
            return [message]
        case .array(let items):
            var messages: [String] = []
            messages.reserveCapacity(items.count)
            for item in items {
                guard case .string(let message) = item else { throw .brokenJSON }
                messages.append(message)
            }
            return messages
        default:
            throw .brokenJSON
        }
    }
}
