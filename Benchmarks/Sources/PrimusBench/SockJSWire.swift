import NIOCore

/// The load generator's side of SockJS framing (protocol notes, section 3): what a client sends
/// (a JSON array of strings, each string one Primus message as the parser's text) and how it
/// reads the server's `a[...]` frames. Written here rather than borrowed from PrimusCore, so the
/// benchmark checks the server's framing instead of agreeing with it by construction.
enum SockJSWire {
    /// Writes the benchmark's message as one JSON string: `"{\"seq\":N,\"payload\":\"hello\"}"`.
    static func writeEscapedMessage(seq: Int, into buffer: inout ByteBuffer) {
        buffer.writeStaticString("\"{\\\"seq\\\":")
        buffer.writeString(String(seq))
        buffer.writeStaticString(",\\\"payload\\\":\\\"hello\\\"}\"")
    }

    /// Writes a whole client payload carrying the benchmark's message: `["{\"seq\":N,...}"]`.
    static func writeMessageArray(seq: Int, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "["))
        writeEscapedMessage(seq: seq, into: &buffer)
        buffer.writeInteger(UInt8(ascii: "]"))
    }

    /// Writes `text` (UTF-8) as a JSON string: quotes, backslashes and controls escaped.
    static func writeString(_ text: ByteBuffer, into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\""))
        for byte in text.readableBytesView {
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                buffer.writeInteger(UInt8(ascii: "\\"))
                buffer.writeInteger(byte)
            case 0x00..<0x20:
                buffer.writeStaticString("\\u00")
                buffer.writeInteger(hexDigit(byte >> 4))
                buffer.writeInteger(hexDigit(byte & 0x0F))
            default:
                buffer.writeInteger(byte)
            }
        }
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// Calls `body` with each message of an `a["m1","m2",...]` frame, unescaped (into `scratch`,
    /// reused between messages). Returns `false` when the frame is not such an array of strings.
    static func forEachMessage(in frame: ByteBuffer, scratch: inout ByteBuffer, _ body: (ByteBuffer) -> Void) -> Bool {
        frame.withUnsafeReadableBytes { bytes -> Bool in
            let count = bytes.count
            guard count >= 3, bytes[0] == UInt8(ascii: "a"), bytes[1] == UInt8(ascii: "[") else { return false }
            var index = 2
            if bytes[index] == UInt8(ascii: "]") { return index + 1 == count }
            while true {
                guard index < count, bytes[index] == UInt8(ascii: "\"") else { return false }
                index += 1
                scratch.clear()
                var runStart = index
                // One JSON string, copied in runs between escapes.
                while true {
                    guard index < count else { return false }
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\"") { break }
                    guard byte == UInt8(ascii: "\\") else {
                        index += 1
                        continue
                    }
                    scratch.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
                    guard index + 1 < count else { return false }
                    let escape = bytes[index + 1]
                    index += 2
                    switch escape {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): scratch.writeInteger(escape)
                    case UInt8(ascii: "b"): scratch.writeInteger(UInt8(0x08))
                    case UInt8(ascii: "f"): scratch.writeInteger(UInt8(0x0C))
                    case UInt8(ascii: "n"): scratch.writeInteger(UInt8(0x0A))
                    case UInt8(ascii: "r"): scratch.writeInteger(UInt8(0x0D))
                    case UInt8(ascii: "t"): scratch.writeInteger(UInt8(0x09))
                    case UInt8(ascii: "u"):
                        guard index + 4 <= count, let unit = hexValue(bytes, at: index) else { return false }
                        index += 4
                        var scalar = unit
                        if (0xD800..<0xDC00).contains(unit) {
                            // A surrogate pair: the low half must follow as another escape.
                            guard index + 6 <= count, bytes[index] == UInt8(ascii: "\\"), bytes[index + 1] == UInt8(ascii: "u"),
                                let low = hexValue(bytes, at: index + 2), (0xDC00..<0xE000).contains(low)
                            else { return false }
                            index += 6
                            scalar = 0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00)
                        }
                        guard let unicode = Unicode.Scalar(scalar) else { return false }
                        scratch.writeString(String(Character(unicode)))
                    default:
                        return false
                    }
                    runStart = index
                }
                scratch.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[runStart..<index]))
                index += 1
                body(scratch)
                guard index < count else { return false }
                if bytes[index] == UInt8(ascii: "]") { return index + 1 == count }
                guard bytes[index] == UInt8(ascii: ",") else { return false }
                index += 1
            }
        }
    }

    private static func hexDigit(_ nibble: UInt8) -> UInt8 {
        nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10
    }

    private static func hexValue(_ bytes: UnsafeRawBufferPointer, at index: Int) -> UInt32? {
        var value: UInt32 = 0
        for byte in bytes[index..<index + 4] {
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: return nil
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
