public import NIOCore

/// Standard base64 (RFC 4648 section 4, with `=` padding), as Engine.IO uses for binary data in
/// text payloads (`b<base64>`). No Foundation: PrimusCore stays dependency-light.
public enum EngineIOBase64 {
    private static let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

    private static let decodeTable: [UInt8] = {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (index, byte) in alphabet.enumerated() { table[Int(byte)] = UInt8(index) }
        // The URL-safe alphabet decodes too (Node's Buffer.from(_, 'base64') accepts both).
        table[Int(UInt8(ascii: "-"))] = 62
        table[Int(UInt8(ascii: "_"))] = 63
        return table
    }()

    /// The encoded length of `count` bytes.
    public static func encodedLength(of count: Int) -> Int { (count + 2) / 3 * 4 }

    /// Appends the base64 encoding of `bytes` to `buffer`.
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes, into buffer: inout ByteBuffer) {
        let length = encodedLength(of: bytes.count)
        guard length > 0 else { return }
        buffer.writeWithUnsafeMutableBytes(minimumWritableBytes: length) { output in
            var out = 0
            var iterator = bytes.makeIterator()
            while let first = iterator.next() {
                let second = iterator.next()
                let third = iterator.next()
                let chunk = UInt32(first) << 16 | UInt32(second ?? 0) << 8 | UInt32(third ?? 0)
                output[out] = alphabet[Int(chunk >> 18 & 63)]
                output[out + 1] = alphabet[Int(chunk >> 12 & 63)]
                output[out + 2] = second == nil ? UInt8(ascii: "=") : alphabet[Int(chunk >> 6 & 63)]
                output[out + 3] = third == nil ? UInt8(ascii: "=") : alphabet[Int(chunk & 63)]
                out += 4
            }
            return out
        }
    }

    /// The base64 encoding of `bytes` as a string.
    public static func encode<Bytes: Collection<UInt8>>(_ bytes: Bytes) -> String {
        var buffer = ByteBuffer()
        encode(bytes, into: &buffer)
        return String(buffer: buffer)
    }

    /// Decodes base64 text (padding optional, no whitespace).
    public static func decode<Text: Collection<UInt8>>(_ text: Text) throws(EngineIODecodingError) -> ByteBuffer {
        var buffer = ByteBuffer()
        buffer.reserveCapacity(text.count / 4 * 3 + 3)
        var accumulator: UInt32 = 0
        var bits = 0
        var padding = 0
        for byte in text {
            if byte == UInt8(ascii: "=") {
                padding += 1
                continue
            }
            let value = decodeTable[Int(byte)]
            guard value != 0xFF, padding == 0 else { throw EngineIODecodingError("invalid base64") }
            accumulator = accumulator << 6 | UInt32(value)
            bits += 6
            if bits >= 8 {
                bits -= 8
                buffer.writeInteger(UInt8(truncatingIfNeeded: accumulator >> UInt32(bits)))
            }
        }
        // A lone trailing character (6 bits) cannot be a byte; more than two '=' is not base64.
        guard bits < 6, padding <= 2 else { throw EngineIODecodingError("invalid base64") }
        return buffer
    }
}
