import FuzzSupport
import NIOCore
import PrimusCore

/// The RESP2/RESP3 reply decoder, as a Redis server's byte stream reaches it.
///
/// The first byte picks small limits (depth 1-8, bulk length 0-255, 1-64 values) so the limit
/// paths are reached; the second is the chunk length (1-256) the rest is fed in.
///
/// Invariants: no trap; feeding in chunks gives the same values and the same failure as feeding
/// everything at once; every consumed byte belongs to a value or a failure; a failed decoder keeps
/// failing; values respect the limits.
@main
enum FuzzRESP {
    static func main() { FuzzDriver.run(testOneInput) }
}

@_cdecl("LLVMFuzzerTestOneInput")
func testOneInput(_ data: UnsafePointer<UInt8>?, _ count: Int) -> CInt {
    var input = FuzzInput(FuzzDriver.bytes(data, count))
    let mode = input.byte()
    let chunkLength = Int(input.byte()) + 1
    let bytes = input.rest()
    let maxDepth = Int(mode & 7) + 1
    let maxElements = Int(mode >> 2 & 63) + 1
    let maxBulkLength = Int(mode) * 3
    let make = { RESPDecoder(maxDepth: maxDepth, maxBulkLength: maxBulkLength, maxElements: maxElements, maxLineLength: 64) }

    let whole = decode([bytes[...]], decoder: make())
    var chunks: [ArraySlice<UInt8>] = []
    var start = 0
    while start < bytes.count {
        chunks.append(bytes[start..<min(bytes.count, start + chunkLength)])
        start += chunkLength
    }
    let split = decode(chunks, decoder: make())
    fuzzCheck(whole.values.count == split.values.count && zip(whole.values, split.values).allSatisfy(same), "chunks of \(chunkLength) decode differently")
    fuzzCheck(whole.error == split.error, "chunks of \(chunkLength) fail differently: \(String(describing: whole.error)) / \(String(describing: split.error))")
    for value in whole.values {
        fuzzCheck(depth(value) <= maxDepth, "a value nested deeper than \(maxDepth)")
        fuzzCheck(size(value) <= maxElements, "a value with more than \(maxElements) values")
    }
    return 0
}

func decode(_ chunks: [ArraySlice<UInt8>], decoder: RESPDecoder) -> (values: [RESPValue], error: RESPError?) {
    var decoder = decoder
    var buffer = ByteBuffer()
    var values: [RESPValue] = []
    for chunk in chunks {
        buffer.writeBytes(chunk)
        do {
            while let value = try decoder.decode(&buffer) {
                values.append(value)
            }
        } catch {
            var again = buffer
            do {
                _ = try decoder.decode(&again)
                fuzzCheck(false, "a failed decoder decoded again")
            } catch let repeated {
                fuzzCheck(repeated == error, "a failed decoder changed its error")
            }
            return (values, error)
        }
    }
    return (values, nil)
}

/// Equality with NaN equal to itself (`,nan` must read the same whole and in chunks).
func same(_ lhs: RESPValue, _ rhs: RESPValue) -> Bool {
    switch (lhs, rhs) {
    case (.double(let a), .double(let b)):
        return a == b || (a.isNaN && b.isNaN)
    case (.array(let a), .array(let b)), (.set(let a), .set(let b)), (.push(let a), .push(let b)):
        return a.count == b.count && zip(a, b).allSatisfy(same)
    case (.map(let a), .map(let b)):
        return a.count == b.count && a.allSatisfy { entry in b.contains { same(entry.key, $0.key) && same(entry.value, $0.value) } }
    default:
        return lhs == rhs
    }
}

func depth(_ value: RESPValue) -> Int {
    switch value {
    case .array(let values), .set(let values), .push(let values):
        return 1 + (values.map(depth).max() ?? 0)
    case .map(let map):
        return 1 + (map.flatMap { [depth($0.key), depth($0.value)] }.max() ?? 0)
    default:
        return 0
    }
}

func size(_ value: RESPValue) -> Int {
    switch value {
    case .array(let values), .set(let values), .push(let values):
        return 1 + values.map(size).reduce(0, +)
    case .map(let map):
        // A repeated key collapses, so this may be below what was read; never above.
        return 1 + map.map { size($0.key) + size($0.value) }.reduce(0, +)
    default:
        return 1
    }
}
