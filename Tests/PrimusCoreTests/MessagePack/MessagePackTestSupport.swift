import NIOCore
import PrimusCore

/// Hex text of bytes, and bytes of hex text, for the byte vectors of the MessagePack tests.
enum Hex {
    static func string(_ buffer: ByteBuffer) -> String {
        buffer.readableBytesView.map { byte in
            let text = String(byte, radix: 16)
            return byte < 16 ? "0" + text : text
        }.joined()
    }

    static func bytes(_ hex: String) -> [UInt8] {
        var bytes: [UInt8] = []
        var index = hex.startIndex
        while index < hex.endIndex {
            let next = hex.index(index, offsetBy: 2)
            bytes.append(UInt8(hex[index..<next], radix: 16)!)
            index = next
        }
        return bytes
    }

    static func buffer(_ hex: String) -> ByteBuffer {
        ByteBuffer(bytes: bytes(hex))
    }
}

/// SplitMix64: a small seeded generator, so every fuzzed run sees the same values and a
/// failure can be replayed.
struct SeededGenerator: RandomNumberGenerator {
    private var state: UInt64

    init(seed: UInt64) {
        state = seed
    }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// The MessagePack bytes the writer produces for `value`.
func messagePack(_ value: JSONValue) throws -> ByteBuffer {
    var writer = MessagePackWriter()
    try writer.write(value)
    return writer.buffer
}

/// Whether two values are equal with every object's keys in the same order (``JSONValue``'s
/// own equality ignores the order).
func sameInOrder(_ lhs: JSONValue, _ rhs: JSONValue) -> Bool {
    switch (lhs, rhs) {
    case (.object(let left), .object(let right)):
        guard left.keys == right.keys else { return false }
        return zip(left.values, right.values).allSatisfy(sameInOrder)
    case (.array(let left), .array(let right)):
        return left.count == right.count && zip(left, right).allSatisfy(sameInOrder)
    default:
        return lhs == rhs
    }
}
