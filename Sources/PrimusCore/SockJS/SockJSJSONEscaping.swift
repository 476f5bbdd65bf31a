public import NIOCore

/// JSON strings as a SockJS server must write them: besides `"` and `\`, every code point some
/// browser mangles or treats as a line break is written as a `\uXXXX` escape — the controls
/// U+0000–U+001F, U+200C–U+200F, U+2028–U+202F, U+2060–U+206F and U+FFF0–U+FFFF (protocol
/// notes, section 3.4). The rest of the UTF-8 is copied as it is, in runs.
public enum SockJSJSONEscaping {
    /// Appends `string` to `buffer` as a quoted, escaped JSON string.
    public static func writeString(_ string: String, to buffer: inout ByteBuffer) {
        var string = string
        string.withUTF8 { utf8 in writeUTF8(UnsafeRawBufferPointer(utf8), to: &buffer) }
    }

    /// Appends the UTF-8 text `bytes` (a message as the parser encoded it) to `buffer` as a
    /// quoted, escaped JSON string, without making a `String` first.
    public static func writeUTF8(_ bytes: ByteBuffer, to buffer: inout ByteBuffer) {
        bytes.withUnsafeReadableBytes { writeUTF8($0, to: &buffer) }
    }

    private static func writeUTF8(_ utf8: UnsafeRawBufferPointer, to buffer: inout ByteBuffer) {
        buffer.reserveCapacity(minimumWritableBytes: utf8.count + 2)
        buffer.writeInteger(UInt8(ascii: "\""))
        let count = utf8.count
        var runStart = 0
        var index = 0
        while index < count {
            let byte = utf8[index]
            let width: Int
            let escaped: UInt32?
            switch byte {
            case UInt8(ascii: "\""), UInt8(ascii: "\\"):
                width = 1
                escaped = nil
            case 0x00..<0x20:
                width = 1
                escaped = UInt32(byte)
            case 0xE2, 0xEF:
                guard index + 2 < count, let scalar = escapedScalar(byte, utf8[index + 1], utf8[index + 2]) else {
                    index += 1
                    continue
                }
                width = 3
                escaped = scalar
            default:
                index += 1
                continue
            }
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: utf8[runStart..<index]))
            if let escaped {
                writeEscape(escaped, to: &buffer)
            } else {
                buffer.writeInteger(UInt8(ascii: "\\"))
                buffer.writeInteger(byte)
            }
            index += width
            runStart = index
        }
        buffer.writeBytes(UnsafeRawBufferPointer(rebasing: utf8[runStart..<count]))
        buffer.writeInteger(UInt8(ascii: "\""))
    }

    /// `string` as a quoted, escaped JSON string.
    public static func quoted(_ string: String) -> String {
        var buffer = ByteBuffer()
        writeString(string, to: &buffer)
        return String(buffer: buffer)
    }

    /// The code point of a three-byte UTF-8 sequence when it is in an escaped range.
    private static func escapedScalar(_ first: UInt8, _ second: UInt8, _ third: UInt8) -> UInt32? {
        guard second & 0xC0 == 0x80, third & 0xC0 == 0x80 else { return nil }
        let scalar = UInt32(first & 0x0F) << 12 | UInt32(second & 0x3F) << 6 | UInt32(third & 0x3F)
        switch scalar {
        case 0x200C...0x200F, 0x2028...0x202F, 0x2060...0x206F, 0xFFF0...0xFFFF: return scalar
        default: return nil
        }
    }

    private static func writeEscape(_ scalar: UInt32, to buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "\\"))
        buffer.writeInteger(UInt8(ascii: "u"))
        for shift in stride(from: 12, through: 0, by: -4) {
            let nibble = UInt8((scalar >> UInt32(shift)) & 0x0F)
            buffer.writeInteger(nibble < 10 ? UInt8(ascii: "0") + nibble : UInt8(ascii: "a") + nibble - 10)
        }
    }
}
