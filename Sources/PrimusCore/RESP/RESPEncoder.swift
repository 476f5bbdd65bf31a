public import NIOCore

/// One argument of a Redis command, so callers can pass text, bytes or numbers without
/// converting them to strings first.
public enum RedisArgument: Sendable, Hashable, ExpressibleByStringLiteral, ExpressibleByIntegerLiteral {
    /// Text, sent as its UTF-8 bytes.
    case string(String)
    /// Bytes as they are (a payload encoded once, sent many times, is not copied into a String).
    case bytes(ByteBuffer)
    /// A number, sent as its decimal text (Redis reads every argument as a string).
    case integer(Int)

    /// A literal is text, so `["GET", "key"]` reads naturally.
    public init(stringLiteral value: String) { self = .string(value) }

    /// A literal number, so `["EXPIRE", "key", 10]` reads naturally.
    public init(integerLiteral value: Int) { self = .integer(value) }
}

/// Writes commands in the one form every Redis version reads: an array of bulk strings.
public enum RESPEncoder {
    /// Appends `arguments` as one command (`*N\r\n$len\r\narg\r\n...`) to `buffer`, so many
    /// commands can share one buffer and one write.
    public static func command(_ arguments: [RedisArgument], into buffer: inout ByteBuffer) {
        buffer.writeInteger(UInt8(ascii: "*"))
        writeDecimal(arguments.count, into: &buffer)
        buffer.writeStaticString("\r\n")
        for argument in arguments {
            switch argument {
            case .string(let text):
                buffer.writeInteger(UInt8(ascii: "$"))
                writeDecimal(text.utf8.count, into: &buffer)
                buffer.writeStaticString("\r\n")
                buffer.writeString(text)
            case .bytes(let bytes):
                buffer.writeInteger(UInt8(ascii: "$"))
                writeDecimal(bytes.readableBytes, into: &buffer)
                buffer.writeStaticString("\r\n")
                buffer.writeImmutableBuffer(bytes)
            case .integer(let value):
                buffer.writeInteger(UInt8(ascii: "$"))
                writeDecimal(decimalLength(value), into: &buffer)
                buffer.writeStaticString("\r\n")
                writeDecimal(value, into: &buffer)
            }
            buffer.writeStaticString("\r\n")
        }
    }

    /// The number of characters of `value` in decimal, sign included.
    static func decimalLength(_ value: Int) -> Int {
        var magnitude = value.magnitude
        var count = value < 0 ? 2 : 1
        while magnitude >= 10 {
            magnitude /= 10
            count += 1
        }
        return count
    }

    /// Writes `value` in decimal without building a String (this runs for every command).
    static func writeDecimal(_ value: Int, into buffer: inout ByteBuffer) {
        if value < 0 { buffer.writeInteger(UInt8(ascii: "-")) }
        var magnitude = value.magnitude
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var count = 0
        withUnsafeMutableBytes(of: &digits) { storage in
            repeat {
                storage[19 - count] = UInt8(ascii: "0") + UInt8(magnitude % 10)
                magnitude /= 10
                count += 1
            } while magnitude > 0
            buffer.writeBytes(UnsafeRawBufferPointer(rebasing: storage[(20 - count)...]))
        }
    }
}
