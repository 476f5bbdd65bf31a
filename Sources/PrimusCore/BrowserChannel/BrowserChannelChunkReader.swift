public import NIOCore

/// Reads a back channel as a client does: `<length>\n<JSON>\n` chunks, the length in UTF-16
/// units, out of bytes that arrive in arbitrary pieces (a piece may end inside a character).
/// Each complete chunk is its parsed JSON array of `[arrayId, data]`.
///
/// A length that is not a number, a chunk longer than ``maxChunkLength``, or a chunk that does
/// not end where its length says is ``BrowserChannelError/badData``.
public struct BrowserChannelChunkReader: Sendable {
    private var pending = ByteBuffer()
    private var expected: Int?

    /// The longest chunk accepted, in UTF-16 units.
    public let maxChunkLength: Int

    /// A reader for a new back channel.
    public init(maxChunkLength: Int = 64 * 1024 * 1024) {
        self.maxChunkLength = maxChunkLength
    }

    /// Takes the next piece of the body; returns the chunks it completed.
    public mutating func feed(_ bytes: ByteBuffer) throws(BrowserChannelError) -> [JSONValue] {
        var bytes = bytes
        pending.writeBuffer(&bytes)
        var chunks: [JSONValue] = []
        while true {
            if expected == nil {
                guard let newline = pending.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
                    guard pending.readableBytes <= 12 else { throw .badData }
                    break
                }
                let digits = pending.readableBytesView[pending.readerIndex..<newline]
                guard !digits.isEmpty, digits.count <= 12, digits.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }),
                    let length = Int(String(decoding: digits, as: UTF8.self)), length >= 1, length <= maxChunkLength
                else { throw .badData }
                pending.moveReaderIndex(to: newline + 1)
                expected = length
            }
            guard let length = expected, let byteCount = Self.byteCount(ofUTF16Units: length, in: pending.readableBytesView) else { break }
            var json = pending.readSlice(length: byteCount)!
            expected = nil
            guard json.getInteger(at: json.writerIndex - 1, as: UInt8.self) == UInt8(ascii: "\n") else { throw .badData }
            json.moveWriterIndex(to: json.writerIndex - 1)
            do {
                chunks.append(try json.withUnsafeReadableBytes { raw throws(JSONReader.Failure) in try JSONReader.parse(raw) })
            } catch {
                throw .badData
            }
        }
        pending.discardReadBytes()
        return chunks
    }

    /// How many UTF-8 bytes make `units` UTF-16 units at the start of `bytes`, or `nil` when
    /// they have not all arrived.
    static func byteCount(ofUTF16Units units: Int, in bytes: ByteBufferView) -> Int? {
        var counted = 0
        var index = bytes.startIndex
        while counted < units {
            guard index < bytes.endIndex else { return nil }
            let lead = bytes[index]
            let (width, weight) =
                switch lead {
                case 0..<0x80: (1, 1)
                case 0xF0...: (4, 2)
                case 0xE0...: (3, 1)
                default: (2, 1)
                }
            guard bytes.endIndex - index >= width else { return nil }
            index += width
            counted += weight
        }
        return index - bytes.startIndex
    }
}
