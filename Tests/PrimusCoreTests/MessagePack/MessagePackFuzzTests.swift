import NIOCore
import PrimusCore
import Testing
import struct Foundation.Data
import struct Foundation.Date

@Suite("MessagePack fuzzed round trips")
struct MessagePackFuzzTests {
    /// A random value of every kind, with numbers at and around every width boundary, strings
    /// of every str width, dates to the millisecond (as JavaScript has them), extensions of
    /// every fixext size and others, objects with unique keys (so order can be compared).
    struct ValueMaker {
        var generator: SeededGenerator

        static let boundaries: [Double] = [
            0, 1, 31, 32, 127, 128, 255, 256, 65535, 65536, 4_294_967_295, 4_294_967_296, 9_007_199_254_740_992,
            9_223_372_036_854_775_808, 18_446_744_073_709_549_568, -1, -32, -33, -127, -128, -129, -32767, -32768, -32769,
            -2_147_483_648, -2_147_483_649, -9_007_199_254_740_992, -9_223_372_036_854_775_808, 0.5, -0.25, 1e-300,
            1.7976931348623157e308, 18_446_744_073_709_551_616, .infinity, -.infinity,
        ]

        mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &generator) }

        mutating func number() -> Double {
            switch int(0...4) {
            case 0: return Self.boundaries[int(0...(Self.boundaries.count - 1))]
            case 1: return Double(int(-1_000_000...1_000_000))
            case 2: return Double(Int64.random(in: -(1 << 53)...(1 << 53), using: &generator))
            case 3: return Double.random(in: -1e6...1e6, using: &generator)
            default: return Double(bitPattern: generator.next() & 0x7FEF_FFFF_FFFF_FFFF) * (int(0...1) == 0 ? 1 : -1)
            }
        }

        mutating func string() -> String {
            let alphabet: [Character] = ["a", "z", "0", " ", "\"", "\\", "\n", "é", "€", "😀", "\u{2028}", "\u{0}"]
            let count = [0, 1, 5, 31, 32, 255, 256, 300, int(0...1000)][int(0...8)]  // the 16- and 32-bit forms: MessagePackVectorTests
            return String((0..<count).map { _ in alphabet[int(0...(alphabet.count - 1))] })
        }

        mutating func bytes() -> ByteBuffer {
            let count = [0, 1, 2, 3, 4, 8, 16, 17, 255, 256, int(0...1000)][int(0...10)]
            return ByteBuffer(bytes: (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) })
        }

        /// How many elements a container at `depth` gets: the fixarray/fixmap boundaries (15, 16)
        /// near the top, a few below, so a value stays small enough for the suite to run in
        /// parallel with the live tests without starving them (at most about 20 × 20 × 3 × 3 nodes).
        mutating func width(_ depth: Int) -> Int {
            depth < 2 ? [0, 1, 3, 15, 16, 20][int(0...5)] : [0, 1, 3][int(0...2)]
        }

        mutating func value(depth: Int = 0) -> JSONValue {
            switch int(0...(depth > 4 ? 7 : 9)) {
            case 0: return .null
            case 1: return .bool(int(0...1) == 1)
            case 2: return .number(number())
            case 3: return .string(string())
            case 4: return .binary(bytes())
            case 5:
                let milliseconds = Int64.random(in: -62_135_596_800_000...253_402_300_799_999, using: &generator)
                return .date(Date(timeIntervalSince1970: Double(milliseconds) / 1000))
            case 6:
                var type = Int8.random(in: .min ... .max, using: &generator)
                if type == -1 { type = 0 }
                return .extension(type: type, data: bytes())
            case 7: return .number(Double(int(-40...300)))
            case 8: return .array((0..<width(depth)).map { _ in value(depth: depth + 1) })
            default:
                var object = JSONObject()
                for index in 0..<width(depth) { object["k\(index)-\(int(0...9))"] = value(depth: depth + 1) }
                return .object(object)
            }
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5, 6, 7, 8] as [UInt64])
    func randomValuesRoundTripWithKeyOrderAndCanonicalBytes(seed: UInt64) throws {
        var maker = ValueMaker(generator: SeededGenerator(seed: seed))
        for _ in 0..<25 {
            let value = maker.value()
            let bytes = try messagePack(value)
            let read = try MessagePackReader.read(bytes)
            #expect(sameInOrder(read, value), "seed \(seed)")
            #expect(try messagePack(read) == bytes, "seed \(seed): writing what was read gives the same bytes")
            #expect(try MessagePackDecoder().decode(JSONValue.self, from: bytes) == value)
        }
    }

    @Test(arguments: [11, 12, 13, 14] as [UInt64])
    func truncatedOrCorruptedBytesNeverCrash(seed: UInt64) throws {
        var maker = ValueMaker(generator: SeededGenerator(seed: seed))
        for _ in 0..<40 {
            let bytes = try messagePack(maker.value())
            // Every prefix is an error (a value is never a prefix of another), or the value.
            for length in stride(from: 0, to: bytes.readableBytes, by: max(1, bytes.readableBytes / 50)) {
                #expect(throws: PrimusError.self) { try MessagePackReader.read(bytes.getSlice(at: 0, length: length)!) }
            }
            // A flipped byte decodes to something or throws, and never traps.
            var corrupted = bytes
            let position = maker.int(0...(bytes.readableBytes - 1))
            corrupted.setInteger(UInt8.random(in: 0...255, using: &maker.generator), at: position)
            let read = try? MessagePackReader.read(corrupted)
            let decoded = try? MessagePackDecoder().decode(JSONValue.self, from: corrupted)
            #expect(read == decoded || read?.description == decoded?.description)
        }
    }

    struct Record: Codable, Equatable {
        var int8: Int8, int16: Int16, int32: Int32, int64: Int64, int: Int
        var uint8: UInt8, uint16: UInt16, uint32: UInt32, uint64: UInt64, uint: UInt
        var float: Float, double: Double, flag: Bool, text: String
        var data: Data, date: Date
        var optional: Int16?
        var list: [UInt64]
        var table: [String: Int32]
        var children: [Record]
        var choice: Choice
    }

    enum Choice: Codable, Equatable {
        case nothing
        case number(Int64)
        case pair(String, Double)
    }

    struct RecordMaker {
        var generator: SeededGenerator

        mutating func integer<T: FixedWidthInteger>(_ type: T.Type) -> T {
            switch Int.random(in: 0...3, using: &generator) {
            case 0: return .min
            case 1: return .max
            case 2: return T.random(in: T(clamping: -40)...T(clamping: 300), using: &generator)
            default: return T.random(in: .min ... .max, using: &generator)
            }
        }

        mutating func record(depth: Int) -> Record {
            var string = ValueMaker(generator: generator)
            let text = string.string()
            generator = string.generator
            let childCount = depth > 2 ? 0 : Int.random(in: 0...3, using: &generator)
            return Record(
                int8: integer(Int8.self), int16: integer(Int16.self), int32: integer(Int32.self), int64: integer(Int64.self), int: integer(Int.self),
                uint8: integer(UInt8.self), uint16: integer(UInt16.self), uint32: integer(UInt32.self), uint64: integer(UInt64.self), uint: integer(UInt.self),
                float: Float(bitPattern: UInt32.random(in: 0...0x7F7F_FFFF, using: &generator)),
                double: Double(bitPattern: UInt64.random(in: 0...0x7FEF_FFFF_FFFF_FFFF, using: &generator)) * -1,
                flag: Bool.random(using: &generator), text: text,
                data: Data((0..<Int.random(in: 0...300, using: &generator)).map { _ in UInt8.random(in: 0...255, using: &generator) }),
                date: Date(timeIntervalSince1970: Double(Int64.random(in: -1_000_000_000_000...10_000_000_000_000, using: &generator)) / 1000),
                optional: Bool.random(using: &generator) ? nil : integer(Int16.self),
                list: (0..<Int.random(in: 0...20, using: &generator)).map { _ in integer(UInt64.self) },
                table: Dictionary(uniqueKeysWithValues: (0..<Int.random(in: 0...17, using: &generator)).map { ("key\($0)", integer(Int32.self)) }),
                children: (0..<childCount).map { _ in record(depth: depth + 1) },
                choice: [Choice.nothing, .number(integer(Int64.self)), .pair(text, Double(integer(Int32.self)) / 7)][Int.random(in: 0...2, using: &generator)]
            )
        }
    }

    @Test(arguments: [21, 22, 23, 24] as [UInt64])
    func randomRecordsRoundTripExactly(seed: UInt64) throws {
        var maker = RecordMaker(generator: SeededGenerator(seed: seed))
        for _ in 0..<8 {
            let record = maker.record(depth: 0)
            let bytes = try MessagePackEncoder().encode(record)
            #expect(try MessagePackDecoder().decode(Record.self, from: bytes) == record, "seed \(seed)")
            // The same bytes read as a JSONValue, and the parser's typed path agrees.
            let value = try MessagePackReader.read(bytes)
            #expect(value["text"] == .string(record.text) && value["data"] == .binary(ByteBuffer(bytes: record.data)))
            #expect(try MessagePackParser().decode(Record.self, from: .binary(bytes)) == record)
        }
    }
}
