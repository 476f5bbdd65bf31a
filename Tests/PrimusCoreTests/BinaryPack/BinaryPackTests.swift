import Foundation
import NIOCore
import PrimusCore
import Testing

/// Vectors derived from the BinaryPack format as binaryjs's js-binarypack defines it
/// (lib/binarypack.js, `Packer.prototype.pack*` and `Unpacker.prototype.unpack`):
/// fixnums `0x00`–`0x7f` and `0xe0`–`0xff`, maps `0x80`–`0x8f`, arrays `0x90`–`0x9f`,
/// raw bytes `0xa0`–`0xaf`, strings `0xb0`–`0xbf`, `0xc0` null, `0xc1` undefined, `0xc2`/`0xc3`
/// false/true, `0xca`/`0xcb` float32/float64, `0xcc`–`0xcf` uint8–64, `0xd0`–`0xd3` int8–64,
/// `0xd8`/`0xd9` string16/32, `0xda`/`0xdb` raw16/32, `0xdc`/`0xdd` array16/32,
/// `0xde`/`0xdf` map16/32, all lengths and numbers big-endian; the packer picks the first
/// integer form whose range holds the number, in the order fixnum, uint8, int8, uint16, int16,
/// uint32, int32, int64, uint64. The same vectors are in Tests/JavaScript/parsers/binary.test.js.
@Suite("BinaryPack parser")
struct BinaryPackTests {
    let parser = BinaryPackParser()

    static let sixteen = "abcdefghijklmnop"

