import NIOCore
@testable import PrimusCore
import Testing

/// The in-place reader (the parser's `decode` and `validate`) against the scanner-based reader
/// that was the whole of `decode` before: the same acceptance and the same values, over crafted,
/// random and mutated bytes.
@Suite("MessagePack validate and in-place read")
struct MessagePackValidateTests {
    /// Checks one input: validate, the in-place read and the scanner agree on whether it is a
    /// value, and the two reads build the same one; the parser's `validate` throws exactly when
    /// its `decode` does.
    static func agree(_ bytes: ByteBuffer, _ note: String, sourceLocation: SourceLocation = #_sourceLocation) {
        let scanned = try? MessagePackReader.readScanning(bytes)
        let inPlace = MessagePackInPlaceReader.read(bytes)
        let valid = MessagePackInPlaceReader.validate(bytes)
        #expect((scanned != nil) == valid, "validate vs scanner: \(note) \(Hex.string(bytes))", sourceLocation: sourceLocation)
        #expect((inPlace != nil) == valid, "read vs validate: \(note) \(Hex.string(bytes))", sourceLocation: sourceLocation)
        if let scanned, let inPlace {
            // Written back: the same bytes (NaN compares unequal, its bytes do not).
            #expect((try? messagePack(inPlace)) == (try? messagePack(scanned)), "\(note)", sourceLocation: sourceLocation)
            #expect(sameInOrder(inPlace, scanned) || inPlace.description == scanned.description, "\(note)", sourceLocation: sourceLocation)
        }
        let parser = MessagePackParser()
        let decoded = Result { () throws(PrimusError) in try parser.decode(.binary(bytes)) }
        let validated = Result { () throws(PrimusError) in try parser.validate(.binary(bytes), for: nil) }
        switch (decoded, validated) {
        case (.success, .success(let value)):
            #expect(value == nil, "a valid message is checked without building it", sourceLocation: sourceLocation)
        case (.failure(let decodeError), .failure(let validateError)):
            #expect(decodeError.message == validateError.message, "the same error", sourceLocation: sourceLocation)
        default:
            Issue.record("decode \(decoded) but validate \(validated): \(note) \(Hex.string(bytes))", sourceLocation: sourceLocation)
        }
    }

    @Test(arguments: MessagePackMalformedTests.cases.map(\.0))
    func malformedCasesAreRejectedByBoth(hex: String) {
        Self.agree(Hex.buffer(hex), "malformed")
        #expect(!MessagePackInPlaceReader.validate(Hex.buffer(hex)))
    }

    @Test func craftedEdgesAgree() {
        let cases = [
            // Keys of every kind a reader accepts, and the ones it refuses.
            "81c0c0", "81c2c0", "81c3c0", "8100c0", "817fc0", "81ffc0", "81e0c0", "81cc80c0", "81cdffffc0", "81ceffffffffc0",
            "81cfffffffffffffffffc0", "81d080c0", "81d18000c0", "81d280000000c0", "81d38000000000000000c0", "81ca3fc00000c0",
            "81cb3ff8000000000000c0", "81cb7ff8000000000000c0", "81cb7ff0000000000000c0", "81a0c0", "81d900c0", "81da0000c0",
            "81db00000000c0", "81c400c0", "81d40001c0", "81c1c0", "8290c0", "82a16101a16102",
            // Invalid UTF-8 in keys and values, and valid multi-byte UTF-8.
            "81a1ffc0", "81a3e282a8c0", "a3e282a8", "a4f09f9880", "a3eda080", "a2c0af", "a4f4908080",
            // Timestamps of each size, nanoseconds at the edge.
            "d6ff00000000", "d7ff" + "ee6b27fc00000000", "d7ff" + "ee6b280000000000", "c70cff" + "3b9ac9ff" + "0000000000000000",
            "c70cff" + "00000000" + "8000000000000000", "c70bff" + String(repeating: "00", count: 11),
            // Extension values and bins of every header.
            "d40501", "d5050102", "d605" + "01020304", "c70005", "c8000105" + "ff", "c90000000105" + "ff", "c400", "c50001ff", "c600000001ff",
            // Lying and exact counts.
            "9101", "920101", "dc000101", "dd0000000101", "8101", "de0001a16101", "df00000001a16101",
            // Trailing bytes and empty input.
            "", "c0", "c0c0",
        ]
        for hex in cases { Self.agree(Hex.buffer(hex), "crafted") }
        Self.agree(Hex.buffer(String(repeating: "91", count: 512) + "c0"), "512 deep")
        Self.agree(Hex.buffer(String(repeating: "91", count: 513) + "c0"), "513 deep")
        Self.agree(Hex.buffer(String(repeating: "81a0", count: 512) + "c0"), "512 deep maps")
        Self.agree(Hex.buffer(String(repeating: "81a0", count: 513) + "c0"), "513 deep maps")
    }

    @Test func aReaderIndexIsRespected() throws {
        var buffer = Hex.buffer("ffff92c3a161")
        buffer.moveReaderIndex(forwardBy: 2)
        #expect(MessagePackInPlaceReader.read(buffer) == [true, "a"])
        #expect(MessagePackInPlaceReader.validate(buffer))
        var slice = Hex.buffer("ffc4020102d6ff00000001")
        slice.moveReaderIndex(forwardBy: 1)
        Self.agree(slice, "bin then trailing timestamp")
    }

    @Test(arguments: [21, 22, 23, 24, 25, 26] as [UInt64])
    func randomAndMutatedBytesAgree(seed: UInt64) throws {
        var maker = MessagePackFuzzTests.ValueMaker(generator: SeededGenerator(seed: seed))
        for round in 0..<30 {
            let bytes = try messagePack(maker.value())
            Self.agree(bytes, "seed \(seed) round \(round) value")
            // Truncations.
            for length in stride(from: 0, to: bytes.readableBytes, by: max(1, bytes.readableBytes / 8)) {
                Self.agree(bytes.getSlice(at: bytes.readerIndex, length: length)!, "seed \(seed) round \(round) prefix")
            }
            // One to four bytes changed, headers included.
            for _ in 0..<8 {
                var mutated = bytes
                for _ in 0..<maker.int(1...4) {
                    let position = maker.int(0...(bytes.readableBytes - 1))
                    mutated.setInteger(UInt8.random(in: 0...255, using: &maker.generator), at: mutated.readerIndex + position)
                }
                Self.agree(mutated, "seed \(seed) round \(round) mutated")
            }
            // Random bytes, biased towards headers.
            let headers: [UInt8] = [0x81, 0x91, 0xA1, 0xC0, 0xC1, 0xC4, 0xC7, 0xCA, 0xCB, 0xCF, 0xD3, 0xD4, 0xD6, 0xD7, 0xD9, 0xDC, 0xDE, 0xFF, 0x00, 0x7F]
            let random = (0..<maker.int(0...24)).map { _ in
                maker.int(0...1) == 0 ? headers[maker.int(0...(headers.count - 1))] : UInt8.random(in: 0...255, using: &maker.generator)
            }
            Self.agree(ByteBuffer(bytes: random), "seed \(seed) round \(round) random")
        }
    }
}
