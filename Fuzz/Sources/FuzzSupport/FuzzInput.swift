/// Reads structured choices out of a fuzzer's input, front to back: a byte for a mode, a length,
/// a chunk. Running out is never an error: reads past the end give zero and empty chunks, so
/// every input means something and libFuzzer's mutations stay meaningful.
public struct FuzzInput {
    private let bytes: UnsafeRawBufferPointer
    private var index = 0

    /// Reads `bytes` from the start.
    public init(_ bytes: UnsafeRawBufferPointer) {
        self.bytes = bytes
    }

    /// Whether every byte has been read.
    public var isAtEnd: Bool { index >= bytes.count }

    /// How many bytes are left.
    public var remainingCount: Int { max(0, bytes.count - index) }

    /// The next byte, or 0 at the end.
    public mutating func byte() -> UInt8 {
        guard index < bytes.count else { return 0 }
        defer { index += 1 }
        return bytes[index]
    }

    /// The next byte as a flag (its lowest bit).
    public mutating func bool() -> Bool { byte() & 1 == 1 }

    /// The next two bytes as a big-endian number.
    public mutating func uint16() -> UInt16 {
        UInt16(byte()) << 8 | UInt16(byte())
    }

    /// The next `count` bytes (fewer at the end).
    public mutating func take(_ count: Int) -> [UInt8] {
        let end = min(bytes.count, index + max(0, count))
        defer { index = end }
        return Array(bytes[min(index, end)..<end])
    }

    /// Everything not read yet.
    public mutating func rest() -> [UInt8] {
        take(remainingCount)
    }

    /// A chunk prefixed by a one-byte length.
    public mutating func chunk() -> [UInt8] {
        take(Int(byte()))
    }
}