    /// Values and the exact bytes the packer writes for them.
    static let vectors: [(JSONValue, [UInt8])] = [
        (nil, [0xc0]),
        (false, [0xc2]),
        (true, [0xc3]),
        (0, [0x00]),
        (127, [0x7f]),
        (-1, [0xff]),
        (-32, [0xe0]),
        (128, [0xcc, 0x80]),
        (255, [0xcc, 0xff]),
        (-33, [0xd0, 0xdf]),
        (-128, [0xd0, 0x80]),
        (256, [0xcd, 0x01, 0x00]),
        (65535, [0xcd, 0xff, 0xff]),
        (-129, [0xd1, 0xff, 0x7f]),
        (-32768, [0xd1, 0x80, 0x00]),
        (65536, [0xce, 0x00, 0x01, 0x00, 0x00]),
        (4_294_967_295, [0xce, 0xff, 0xff, 0xff, 0xff]),
        (-32769, [0xd2, 0xff, 0xff, 0x7f, 0xff]),
        (4_294_967_296, [0xd3, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00]),
        (-2_147_483_649, [0xd3, 0xff, 0xff, 0xff, 0xff, 0x7f, 0xff, 0xff, 0xff]),
        (.number(0x1p63), [0xcf, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
        (1.5, [0xcb, 0x3f, 0xf8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
        (-0.25, [0xcb, 0xbf, 0xd0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
        ("", [0xb0]),
        ("abc", [0xb3, 0x61, 0x62, 0x63]),
        ("é", [0xb2, 0xc3, 0xa9]),
        (.string(sixteen), [0xd8, 0x00, 0x10] + Array(sixteen.utf8)),
        (.binary(ByteBuffer(bytes: [1, 2, 3])), [0xa3, 0x01, 0x02, 0x03]),
        (.binary(ByteBuffer(bytes: [UInt8](repeating: 9, count: 16))), [0xda, 0x00, 0x10] + [UInt8](repeating: 9, count: 16)),
        ([], [0x90]),
        ([1, "a"], [0x92, 0x01, 0xb1, 0x61]),
        (.array([JSONValue](repeating: 0, count: 16)), [0xdc, 0x00, 0x10] + [UInt8](repeating: 0, count: 16)),
        ([:], [0x80]),
        (["a": 1, "b": [true]], [0x82, 0xb1, 0x61, 0x01, 0xb1, 0x62, 0x91, 0xc3]),
        ("primus::ping::1", [0xbf] + Array("primus::ping::1".utf8)),
    ]

    /// Bytes the packer never writes but the unpacker reads.
    static let readOnlyVectors: [([UInt8], JSONValue)] = [
        ([0xca, 0x3f, 0xc0, 0x00, 0x00], 1.5),
        ([0xc1], nil),
        ([0xd4], nil),
        ([0xcc, 0x05], 5),
        ([0xcf, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x05], 5),
        ([0xd9, 0x00, 0x00, 0x00, 0x01, 0x61], "a"),
        ([0xdb, 0x00, 0x00, 0x00, 0x01, 0x07], .binary(ByteBuffer(bytes: [7]))),
        ([0xdd, 0x00, 0x00, 0x00, 0x01, 0x01], [1]),
        ([0xdf, 0x00, 0x00, 0x00, 0x01, 0xb1, 0x61, 0x01], ["a": 1]),
        ([0xde, 0x00, 0x01, 0xb1, 0x61, 0x01], ["a": 1]),
        // JavaScript turns any key into text: numbers, booleans and null become their names.
        ([0x83, 0x01, 0xc3, 0xc2, 0xc0, 0xc0, 0x01], ["1": true, "false": nil, "null": 1]),
    ]

    @Test(arguments: 0..<vectors.count)
    func writesTheFormatsBytes(index: Int) throws {
        let (value, bytes) = Self.vectors[index]
        let message = try parser.encode(value)
        #expect(message == .binary(ByteBuffer(bytes: bytes)))
        #expect(try parser.decode(message) == value)
    }

    @Test(arguments: 0..<readOnlyVectors.count)
    func readsEveryTypeByte(index: Int) throws {
        let (bytes, value) = Self.readOnlyVectors[index]
        #expect(try parser.decode(.binary(ByteBuffer(bytes: bytes))) == value)
    }

    @Test func largeLengthsUseThirtyTwoBitHeaders() throws {
        let text = String(repeating: "x", count: 70_000)
        let encoded = try parser.encode(.string(text)).buffer
        #expect(Array(encoded.readableBytesView.prefix(5)) == [0xd9, 0x00, 0x01, 0x11, 0x70])
        #expect(try parser.decode(.binary(encoded)) == .string(text))
        let bytes = try parser.encode(.binary(ByteBuffer(repeating: 1, count: 70_000))).buffer
        #expect(Array(bytes.readableBytesView.prefix(5)) == [0xdb, 0x00, 0x01, 0x11, 0x70])
    }

    @Test func specialNumbersAreDoubles() throws {
        #expect(try parser.encode(.number(.infinity)).buffer == ByteBuffer(bytes: [0xcb, 0x7f, 0xf0, 0, 0, 0, 0, 0, 0]))
        #expect(try parser.decode(parser.encode(.number(-.infinity))) == .number(-.infinity))
        #expect(try parser.decode(parser.encode(.number(.nan))).numberValue?.isNaN == true)
        #expect(try parser.encode(.number(0x1p70)).buffer.readableBytesView.first == 0xcb)
        #expect(try parser.encode(.number(-0.0)).buffer == ByteBuffer(bytes: [0x00]))
    }

    @Test func datesAndExtensionsHaveDocumentedStandIns() throws {
        let date = Date(timeIntervalSince1970: 1_358_205_756.553)
        #expect(try parser.decode(parser.encode(.date(date))) == "2013-01-14T23:22:36.553Z")
        let ext = JSONValue.extension(type: 5, data: ByteBuffer(bytes: [1, 2]))
        #expect(try parser.decode(parser.encode(ext)) == ["type": 5, "data": .binary(ByteBuffer(bytes: [1, 2]))])
    }

    @Test func roundTripsNestedValuesKeepingKeyOrder() throws {
        let value: JSONValue = [
            "z": [1, -1, 300, -300, 70_000, -70_000, 5_000_000_000, 0.1, "text", nil, true, false],
            "a": ["nested": ["deeper": [[], [:], "€🚀"]]],
            "m": .binary(ByteBuffer(bytes: [0, 255])),
        ]
        let decoded = try parser.decode(parser.encode(value))
        #expect(decoded == value)
        #expect(decoded.objectValue?.keys == ["z", "a", "m"])
    }

    @Test(arguments: [
        ([], "unexpected end of input at byte 0"),
        ([0xc4], "unknown type byte 0xc4 at byte 0"),
        ([0xd8, 0x00, 0x05, 0x61], "string of 5 bytes runs past the end (1 left) at byte 3"),
        ([0xdb, 0xff, 0xff, 0xff, 0xff], "raw of 4294967295 bytes runs past the end (0 left) at byte 5"),
        ([0xdd, 0xff, 0xff, 0xff, 0xff], "array of 4294967295 elements runs past the end (0 bytes left) at byte 5"),
        ([0xdf, 0x7f, 0xff, 0xff, 0xff, 0x00], "map of 2147483647 entries runs past the end (1 bytes left) at byte 5"),
        ([0xcb, 0x00, 0x00], "unexpected end of input: 8-byte number at byte 1"),
        ([0xd8, 0x00], "unexpected end of input: 2-byte number at byte 1"),
        ([0xb2, 0xc3, 0x28], "string is not UTF-8 at byte 1"),
        ([0x81, 0x90, 0x01], "map key is an array, not a string at byte 1"),
        ([0x92, 0x01], "array of 2 elements runs past the end (1 bytes left) at byte 1"),
        ([0x92, 0x01, 0xcd], "unexpected end of input: 2-byte number at byte 3"),
        ([0x01, 0x02], "1 bytes after the value at byte 1"),
    ] as [([UInt8], String)])
    func malformedInputIsAnErrorWithItsOffset(bytes: [UInt8], reason: String) {
        let error = #expect(throws: PrimusError.self) { try parser.decode(.binary(ByteBuffer(bytes: bytes))) }
        #expect(error?.code == .decodingFailed)
        #expect(error?.message == "Failed to decode incoming data: \(reason)")
    }

    @Test func nestingIsLimitedBothWays() throws {
        let limit = PrimusParsers.maximumDepth
        let deepest = [UInt8](repeating: 0x91, count: limit - 1) + [0x90]
        #expect(throws: Never.self) { try parser.decode(.binary(ByteBuffer(bytes: deepest))) }
        for count in [limit + 1, 100_000] {
            let bytes = [UInt8](repeating: 0x91, count: count) + [0x00]
            let error = #expect(throws: PrimusError.self) { try parser.decode(.binary(ByteBuffer(bytes: bytes))) }
            #expect(error?.message.contains("nesting deeper than \(limit)") == true)
        }
        var value: JSONValue = []
        for _ in 0..<limit { value = [value] }
        let error = #expect(throws: PrimusError.self) { try parser.encode(value) }
        #expect(error?.code == .encodingFailed)
    }

    @Test func protocolTextIsReadFromTheHeaderWithoutUnpacking() throws {
        let ping = "primus::ping::1700000000000"
        #expect(parser.protocolText(in: try parser.encode(.string(ping)), for: nil) == ping)
        #expect(parser.protocolText(in: try parser.encode("primus::id::"), for: nil) == "primus::id::")
        #expect(parser.protocolText(in: try parser.encode(.string(String(repeating: "primus::", count: 9000))), for: nil) != nil)
        #expect(parser.protocolText(in: try parser.encode("hello"), for: nil) == nil)
        #expect(parser.protocolText(in: try parser.encode([.string(ping)]), for: nil) == nil)
        var truncated = try parser.encode(.string(ping)).buffer
        truncated.moveWriterIndex(to: truncated.writerIndex - 1)
        #expect(parser.protocolText(in: .binary(truncated), for: nil) == nil)
        #expect(parser.protocolText(in: .binary(ByteBuffer()), for: nil) == nil)
    }

    @Test func isRegisteredAsBinaryAndSendsBinaryFrames() throws {
        let registered = try PrimusParsers.named("binary")
        #expect(registered.name == "binary")
        #expect(try registered.encode("x").isText == false)
        // Bytes that arrive in a text frame are unpacked all the same.
        #expect(try parser.decode(.text(ByteBuffer(bytes: [0xb1, 0x61]))) == "a")
    }
}
