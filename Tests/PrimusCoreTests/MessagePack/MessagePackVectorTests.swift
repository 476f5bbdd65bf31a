import NIOCore
import PrimusCore
import Testing
import struct Foundation.Date

@Suite("MessagePack byte vectors")
struct MessagePackVectorTests {
    static func ext(_ type: Int8, _ bytes: [UInt8]) -> JSONValue {
        .extension(type: type, data: ByteBuffer(bytes: bytes))
    }

    static func date(_ seconds: Double) -> JSONValue {
        .date(Date(timeIntervalSince1970: seconds))
    }

    /// Every kind at every width boundary. The hex came from Python's msgpack 1.1.2,
    /// `msgpack.packb(value, use_bin_type=True).hex()` (timestamps as `msgpack.Timestamp`,
    /// extensions as `msgpack.ExtType`), so equal bytes mean the Swift writer agrees with it.
    static let pythonVectors: [(String, JSONValue, String)] = [
        ("nil", .null, "c0"),
        ("true", true, "c3"),
        ("false", false, "c2"),
        ("0", 0, "00"),
        ("1", 1, "01"),
        ("127", 127, "7f"),
        ("128", 128, "cc80"),
        ("255", 255, "ccff"),
        ("256", 256, "cd0100"),
        ("65535", 65535, "cdffff"),
        ("65536", 65536, "ce00010000"),
        ("4294967295", 4_294_967_295, "ceffffffff"),
        ("4294967296", 4_294_967_296, "cf0000000100000000"),
        ("2^53", .number(9_007_199_254_740_992), "cf0020000000000000"),
        ("2^63", .number(9_223_372_036_854_775_808), "cf8000000000000000"),
        ("-1", -1, "ff"),
        ("-32", -32, "e0"),
        ("-33", -33, "d0df"),
        ("-128", -128, "d080"),
        ("-129", -129, "d1ff7f"),
        ("-32768", -32768, "d18000"),
        ("-32769", -32769, "d2ffff7fff"),
        ("-2^31", -2_147_483_648, "d280000000"),
        ("-2^31-1", -2_147_483_649, "d3ffffffff7fffffff"),
        ("-2^53", .number(-9_007_199_254_740_992), "d3ffe0000000000000"),
        ("-2^63", .number(-9_223_372_036_854_775_808), "d38000000000000000"),
        ("1.5", 1.5, "cb3ff8000000000000"),
        ("-0.0", .number(-0.0), "cb8000000000000000"),
        ("0.1", 0.1, "cb3fb999999999999a"),
        ("1e300", 1e300, "cb7e37e43c8800759c"),
        ("inf", .number(.infinity), "cb7ff0000000000000"),
        ("-inf", .number(-.infinity), "cbfff0000000000000"),
        ("str empty", "", "a0"),
        ("str a", "a", "a161"),
        ("str euro", "€", "a3e282ac"),
        ("str 31", .string(String(repeating: "x", count: 31)), "bf78787878787878787878787878787878787878787878787878787878787878"),
        ("str 32", .string(String(repeating: "x", count: 32)), "d9207878787878787878787878787878787878787878787878787878787878787878"),
        ("bin empty", .binary(ByteBuffer()), "c400"),
        ("bin 2", .binary(ByteBuffer(bytes: [1, 2])), "c4020102"),
        ("array empty", [], "90"),
        ("array 3", [1, -1, "a"], "9301ffa161"),
        ("map empty", [:], "80"),
        ("map order", ["b": 1, "a": [true, nil]], "82a16201a16192c3c0"),
        ("ts 0", date(0), "d6ff00000000"),
        ("ts 2^32-1", date(4_294_967_295), "d6ffffffffff"),
        ("ts 2^32", date(4_294_967_296), "d7ff0000000100000000"),
        ("ts ms", date(1_700_000_000.123), "d7ff1d5353006553f100"),
        ("ts 2^34", date(17_179_869_184), "c70cff000000000000000400000000"),
        ("ts -0.5", date(-0.5), "c70cff1dcd6500ffffffffffffffff"),
        ("ext1", ext(5, [1]), "d40501"),
        ("ext2", ext(5, [1, 2]), "d5050102"),
        ("ext3", ext(5, [1, 2, 3]), "c70305010203"),
        ("ext4", ext(5, [1, 1, 1, 1]), "d60501010101"),
        ("ext8", ext(5, [UInt8](repeating: 1, count: 8)), "d7050101010101010101"),
        ("ext16", ext(10, [UInt8](repeating: 1, count: 16)), "d80a01010101010101010101010101010101"),
        ("ext0", ext(127, []), "c7007f"),
        ("ping", "primus::ping::1700000000000", "bb7072696d75733a3a70696e673a3a31373030303030303030303030"),
    ]

