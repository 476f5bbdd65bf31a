public import NIOCore

/// How each HTTP transport puts SockJS frames on the wire (protocol notes, section 3.3): what
/// opens the response, and what surrounds each frame.
public enum SockJSFrameWrapping: Sendable, Hashable {
    /// `xhr` and `xhr_streaming`: the frame, then `\n`.
    case lines
    /// `eventsource`: `data: <frame>\r\n\r\n`.
    case eventSource
    /// `htmlfile`: `<script>\np("<frame>");\n</script>\r\n`, the frame as a JavaScript string.
    case htmlFile
    /// `jsonp`: `/**/<callback>("<frame>");\r\n`.
    case jsonp(callback: SockJSCallbackName)

    /// The `xhr_streaming` prelude: 2048 `h` and a newline, so browsers that buffer the start of
    /// a response hand the stream to the page at once.
    public static let xhrStreamingPrelude: ByteBuffer = {
        var buffer = ByteBuffer()
        buffer.writeRepeatingByte(UInt8(ascii: "h"), count: 2048)
        buffer.writeInteger(UInt8(ascii: "\n"))
        return buffer
    }()

    /// The `eventsource` prelude.
    public static let eventSourcePrelude = ByteBuffer(string: "\r\n")

    /// Appends `frame`, wrapped, to `buffer`.
    public func write(_ frame: SockJSFrame, to buffer: inout ByteBuffer) {
        switch self {
        case .lines:
            frame.write(to: &buffer)
            buffer.writeInteger(UInt8(ascii: "\n"))
        case .eventSource:
            buffer.writeStaticString("data: ")
            frame.write(to: &buffer)
            buffer.writeStaticString("\r\n\r\n")
        case .htmlFile:
            buffer.writeStaticString("<script>\np(")
            // Inside a <script> element a message's `</script>` or `<!--` would end the script:
            // every `<` of the string literal goes as `\u003c`, which JavaScript reads back as `<`.
            var literal = ByteBuffer()
            SockJSJSONEscaping.writeString(frame.encoded(), to: &literal)
            for byte in literal.readableBytesView {
                if byte == UInt8(ascii: "<") {
                    buffer.writeStaticString("\\u003c")
                } else {
                    buffer.writeInteger(byte)
                }
            }
            buffer.writeStaticString(");\n</script>\r\n")
        case .jsonp(let callback):
            buffer.writeStaticString("/**/")
            buffer.writeString(callback.name)
            buffer.writeInteger(UInt8(ascii: "("))
            SockJSJSONEscaping.writeString(frame.encoded(), to: &buffer)
            buffer.writeStaticString(");\r\n")
        }
    }

    /// `frame`, wrapped.
    public func wrapped(_ frame: SockJSFrame) -> ByteBuffer {
        var buffer = ByteBuffer()
        write(frame, to: &buffer)
        return buffer
    }
}
