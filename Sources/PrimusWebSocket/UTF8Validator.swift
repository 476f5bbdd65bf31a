/// An incremental UTF-8 validator (RFC 3629), fed a message one fragment at a time so an invalid
/// text message is refused as soon as its first bad byte arrives (RFC 6455 "fail fast").
///
/// The state is the number of continuation bytes still expected and the range the next one must
/// fall in; the narrowed ranges exclude overlong forms, surrogates and code points past U+10FFFF.
public struct UTF8Validator: Sendable, Hashable {
    private var remaining: UInt8 = 0
    private var lower: UInt8 = 0x80
    private var upper: UInt8 = 0xBF

    /// A validator at the start of a text.
    public init() {}

    /// Whether the bytes so far end on a character boundary (a complete text is valid only then).
    public var isAtBoundary: Bool { remaining == 0 }

    /// Feeds `bytes`; returns `false` as soon as they cannot be part of valid UTF-8.
    public mutating func feed(_ bytes: UnsafeRawBufferPointer) -> Bool {
        var index = 0
        let count = bytes.count
        while index < count {
            if remaining == 0 {
                // ASCII runs are the common case: skip them eight bytes at a time.
                while index + 8 <= count,
                    bytes.loadUnaligned(fromByteOffset: index, as: UInt64.self) & 0x8080_8080_8080_8080 == 0
                {
                    index += 8
                }
                guard index < count else { break }
            }
            guard feed(bytes[index]) else { return false }
            index += 1
        }
        return true
    }

    /// Feeds one byte; returns `false` when it cannot continue valid UTF-8.
    @inline(__always)
    public mutating func feed(_ byte: UInt8) -> Bool {
        if remaining > 0 {
            guard byte >= lower, byte <= upper else { return false }
            remaining -= 1
            lower = 0x80
            upper = 0xBF
            return true
        }
        switch byte {
        case 0x00...0x7F: return true
        case 0xC2...0xDF: expect(1, 0x80, 0xBF)
        case 0xE0: expect(2, 0xA0, 0xBF)  // no overlong three-byte forms
        case 0xE1...0xEC, 0xEE...0xEF: expect(2, 0x80, 0xBF)
        case 0xED: expect(2, 0x80, 0x9F)  // no UTF-16 surrogates
        case 0xF0: expect(3, 0x90, 0xBF)  // no overlong four-byte forms
        case 0xF1...0xF3: expect(3, 0x80, 0xBF)
        case 0xF4: expect(3, 0x80, 0x8F)  // nothing past U+10FFFF
        default: return false
        }
        return true
    }

    @inline(__always)
    private mutating func expect(_ count: UInt8, _ low: UInt8, _ high: UInt8) {
        remaining = count
        lower = low
        upper = high
    }
}