    @Test(arguments: pythonVectors)
    func writesTheBytesPythonWrites(name: String, value: JSONValue, hex: String) throws {
        #expect(Hex.string(try messagePack(value)) == hex, "\(name)")
    }

    @Test(arguments: pythonVectors)
    func readsTheBytesPythonWrites(name: String, value: JSONValue, hex: String) throws {
        let read = try MessagePackReader.read(Hex.buffer(hex))
        #expect(sameInOrder(read, value), "\(name)")
        if case .number(let number) = value, number == 0 {
            #expect(read.numberValue?.sign == number.sign, "\(name): the sign of zero")
        }
    }

    /// Long values: the header Python writes (first six bytes) and the total length. The
    /// values are built in the test, so the test's name stays short.
    static let pythonHeaders: [(String, Int, String, Int)] = [
        ("str", 255, "d9ff78787878", 257), ("str", 256, "da0100787878", 259),
        ("str", 65535, "daffff787878", 65538), ("str", 65536, "db0001000078", 65541),
        ("bin", 255, "c4ff78787878", 257), ("bin", 256, "c50100787878", 259),
        ("bin", 65535, "c5ffff787878", 65538), ("bin", 65536, "c60001000078", 65541),
        ("array", 15, "9f0000000000", 16), ("array", 16, "dc0010000000", 19),
        ("array", 65535, "dcffff000000", 65538), ("array", 65536, "dd0001000000", 65541),
        ("map", 15, "8fa13000a131", 51), ("map", 16, "de0010a13000", 57), ("map", 65536, "df00010000a1", 447_647),
        ("ext", 255, "c7ff01787878", 258), ("ext", 256, "c80100017878", 260), ("ext", 65536, "c90001000001", 65542),
    ]

    @Test(arguments: pythonHeaders)
    func longValuesTakeTheHeaderPythonWrites(kind: String, size: Int, header: String, count: Int) throws {
        let value: JSONValue
        switch kind {
        case "str": value = .string(String(repeating: "x", count: size))
        case "bin": value = .binary(ByteBuffer(repeating: UInt8(ascii: "x"), count: size))
        case "array": value = .array(Array(repeating: 0, count: size))
        case "map": value = .object(JSONObject((0..<size).map { (String($0), JSONValue.number(0)) }))
        default: value = .extension(type: 1, data: ByteBuffer(repeating: UInt8(ascii: "x"), count: size))
        }
        let bytes = try messagePack(value)
        #expect(bytes.readableBytes == count)
        #expect(Hex.string(bytes.getSlice(at: 0, length: 6)!) == header)
        #expect(sameInOrder(try MessagePackReader.read(bytes), value))
    }

