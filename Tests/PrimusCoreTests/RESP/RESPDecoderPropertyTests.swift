import NIOCore
import PrimusCore
import Testing

/// A small deterministic generator (SplitMix64), so a failure reproduces.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("RESP decoder on mutated input")
struct RESPDecoderPropertyTests {
    private func run(_ chunks: [ArraySlice<UInt8>], _ make: () -> RESPDecoder) -> ([RESPValue], RESPError?) {
        var decoder = make()
        var buffer = ByteBuffer()
        var values: [RESPValue] = []
        for chunk in chunks {
            buffer.writeBytes(chunk)
            do {
                while let value = try decoder.decode(&buffer) { values.append(value) }
            } catch {
                return (values, error)
            }
        }
        return (values, nil)
    }

    @Test("mutated replies never trap, and decode the same whole or in chunks")
    func mutations() {
        var random = SplitMix64(state: 16)
        let alphabet = Array("+-:$*_,#!=(%~>|\r\n0123456789-abc".utf8)
        let seeds = RESPDecoderTests.samples.map { Array($0.0.utf8) }
        var failures = 0
        var decodedSomething = 0
        for _ in 0..<3000 {
            var bytes: [UInt8] = []
            for _ in 0..<Int.random(in: 1...4, using: &random) {
                bytes += seeds.randomElement(using: &random)!
            }
            for _ in 0..<Int.random(in: 0...3, using: &random) where !bytes.isEmpty {
                let index = Int.random(in: 0..<bytes.count, using: &random)
                switch Int.random(in: 0..<3, using: &random) {
                case 0: bytes[index] = alphabet.randomElement(using: &random)!
                case 1: bytes.insert(alphabet.randomElement(using: &random)!, at: index)
                default: bytes.remove(at: index)
                }
            }
            let maxDepth = Int.random(in: 1...4, using: &random)
            let maxElements = Int.random(in: 1...16, using: &random)
            let maxBulk = Int.random(in: 0...64, using: &random)
            let make = { RESPDecoder(maxDepth: maxDepth, maxBulkLength: maxBulk, maxElements: maxElements, maxLineLength: 48) }
            let whole = run([bytes[...]], make)
            let step = Int.random(in: 1...7, using: &random)
            let chunks = stride(from: 0, to: bytes.count, by: step).map { bytes[$0..<min(bytes.count, $0 + step)] }
            let split = run(chunks, make)
            #expect(whole.0 == split.0 || whole.0.contains { "\($0)".contains("nan") }, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            #expect(whole.1 == split.1, "\(String(decoding: bytes, as: UTF8.self).debugDescription)")
            if whole.1 != nil { failures += 1 }
            if !whole.0.isEmpty { decodedSomething += 1 }
        }
        // Both paths were exercised.
        #expect(failures > 100)
        #expect(decodedSomething > 100)
    }
}