    /// Forms the writer never picks but the spec allows: each reads as the value it holds.
    static let otherForms: [(String, JSONValue)] = [
        ("cc05", JSONValue.number(5)), ("cd0005", 5), ("ce00000005", 5), ("cf0000000000000005", 5),
        ("d005", 5), ("d0ff", -1), ("d10005", 5), ("d1ffff", -1), ("d200000005", 5), ("d2ffffffff", -1),
        ("d30000000000000005", 5), ("d3ffffffffffffffff", -1), ("cfffffffffffffffff", .number(18_446_744_073_709_551_616)),
        ("ca3fc00000", 1.5), ("ca7f800000", .number(.infinity)), ("d90161", "a"), ("da000161", "a"), ("db0000000161", "a"),
        ("c50000", .binary(ByteBuffer())), ("c600000001ff", .binary(ByteBuffer(bytes: [0xFF]))),
        ("dc000101", [1]), ("dd0000000101", [1]), ("de0001a16101", ["a": 1]), ("df00000001a16101", ["a": 1]),
        ("c8000105ff", .extension(type: 5, data: ByteBuffer(bytes: [0xFF]))),
        ("c900000001fbff", .extension(type: -5, data: ByteBuffer(bytes: [0xFF]))),
        ("c704ff00000001", .date(Date(timeIntervalSince1970: 1))),  // timestamp 32 in ext 8
        ("d7ff0000000000000001", .date(Date(timeIntervalSince1970: 1))),  // timestamp 64, no nanoseconds
        ("d7ff00000004" + "00000000", .date(Date(timeIntervalSince1970: 0.000_000_001))),  // 1 ns
        ("c70cff00000000ffffffffffffffff", .date(Date(timeIntervalSince1970: -1))),
    ]

    @Test(arguments: otherForms)
    func readsEveryOtherForm(hex: String, expected: JSONValue) throws {
        #expect(try MessagePackReader.read(Hex.buffer(hex)) == expected)
    }

    @Test func nonStringKeysBecomeTheirJavaScriptText() throws {
        // {1: "a", -2: "b", 1.5: "c", true: "d", nil: "e"}
        let value = try MessagePackReader.read(Hex.buffer("8501a161fea162cb3ff8000000000000a163c3a164c0a165"))
        #expect(value.objectValue?.keys == ["1", "-2", "1.5", "true", "null"])
        #expect(value["1"] == "a" && value["null"] == "e")
    }

    @Test func aRepeatedKeyKeepsItsFirstPlaceAndLastValue() throws {
        let value = try MessagePackReader.read(Hex.buffer("83a16101a16202a16103"))  // {a:1, b:2, a:3}
        #expect(value.objectValue?.keys == ["a", "b"])
        #expect(value["a"] == 3)
    }

    @Test func nanIsWrittenAsFloat64() throws {
        let bytes = try messagePack(.number(.nan))
        #expect(bytes.getInteger(at: 0, as: UInt8.self) == 0xCB)
        #expect(try MessagePackReader.read(bytes).numberValue?.isNaN == true)
    }

    @Test(arguments: [
        (0.001, "d7ff003d090000000000"), (1_700_000_000.5, "d7ff773594006553f100"), (-1_700_000_000.25, "c70cff2cb41780ffffffff9aac0eff"),
        (1_700_000_000.123456, "d7ff1d6f28006553f100"),  // from msgpack.packb(msgpack.Timestamp(s, ns)) too
    ])
    func datesKeepTheirMillisecondsOrMicroseconds(seconds: Double, hex: String) throws {
        let value = JSONValue.date(Date(timeIntervalSince1970: seconds))
        let bytes = try messagePack(value)
        #expect(Hex.string(bytes) == hex)
        #expect(try MessagePackReader.read(bytes) == value)
    }

    @Test func aDateNoTimestampHoldsIsAnEncodingError() {
        #expect(throws: PrimusError.self) { try messagePack(.date(Date(timeIntervalSince1970: .infinity))) }
        #expect(throws: PrimusError.self) { try messagePack(.date(Date(timeIntervalSince1970: 1e19))) }
    }

    @Test func deepValuesAreAnEncodingError() throws {
        var value = JSONValue.null
        for _ in 0..<PrimusParsers.maximumDepth { value = [value] }
        let bytes = try messagePack(value)  // 512 arrays deep: fine
        #expect(try MessagePackReader.read(bytes) == value)
        #expect(throws: PrimusError.self) { try messagePack([value]) }
        #expect(throws: PrimusError.self) { try messagePack(["a": value]) }
    }
}
